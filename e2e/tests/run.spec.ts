// Running containers from the form, the port map, and a list of 300.
import { test, expect, TEST_IMAGE, freeTcpPort, fetchText } from '../fixtures';

test('run a container from the form with a port and a volume, see it on the port map, open it, stop it, remove it', async ({ page, docker, signedIn }) => {
  void signedIn;
  const pageErrors: string[] = [];
  page.on('pageerror', (err) => pageErrors.push(String(err)));
  const name = docker.name('run');
  const volume = docker.name('data');
  const port = await freeTcpPort();

  await page.goto('/endpoints/local/containers');
  // With no containers on the host, the empty state offers the same link as
  // the page head: take the head's (the first).
  await page.getByRole('link', { name: 'Run container' }).first().click();
  await page.getByLabel('Image', { exact: true }).fill(TEST_IMAGE);
  await page.getByLabel('Name', { exact: true }).fill(name);
  await page
    .getByLabel('Command', { exact: true })
    .fill(`sh -c 'echo from-the-form > /data/note && exec httpd -f -p 80'`);

  await page.getByRole('button', { name: 'Add port' }).click();
  const portGroup = page.getByRole('group', { name: 'Port 1' });
  await portGroup.getByLabel('Host IP').fill('127.0.0.1');
  await portGroup.getByLabel('Host port').fill(String(port));
  await portGroup.getByLabel('Container port').fill('80');

  await page.getByRole('button', { name: 'Add mount' }).click();
  const mount = page.getByRole('group', { name: 'Mount 1' });
  await mount.getByLabel('Mount type').selectOption('volume');
  await mount.getByLabel('Source').fill(volume);
  await mount.getByLabel('Target').fill('/data');

  await page.getByRole('button', { name: 'Run container', exact: true }).click();
  await expect(page).toHaveURL(/\/endpoints\/local\/containers\/[0-9a-f]{64}$/);
  await expect(page.getByRole('heading', { name })).toBeVisible();

  // It really serves on the published port, and wrote into the volume.
  expect(await fetchText(`http://127.0.0.1:${port}/`)).toBeTruthy();
  expect(await docker.run(['run', '--rm', '-v', `${volume}:/data`, TEST_IMAGE, 'cat', '/data/note'])).toBe('from-the-form');

  // The port map lists it.
  await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Ports' }).click();
  const portRow = page.getByRole('row').filter({ has: page.getByRole('link', { name: String(port), exact: true }) });
  await expect(portRow).toContainText(name);

  // Open it from there, stop it, remove it.
  await portRow.getByRole('link', { name, exact: true }).click();
  await expect(page.getByRole('heading', { name })).toBeVisible();
  await page.getByRole('button', { name: `Stop ${name}`, exact: true }).click();
  await expect(page.getByText('exited', { exact: true }).first()).toBeVisible({ timeout: 30_000 });
  expect(await docker.run(['inspect', '-f', '{{.State.Running}}', name])).toBe('false');
  await page.getByRole('button', { name: `Remove ${name}`, exact: true }).click();
  await page.getByRole('dialog').getByRole('button', { name: 'Remove', exact: true }).click();
  await expect(page).toHaveURL(/\/endpoints\/local\/containers$/);
  await expect.poll(async () => docker.run(['ps', '-a', '-q', '--filter', `name=^${name}$`])).toBe('');

  // Its old address now says it is gone, with the way back.
  await page.goto(`/endpoints/local/containers/${name}`);
  await expect(page.getByText('Container not found')).toBeVisible();
  await page.getByRole('link', { name: 'Back to containers' }).click();
  await expect(page).toHaveURL(/\/endpoints\/local\/containers$/);

  expect(pageErrors, 'uncaught errors in the page').toEqual([]);
});

test('the containers list stays usable with 300 containers', async ({ page, docker, signedIn }) => {
  void signedIn;
  test.setTimeout(300_000);
  const prefix = docker.name('many');
  const names = Array.from({ length: 300 }, (_, i) => `${prefix}-${String(i).padStart(3, '0')}`);
  // Created, not started: the list shows them all the same.
  for (let i = 0; i < names.length; i += 15) {
    await Promise.all(names.slice(i, i + 15).map((n) => docker.run(['create', '--name', n, TEST_IMAGE, 'true'])));
  }
  try {
    const start = Date.now();
    await page.goto('/endpoints/local/containers');
    await expect(page.getByRole('row').filter({ hasText: `${prefix}-299` })).toHaveCount(1);
    const loaded = Date.now() - start;

    const filterStart = Date.now();
    await page.getByRole('searchbox', { name: 'Search' }).fill(`${prefix}-25`);
    const rows = page.getByRole('row').filter({ hasText: prefix });
    await expect(rows).toHaveCount(10);
    const filtered = Date.now() - filterStart;

    // The page still answers input right away after filtering.
    const typeStart = Date.now();
    await page.getByRole('searchbox', { name: 'Search' }).fill('');
    await expect(page.getByRole('row').filter({ hasText: prefix })).toHaveCount(300);
    const cleared = Date.now() - typeStart;
    console.log(`300 containers: list shown in ${loaded} ms, filtered in ${filtered} ms, unfiltered in ${cleared} ms`);
  } finally {
    for (let i = 0; i < names.length; i += 50) {
      await docker.run(['rm', '-f', ...names.slice(i, i + 50)]).catch(() => undefined);
    }
  }
});
