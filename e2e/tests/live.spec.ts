// Live: engine events reach open pages, logs stream, the terminal works.
import { test, expect, TEST_IMAGE } from '../fixtures';

test('a container started with the docker CLI appears without reload; its logs stream; a typed command prints its output', async ({ page, docker, signedIn }) => {
  void signedIn;
  const pageErrors: string[] = [];
  page.on('pageerror', (err) => pageErrors.push(String(err)));
  const name = docker.name('live');

  await page.goto('/endpoints/local/containers');
  await expect(page.getByRole('heading', { name: 'Containers' })).toBeVisible();
  // Give the events socket a moment to connect before the change happens.
  await page.waitForTimeout(500);

  await docker.run(['run', '-d', '--init', '--name', name, TEST_IMAGE, 'sh', '-c', 'i=0; while true; do i=$((i+1)); echo tick-$i; sleep 0.3; done']);
  const link = page.getByRole('link', { name, exact: true });
  await expect(link).toBeVisible({ timeout: 10_000 });

  // Logs stream in the page.
  await link.click();
  await page.getByRole('tab', { name: 'Logs' }).click();
  const log = page.locator('.logs-viewport[role=log]');
  await expect(log.locator('.log-row .log-text').filter({ hasText: /^tick-\d+$/ }).first()).toBeVisible();
  const before = await log.locator('.log-row .log-text').filter({ hasText: /^tick-/ }).last().textContent();
  await expect
    .poll(async () => log.locator('.log-row .log-text').filter({ hasText: /^tick-/ }).last().textContent(), { timeout: 10_000 })
    .not.toBe(before);

  // The terminal runs what is typed.
  await page.getByRole('tab', { name: 'Terminal' }).click();
  await page.getByRole('button', { name: 'Connect' }).click();
  await expect(page.locator('.term-status')).toContainText('Connected');
  await page.locator('.term-host .xterm').click();
  await page.keyboard.type('echo e2e-$((6*7))\n');
  await expect(page.locator('.term-host .xterm-rows')).toContainText('e2e-42');
  await page.keyboard.type('exit 5\n');
  await expect(page.locator('.term-host .xterm-rows')).toContainText('Process exited with code 5');

  // Stopped from the CLI: the page follows.
  await docker.run(['stop', name]);
  await page.getByRole('tab', { name: 'Overview' }).click();
  await expect(page.getByText('exited', { exact: true }).first()).toBeVisible({ timeout: 10_000 });

  expect(pageErrors, 'uncaught errors in the page').toEqual([]);
});
