// Images: build from the build page with a typed Dockerfile and an uploaded
// file, watch the progress, then run the result; import a `docker save`
// archive from the images page.
import { test, expect, TEST_IMAGE } from '../fixtures';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

test('build an image from the build page, watch its steps, then run it', async ({ page, docker, signedIn }) => {
  void signedIn;
  const pageErrors: string[] = [];
  page.on('pageerror', (err) => pageErrors.push(String(err)));
  const tag = `${docker.name('img')}:1`;
  const name = docker.name('built');
  try {
    await page.goto('/endpoints/local/images/build');
    await page.fill(
      '#build-dockerfile',
      `FROM ${TEST_IMAGE}\nCOPY hello.txt /hello.txt\nRUN test -s /hello.txt\nCMD ["cat", "/hello.txt"]\n`,
    );
    await page.setInputFiles('#build-files', {
      name: 'hello.txt',
      mimeType: 'text/plain',
      buffer: Buffer.from('hello from the build page\n'),
    });
    await expect(page.locator('li.context-file[data-path="hello.txt"]')).toBeVisible();
    await page.fill('#build-tag', tag);
    await page.click('#build-submit');

    await expect(page.locator('[data-testid=build-step]')).toContainText('Step 4/4', { timeout: 60_000 });
    await expect(page.locator('.build-result[data-outcome="done"]')).toBeVisible({ timeout: 60_000 });
    expect(await docker.run(['image', 'inspect', '-f', '{{.Id}}', tag])).toMatch(/^sha256:/);

    // Run it: the run form opens with the new image.
    await page.click('#build-run');
    await expect(page.locator('#run-image')).toHaveValue(tag);
    await page.fill('#run-name', name);
    await page.locator('form button[type=submit]').click();
    await expect(page).toHaveURL(/\/endpoints\/local\/containers\/[0-9a-f]{64}$/);
    await expect
      .poll(async () => docker.run(['logs', name]), { timeout: 15_000 })
      .toBe('hello from the build page');
  } finally {
    await docker.run(['rm', '-f', name]).catch(() => undefined);
    await docker.run(['rmi', '-f', tag]).catch(() => undefined);
  }
  expect(pageErrors, 'uncaught errors in the page').toEqual([]);
});

test('import a docker save archive from the images page: the image is back under its name', async ({ page, docker, signedIn }) => {
  void signedIn;
  const pageErrors: string[] = [];
  page.on('pageerror', (err) => pageErrors.push(String(err)));
  const tag = `${docker.name('imported')}:1`;
  const dir = mkdtempSync(path.join(tmpdir(), 'berth-e2e-import-'));
  const archive = path.join(dir, 'image.tar');
  try {
    // An archive as `docker save` writes it; then the name is gone.
    await docker.run(['tag', TEST_IMAGE, tag]);
    const id = await docker.run(['image', 'inspect', '-f', '{{.Id}}', tag]);
    await docker.run(['save', '-o', archive, tag]);
    await docker.run(['rmi', tag]);
    await expect(docker.run(['image', 'inspect', tag])).rejects.toThrow();

    await page.goto('/endpoints/local/images');
    await page.setInputFiles('#image-import-file', archive);
    await expect(page.getByText(`Imported ${tag}`)).toBeVisible({ timeout: 60_000 });
    const banner = page.getByRole('status').filter({ hasText: 'Imported' }).first();
    await expect(banner.getByRole('link', { name: tag })).toBeVisible();
    expect(await docker.run(['image', 'inspect', '-f', '{{.Id}}', tag])).toBe(id);
    // The list shows it under its name too.
    await expect(page.locator(`tr[data-image="${id}"]`)).toContainText(tag);
  } finally {
    await docker.run(['rmi', tag]).catch(() => undefined);
    rmSync(dir, { recursive: true, force: true });
  }
  expect(pageErrors, 'uncaught errors in the page').toEqual([]);
});
