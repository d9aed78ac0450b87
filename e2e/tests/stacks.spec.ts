// Stacks: write a two-service stack in the editor, see the plan, deploy it,
// reach the web service on its port, edit, redeploy, take it down; and a
// stack built from files uploaded in its Files tab.
import { test, expect, TEST_IMAGE, freeTcpPort, fetchText, docker } from '../fixtures';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

function composeFile(port: number, message: string): string {
  return [
    'services:',
    '  web:',
    `    image: ${TEST_IMAGE}`,
    `    command: ["sh", "-c", "echo ${message} > /tmp/index.html && exec httpd -f -p 80 -h /tmp"]`,
    '    ports:',
    `      - "127.0.0.1:${port}:80"`,
    '    depends_on:',
    '      db:',
    '        condition: service_healthy',
    '  db:',
    `    image: ${TEST_IMAGE}`,
    '    command: ["sleep", "600"]',
    '    healthcheck:',
    '      test: ["CMD", "true"]',
    '      interval: 1s',
    '',
  ].join('\n');
}

test('write a stack, see the plan, deploy it, reach it, edit and redeploy, take it down', async ({ page, berth, signedIn }) => {
  void signedIn;
  test.setTimeout(180_000);
  const pageErrors: string[] = [];
  page.on('pageerror', (err) => pageErrors.push(String(err)));
  const name = `e2e${randomBytes(4).toString('hex')}`;
  const port = await freeTcpPort();
  try {
    await page.goto('/endpoints/local/stacks');
    await page.getByRole('link', { name: 'Create stack' }).first().click();
    await page.getByLabel('Stack name').fill(name);

    // Inline validation catches a typo at its line and column.
    const editor = page.getByLabel('Compose file', { exact: true });
    await editor.fill(composeFile(port, 'one').replace('    ports:', '    portz:'));
    await expect(page.getByRole('list', { name: 'Problems in the file' })).toContainText('Line 5, column 5: unknown key `portz` in service `web`');
    await editor.fill(composeFile(port, 'one'));
    await expect(page.getByText('Valid · 2 services: db, web')).toBeVisible();

    // Save: the plan shows what up would create.
    await page.getByRole('button', { name: 'Save', exact: true }).click();
    await expect(page).toHaveURL(new RegExp(`/stacks/${name}\\?tab=plan`));
    await expect(page.getByLabel(`create container ${name}-web-1`)).toBeVisible();
    await expect(page.getByLabel(`create container ${name}-db-1`)).toBeVisible();

    // Deploy, with progress, and reach the web service.
    await page.getByRole('button', { name: 'Deploy', exact: true }).click();
    const progress = page.getByRole('region', { name: 'Deploy progress' });
    await expect(progress.getByRole('heading', { name: `Deployed ${name}` })).toBeVisible({ timeout: 90_000 });
    expect((await fetchText(`http://127.0.0.1:${port}/`)).trim()).toBe('one');

    // Edit and redeploy: one container is recreated, the page says why.
    await page.getByRole('tab', { name: 'Editor' }).click();
    await editor.fill(composeFile(port, 'two'));
    await page.getByRole('button', { name: 'Save', exact: true }).click();
    await expect(page.getByText('Saved revision 2')).toBeVisible();
    await page.getByRole('tab', { name: 'Plan' }).click();
    const recreate = page.locator('li.plan-step[data-action=recreate]');
    await expect(recreate).toHaveCount(1);
    await expect(recreate).toContainText('command');
    await page.getByRole('button', { name: 'Deploy', exact: true }).click();
    await expect(page.getByRole('region', { name: 'Deploy progress' }).getByRole('heading', { name: `Deployed ${name}` })).toBeVisible({ timeout: 90_000 });
    await expect.poll(async () => (await fetchText(`http://127.0.0.1:${port}/`)).trim(), { timeout: 15_000 }).toBe('two');

    // Take it down.
    await page.getByRole('button', { name: `Take down ${name}`, exact: true }).click();
    await page.getByRole('dialog').getByRole('button', { name: 'Take down' }).click();
    await expect(page.getByRole('region', { name: 'Down progress' }).getByRole('heading', { name: `Took down ${name}` })).toBeVisible({ timeout: 60_000 });
    await expect(async () => {
      await fetch(`http://127.0.0.1:${port}/`).then(
        () => {
          throw new Error('still answering');
        },
        () => undefined,
      );
    }).toPass({ timeout: 15_000 });
  } finally {
    await page.request.delete(`${berth.url}/api/v1/endpoints/local/stacks/${name}?volumes=true`).catch(() => undefined);
  }
  expect(pageErrors, 'uncaught errors in the page').toEqual([]);
});

test('a stack that builds from uploaded files: upload the folder in the Files tab, deploy, reach it, remove a file', async ({ page, berth, signedIn }) => {
  void signedIn;
  test.setTimeout(180_000);
  const pageErrors: string[] = [];
  page.on('pageerror', (err) => pageErrors.push(String(err)));
  const name = `e2e${randomBytes(4).toString('hex')}`;
  const port = await freeTcpPort();
  // A folder on this machine, as a user would pick it: web/ with a
  // Dockerfile and the page it serves.
  const picked = mkdtempSync(path.join(tmpdir(), 'berth-e2e-files-'));
  const web = path.join(picked, 'web');
  mkdirSync(web);
  writeFileSync(
    path.join(web, 'Dockerfile'),
    `FROM ${TEST_IMAGE}\nCOPY index.html /www/index.html\nCMD ["httpd", "-f", "-p", "80", "-h", "/www"]\n`,
  );
  writeFileSync(path.join(web, 'index.html'), `built from uploaded files ${name}\n`);
  const compose = ['services:', '  web:', '    build: ./web', '    ports:', `      - "127.0.0.1:${port}:80"`, ''].join('\n');
  try {
    const created = await page.request.post(`${berth.url}/api/v1/endpoints/local/stacks`, {
      data: { name, compose, env: '' },
    });
    expect(created.status(), await created.text()).toBe(201);

    await page.goto(`/endpoints/local/stacks/${name}`);
    await page.getByRole('tab', { name: 'Files' }).click();
    await expect(page).toHaveURL(new RegExp(`/stacks/${name}\\?tab=files`));
    const contexts = page.getByRole('region', { name: 'Build contexts' });
    await expect(contexts.locator('li[data-service=web]')).toContainText('missing');
    await expect(page.getByText('No files yet')).toBeVisible();

    // Upload the folder: it keeps its name, and the context is ready.
    await page.locator('#stack-folder').setInputFiles(web);
    await expect(page.getByText('Uploaded 2 files into the stack')).toBeVisible();
    const files = page.getByRole('table', { name: "Files in the stack's folder" });
    await expect(files.locator('tr[data-path="web/"]')).toContainText('2 files');
    await expect(files.locator('tr[data-path="web/Dockerfile"]')).toBeVisible();
    await expect(files.locator('tr[data-path="web/index.html"]')).toBeVisible();
    await expect(contexts.locator('li[data-service=web]')).toContainText('ready');

    // Deploy builds the image from the uploaded folder.
    await page.getByRole('tab', { name: 'Plan' }).click();
    await page.getByRole('button', { name: 'Deploy', exact: true }).click();
    await expect(page.getByRole('region', { name: 'Deploy progress' }).getByRole('heading', { name: `Deployed ${name}` })).toBeVisible({ timeout: 120_000 });
    expect((await fetchText(`http://127.0.0.1:${port}/`)).trim()).toBe(`built from uploaded files ${name}`);

    // Remove a file: asked first, then gone from the list and the host.
    await page.getByRole('tab', { name: 'Files' }).click();
    await files.getByRole('button', { name: 'Remove web/index.html' }).click();
    const dialog = page.getByRole('dialog');
    await expect(dialog).toContainText('web/index.html is deleted');
    await dialog.getByRole('button', { name: 'Remove' }).click();
    await expect(files.locator('tr[data-path="web/index.html"]')).toHaveCount(0);
    await expect(files.locator('tr[data-path="web/"]')).toContainText('1 file');
    const listed = await page.request.get(`${berth.url}/api/v1/endpoints/local/stacks/${name}/files`);
    expect((await listed.json()).files.map((f: { path: string }) => f.path)).toEqual(['web/Dockerfile']);
  } finally {
    await page.request.delete(`${berth.url}/api/v1/endpoints/local/stacks/${name}?volumes=true`).catch(() => undefined);
    await docker(['rmi', '-f', `${name}-web`]).catch(() => undefined);
    rmSync(picked, { recursive: true, force: true });
  }
  expect(pageErrors, 'uncaught errors in the page').toEqual([]);
});
