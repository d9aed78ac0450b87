// The foundation, end to end: a fresh berth, a real engine, Debian's Chromium.
//
// first start -> setup page (one-time token) -> containers page shows a real
// running container -> Stop in the UI stops it in the engine -> log out ->
// log in again.
//
// Set BERTH_SCREENSHOT=<path> to also save the containers page there
// (scripts/screenshot.sh uses it for the README's picture).
import { test, expect, TEST_IMAGE, type Docker } from '../fixtures';
import type { Locator, Page } from '@playwright/test';
import path from 'node:path';

const USERNAME = 'admin';
// Long and random enough for any password policy berth may have.
const PASSWORD = `e2e-Pw-${Math.random().toString(36).slice(2)}-${Date.now()}`;

async function startWebContainer(docker: Docker): Promise<string> {
  const name = docker.name('web');
  // --init: httpd as PID 1 would ignore SIGTERM and make every stop wait
  // for the engine's kill timeout.
  await docker.run(['run', '-d', '--init', '--name', name, TEST_IMAGE, 'httpd', '-f', '-p', '80']);
  expect(await docker.run(['inspect', '-f', '{{.State.Running}}', name])).toBe('true');
  return name;
}

function containerRow(page: Page, name: string): Locator {
  return page.getByRole('row').filter({ hasText: name });
}

async function fillCredentials(page: Page, username: string, password: string) {
  await page.getByLabel('Username', { exact: true }).fill(username);
  await page.getByLabel('Password', { exact: true }).fill(password);
  // Tolerate a confirmation field, should the form grow one.
  const confirm = page.getByLabel(/^confirm password$/i);
  if (await confirm.count()) await confirm.fill(password);
}

async function logOut(page: Page) {
  const item = page
    .getByRole('menuitem', { name: 'Log out' })
    .or(page.getByRole('button', { name: 'Log out' }))
    .or(page.getByRole('link', { name: 'Log out' }))
    .first();
  if (!(await item.isVisible())) {
    // The user menu: a button named "User menu", or whose name starts with
    // the username (e.g. "admin admin": the name, then the role).
    await page
      .getByRole('button', { name: new RegExp(`^(user menu|${USERNAME}\\b)`, 'i') })
      .first()
      .click();
  }
  await item.click();
}

test('set up, see a real container, stop it, log out and back in', async ({ page, berth, docker }, testInfo) => {
  const pageErrors: string[] = [];
  page.on('pageerror', (err) => pageErrors.push(String(err)));
  // Should the UI ask for confirmation with a native dialog, accept it.
  page.on('dialog', (dialog) => dialog.accept());

  const name = await startWebContainer(docker);

  // First start: no user yet, so berth sends the browser to the setup page.
  await page.goto('/');
  await expect(page).toHaveURL(/\/setup/);
  await page.getByLabel('Setup token', { exact: true }).fill(berth.setupToken);
  await fillCredentials(page, USERNAME, PASSWORD);
  await page.getByRole('button', { name: 'Create admin' }).click();

  // The containers page lists the engine's real container, running.
  await expect(page).toHaveURL(/\/containers/);
  const row = containerRow(page, name);
  await expect(row).toHaveCount(1);
  await expect(row).toContainText('running');

  await page.screenshot({ path: testInfo.outputPath('containers.png'), fullPage: true });
  if (process.env.BERTH_SCREENSHOT) {
    await page.screenshot({ path: path.resolve(process.env.BERTH_SCREENSHOT) });
  }

  // Stop it from the UI; the row follows, and so does the engine.
  await row.getByRole('button', { name: `Stop ${name}`, exact: true }).click();
  await expect(row).toContainText('exited');
  expect(await docker.run(['inspect', '-f', '{{.State.Running}}', name])).toBe('false');

  // Log out through the user menu, then log in again.
  await logOut(page);
  await expect(page).toHaveURL(/\/login/);
  await fillCredentials(page, USERNAME, PASSWORD);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await expect(page).toHaveURL(/\/containers/);
  await expect(containerRow(page, name)).toContainText('exited');

  expect(pageErrors, 'uncaught errors in the page').toEqual([]);
});
