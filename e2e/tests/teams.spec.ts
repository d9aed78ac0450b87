// Teams and grants: an admin makes a team, puts a user in it and grants the
// team operator on `local`; the member signs in, sees `local`, deploys a
// stack, and is told before submitting what the endpoint's policy refuses
// (in the stack editor at its line, and in the run form). A user with no
// grant sees an empty state instead of errors.
import { test, expect, TEST_IMAGE, docker } from '../fixtures';
import type { Browser, Page } from '@playwright/test';
import { randomBytes } from 'node:crypto';

/** Signs `username` in, in a fresh browser context of its own. */
async function signInAs(browser: Browser, url: string, username: string, password: string): Promise<Page> {
  const context = await browser.newContext({ baseURL: url });
  const page = await context.newPage();
  await page.goto('/login');
  await page.getByLabel('Username').fill(username);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  return page;
}

test('a team member granted operator deploys a stack and sees policy refusals before submitting', async ({ page, berth, browser, signedIn }) => {
  void signedIn;
  test.setTimeout(180_000);
  const pageErrors: string[] = [];
  page.on('pageerror', (err) => pageErrors.push(String(err)));
  const suffix = randomBytes(3).toString('hex');
  const team = `ops${suffix}`;
  const member = `dev${suffix}`;
  const password = `pw-${randomBytes(6).toString('hex')}`;
  const stack = `e2eteam${suffix}`;
  const bad = `e2eroot${suffix}`;
  let memberPage: Page | undefined;
  let userId: number | undefined;
  try {
    const created = await page.request.post(`${berth.url}/api/v1/users`, {
      data: { username: member, password, role: 'operator' },
    });
    expect(created.status(), await created.text()).toBe(201);
    userId = (await created.json()).id;

    // The admin creates the team and adds the user, on the Teams page.
    await page.goto('/endpoints/local/containers');
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Teams' }).click();
    await expect(page).toHaveURL(/\/settings\/teams$/);
    await page.getByLabel('Team name').fill(team);
    await page.getByRole('button', { name: 'Create team' }).click();
    await expect(page.getByText(`Created team ${team}`)).toBeVisible();
    const row = page.locator(`tr[data-team="${team}"]`);
    await row.getByLabel(`User to add to ${team}`).selectOption({ label: member });
    await row.getByRole('button', { name: 'Add', exact: true }).click();
    await expect(page.getByText(`Added ${member} to ${team}`)).toBeVisible();
    await expect(page.getByRole('list', { name: `Members of ${team}` })).toContainText(member);

    // The Users page shows the team beside the user.
    await page.goto('/settings/users');
    await expect(page.getByRole('list', { name: `Teams of ${member}` })).toContainText(team);

    // The admin grants the team operator on local in Endpoint settings.
    await page.goto('/endpoints/local/settings');
    await expect(page.getByText('Everyone else sees only the endpoints granted to them')).toBeVisible();
    await page.getByLabel('Grant to').selectOption('team');
    await page.getByLabel('Team to grant').selectOption(team);
    await page.getByLabel('Role to grant').selectOption('operator');
    await page.getByRole('button', { name: 'Add grant' }).click();
    await page.getByRole('button', { name: 'Save access' }).click();
    await expect(page.getByText('Saved who may reach local')).toBeVisible();
    const access = await page.request.get(`${berth.url}/api/v1/endpoints/local/access`);
    expect((await access.json()).grants).toEqual([{ team, role: 'operator' }]);
    await expect(page.getByRole('switch', { name: 'Own resources only', exact: true })).not.toBeChecked();

    // The member signs in and lands on local.
    memberPage = await signInAs(browser, berth.url, member, password);
    const memberErrors: string[] = [];
    memberPage.on('pageerror', (err) => memberErrors.push(String(err)));
    await expect(memberPage).toHaveURL(/\/endpoints\/local\/containers$/);
    await expect(memberPage.locator('.switcher-name')).toHaveText('local');

    // A small stack deploys and runs.
    await memberPage.goto('/endpoints/local/stacks/new');
    await memberPage.getByLabel('Stack name').fill(stack);
    const editor = memberPage.getByLabel('Compose file', { exact: true });
    await editor.fill(['services:', '  app:', `    image: ${TEST_IMAGE}`, '    command: ["sleep", "3600"]', ''].join('\n'));
    await expect(memberPage.getByText(/^Valid/)).toBeVisible();
    await memberPage.getByRole('button', { name: 'Save', exact: true }).click();
    await expect(memberPage).toHaveURL(new RegExp(`/stacks/${stack}\\?tab=plan`));
    await memberPage.getByRole('button', { name: 'Deploy', exact: true }).click();
    await expect(
      memberPage.getByRole('region', { name: 'Deploy progress' }).getByRole('heading', { name: `Deployed ${stack}` }),
    ).toBeVisible({ timeout: 90_000 });
    await expect
      .poll(async () => docker(['inspect', '-f', '{{.State.Running}}', `${stack}-app-1`]).catch(() => ''), { timeout: 20_000 })
      .toBe('true');

    // A stack binding the host's root is refused in the editor, at its line.
    await memberPage.goto('/endpoints/local/stacks/new');
    await memberPage.getByLabel('Stack name').fill(bad);
    await memberPage
      .getByLabel('Compose file', { exact: true })
      .fill(['services:', '  root:', `    image: ${TEST_IMAGE}`, '    command: ["sleep", "3600"]', '    volumes: ["/:/host"]', ''].join('\n'));
    const problems = memberPage.getByRole('list', { name: 'Problems in the file' });
    await expect(problems).toContainText(/Line 5\b/);
    await expect(problems).toContainText('bind mounts');

    // The run form says the same before submitting, next to the mounts.
    await memberPage.goto('/endpoints/local/containers/new');
    await memberPage.getByLabel('Image', { exact: true }).fill(TEST_IMAGE);
    await memberPage.getByRole('button', { name: 'Add mount' }).click();
    const mount = memberPage.getByRole('group', { name: 'Mount 1' });
    await mount.getByLabel('Mount type').selectOption('bind');
    await mount.getByLabel('Source').fill('/');
    await mount.getByLabel('Target').fill('/host');
    const refusals = memberPage.getByRole('region', { name: 'Policy refusals' });
    await expect(refusals).toContainText('mounts');
    await expect(refusals).toContainText('does not allow bind mounts');
    await expect(memberPage.locator('.field-refusal')).toContainText('binds the host path /');
    await expect(memberPage.getByRole('button', { name: 'Run container', exact: true })).toBeEnabled();
    // Back to a named volume, the refusal goes away.
    await mount.getByLabel('Mount type').selectOption('volume');
    await mount.getByLabel('Source').fill(`e2e-${suffix}`);
    await expect(refusals).toHaveCount(0);
    expect(memberErrors, 'uncaught errors in the member page').toEqual([]);
  } finally {
    await memberPage?.context().close().catch(() => undefined);
    for (const name of [stack, bad]) {
      await page.request.delete(`${berth.url}/api/v1/endpoints/local/stacks/${name}?volumes=true`).catch(() => undefined);
    }
    await page.request.put(`${berth.url}/api/v1/endpoints/local/access`, { data: { grants: [] } }).catch(() => undefined);
    const teams = await page.request.get(`${berth.url}/api/v1/teams`).catch(() => undefined);
    for (const t of teams && teams.ok() ? await teams.json() : []) {
      if (t.name === team) await page.request.delete(`${berth.url}/api/v1/teams/${t.id}`).catch(() => undefined);
    }
    if (userId !== undefined) await page.request.delete(`${berth.url}/api/v1/users/${userId}`).catch(() => undefined);
  }
  expect(pageErrors, 'uncaught errors in the page').toEqual([]);
});

test('a user with no grant sees that no endpoint is shared yet; an admin disables and enables them', async ({ page, berth, browser, signedIn }) => {
  void signedIn;
  const suffix = randomBytes(3).toString('hex');
  const loner = `solo${suffix}`;
  const password = `pw-${randomBytes(6).toString('hex')}`;
  let userId: number | undefined;
  let lonerPage: Page | undefined;
  try {
    const created = await page.request.post(`${berth.url}/api/v1/users`, {
      data: { username: loner, password, role: 'operator' },
    });
    expect(created.status(), await created.text()).toBe(201);
    userId = (await created.json()).id;

    lonerPage = await signInAs(browser, berth.url, loner, password);
    const errors: string[] = [];
    lonerPage.on('pageerror', (err) => errors.push(String(err)));
    await expect(lonerPage.getByText('No endpoint is shared with you yet; ask an admin')).toBeVisible();
    // An endpoint's page says the same, and no reconnect banner appears.
    await lonerPage.goto('/endpoints/local/containers');
    await expect(lonerPage.getByText('No endpoint is shared with you yet; ask an admin')).toBeVisible();
    await lonerPage.waitForTimeout(2_000);
    await expect(lonerPage.getByText('Lost the live connection')).toHaveCount(0);
    await expect(lonerPage.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Containers' })).toHaveCount(0);
    expect(errors).toEqual([]);

    // The admin disables them (asked first), then enables them again.
    await page.goto('/settings/users');
    await page.getByRole('button', { name: `Disable ${loner}` }).click();
    const dialog = page.getByRole('dialog');
    await expect(dialog).toContainText(`Disable ${loner}?`);
    await dialog.getByRole('button', { name: 'Disable' }).click();
    await expect(page.getByText(`Disabled ${loner}`)).toBeVisible();
    const row = page.getByRole('row').filter({ hasText: loner });
    await expect(row.getByText('Disabled', { exact: true })).toBeVisible();
    await page.getByRole('button', { name: `Enable ${loner}` }).click();
    await expect(page.getByText(`Enabled ${loner}`)).toBeVisible();
    await expect(row.getByText('Disabled', { exact: true })).toHaveCount(0);
  } finally {
    await lonerPage?.context().close().catch(() => undefined);
    if (userId !== undefined) await page.request.delete(`${berth.url}/api/v1/users/${userId}`).catch(() => undefined);
  }
});
