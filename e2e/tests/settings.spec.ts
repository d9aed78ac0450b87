// Settings: the audit log shows who did what, refusals included, and
// narrows by outcome and by person.
import { test, expect, ADMIN } from '../fixtures';
import { request as pwRequest } from '@playwright/test';
import { randomBytes } from 'node:crypto';

test('the audit log lists changes and refusals, and filters by outcome and person', async ({ page, berth, signedIn }) => {
  void signedIn;
  const pageErrors: string[] = [];
  page.on('pageerror', (err) => pageErrors.push(String(err)));
  const viewer = `viewer${randomBytes(3).toString('hex')}`;
  const password = `pw-${randomBytes(8).toString('hex')}`;
  const api = (p: string) => `${berth.url}${p}`;

  // The admin adds a viewer and a token; the viewer tries to stop a container.
  let r = await page.request.post(api('/api/v1/users'), { data: { username: viewer, password, role: 'viewer' } });
  expect(r.status(), await r.text()).toBe(201);
  // A non-admin reaches only endpoints granted to them: the viewer gets `local`.
  r = await page.request.get(api('/api/v1/endpoints/local/access'));
  expect(r.status()).toBe(200);
  const access = await r.json();
  access.grants.push({ user: viewer, role: 'viewer' });
  r = await page.request.put(api('/api/v1/endpoints/local/access'), { data: access });
  expect(r.status(), await r.text()).toBe(200);
  r = await page.request.post(api('/api/v1/tokens'), { data: { name: 'ci' } });
  expect(r.status(), await r.text()).toBe(201);
  const other = await pwRequest.newContext({ baseURL: berth.url });
  try {
    r = await other.post('/api/v1/auth/login', { data: { username: viewer, password } });
    expect(r.status()).toBe(200);
    r = await other.post('/api/v1/endpoints/local/containers/some-container/stop');
    expect(r.status()).toBe(403);
  } finally {
    await other.dispose();
  }

  await page.goto('/');
  await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Audit' }).click();
  await expect(page).toHaveURL(/\/settings\/audit$/);
  await expect(page.getByRole('heading', { name: 'Audit log' })).toBeVisible();
  const log = page.getByRole('table', { name: 'Audit log' });
  const token = log.locator('tr[data-action="token.create"]');
  await expect(token).toContainText(ADMIN);
  await expect(token).toContainText('allowed');
  const refused = log.locator('tr[data-action="container.stop"]');
  await expect(refused).toContainText(viewer);
  await expect(refused).toContainText('denied');
  await expect(refused).toContainText('403');
  // berth is reached directly here: the address is the browser's own.
  await expect(refused.locator('td[data-label="From"]')).toHaveText('127.0.0.1');

  // Only refusals.
  await page.getByRole('radio', { name: 'Denied', exact: true }).click();
  await expect(log.locator('tbody tr[data-outcome="ok"]')).toHaveCount(0);
  await expect(refused).toBeVisible();
  await page.getByRole('radio', { name: 'All', exact: true }).click();

  // A person's name filters by them, on the server.
  await refused.getByRole('button', { name: viewer }).click();
  await expect(page.getByLabel('Who')).toHaveValue(viewer);
  await expect(token).toHaveCount(0);
  await expect(log.locator('tbody tr').first()).toContainText(viewer);
  const actors = await log.locator('tbody tr td[data-label="Who"]').allInnerTexts();
  expect(actors.length).toBeGreaterThanOrEqual(2); // the sign-in and the refusal
  expect(new Set(actors.map((a) => a.trim()))).toEqual(new Set([viewer]));

  await page.getByRole('button', { name: 'Clear filters' }).click();
  await expect(token).toBeVisible();
  expect(pageErrors, 'uncaught errors in the page').toEqual([]);
});
