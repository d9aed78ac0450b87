// Compose as `docker compose` runs it: a file pasted in the stack editor
// with YAML anchors and a `<<` merge key, a profile turned on from the
// stack's .env and a secret taken from the environment. The plan includes
// the profiled service, the deployed container reads the secret, and the
// Config tab shows the file resolved.
import { test, expect, TEST_IMAGE } from '../fixtures';
import { randomBytes } from 'node:crypto';

const SECRET = 's3cr3t-value';

const COMPOSE = [
  'x-common: &common',
  `  image: ${TEST_IMAGE}`,
  '  environment:',
  '    ROLE: shared',
  '  labels:',
  '    berth.e2e: merged',
  // sh as PID 1 ignores SIGTERM: without this each removal waits 10 s.
  '  stop_grace_period: 1s',
  '',
  'services:',
  '  app:',
  '    <<: *common',
  '    command: ["sh", "-c", "cat /run/secrets/token; echo; sleep 3600"]',
  '    secrets:',
  '      - token',
  '  extra:',
  '    <<: *common',
  '    profiles: ["extra"]',
  '    command: ["sleep", "3600"]',
  '',
  'secrets:',
  '  token:',
  '    environment: TOKEN',
  '',
].join('\n');

const ENV = ['COMPOSE_PROFILES=extra', `TOKEN=${SECRET}`, ''].join('\n');

test('anchors, a profile from .env and a secret from the environment: plan, deploy, read the secret, see the resolved file', async ({ page, berth, signedIn }) => {
  void signedIn;
  test.setTimeout(180_000);
  const pageErrors: string[] = [];
  page.on('pageerror', (err) => pageErrors.push(String(err)));
  const name = `e2e${randomBytes(4).toString('hex')}`;
  try {
    await page.goto('/endpoints/local/stacks');
    await page.getByRole('link', { name: 'Create stack' }).first().click();
    await page.getByLabel('Stack name').fill(name);
    await page.getByLabel('.env', { exact: true }).fill(ENV);
    await page.getByLabel('Compose file', { exact: true }).fill(COMPOSE);
    // The profile is on, so both services count.
    await expect(page.getByText(/^Valid · 2 services: (app, extra|extra, app)/)).toBeVisible();

    // Save: the plan has the profiled service too.
    await page.getByRole('button', { name: 'Save', exact: true }).click();
    await expect(page).toHaveURL(new RegExp(`/stacks/${name}\\?tab=plan`));
    await expect(page.getByLabel(`create container ${name}-app-1`)).toBeVisible();
    await expect(page.getByLabel(`create container ${name}-extra-1`)).toBeVisible();

    await page.getByRole('button', { name: 'Deploy', exact: true }).click();
    await expect(page.getByRole('region', { name: 'Deploy progress' }).getByRole('heading', { name: `Deployed ${name}` })).toBeVisible({ timeout: 90_000 });

    // The app container printed the secret the file took from .env.
    await page.getByRole('tab', { name: 'Services' }).click();
    await page.getByRole('link', { name: `${name}-app-1`, exact: true }).click();
    await page.getByRole('tab', { name: 'Logs' }).click();
    const log = page.locator('.logs-viewport[role=log]');
    await expect(log.locator('.log-row .log-text').filter({ hasText: SECRET }).first()).toBeVisible({ timeout: 15_000 });

    // The Config tab: the resolved file, anchors expanded into each service.
    await page.goto(`/endpoints/local/stacks/${name}`);
    await page.getByRole('tab', { name: 'Config' }).click();
    await expect(page).toHaveURL(new RegExp(`/stacks/${name}\\?tab=config`));
    const resolved = page.getByLabel('Resolved compose file');
    await expect(resolved).toContainText(`image: ${TEST_IMAGE}`);
    const text = (await resolved.textContent()) ?? '';
    expect(text).toMatch(/ROLE: "?shared"?/);
    expect(text).toMatch(/berth\.e2e: "?merged"?/);
    expect(text).not.toContain('<<');
    expect(text).not.toContain('*common');
    // Both services got the merged keys (the x-common block stays above
    // them, as compose prints it).
    const services = text.slice(text.search(/^services:/m));
    expect(services).toMatch(/^ {2}app:/m);
    expect(services).toMatch(/^ {2}extra:/m);
    expect(services.match(/ROLE: "?shared"?/g)?.length).toBe(2);
    expect(services.match(/berth\.e2e: "?merged"?/g)?.length).toBe(2);
    expect(services.split(`image: ${TEST_IMAGE}`).length - 1).toBe(2);
    await expect(page.getByRole('button', { name: 'Copy', exact: true })).toBeEnabled();
    await page.getByRole('button', { name: 'Refresh', exact: true }).click();
    await expect(resolved).toContainText(`image: ${TEST_IMAGE}`);
  } finally {
    await page.request
      .delete(`${berth.url}/api/v1/endpoints/local/stacks/${name}?volumes=true`, { timeout: 60_000 })
      .catch(() => undefined);
  }
  const left = await page.request.get(`${berth.url}/api/v1/endpoints/local/stacks/${name}`);
  expect(left.status()).toBe(404);
  expect(pageErrors, 'uncaught errors in the page').toEqual([]);
});
