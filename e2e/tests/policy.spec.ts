// The endpoint's security policy: an admin allows bind mounts under one
// folder on the endpoint settings page, and the policy is kept.
import { test, expect } from '../fixtures';

test('an admin allows bind mounts under a folder, saves, and finds it kept after a reload', async ({ page, berth, signedIn }) => {
  void signedIn;
  const pageErrors: string[] = [];
  page.on('pageerror', (err) => pageErrors.push(String(err)));

  await page.goto('/endpoints/local/containers');
  await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Endpoint settings' }).click();
  await expect(page).toHaveURL(/\/endpoints\/local\/settings$/);
  await expect(page.getByRole('heading', { name: 'Endpoint settings' })).toBeVisible();
  await expect(page.getByText('Admins are never limited by this policy.')).toBeVisible();

  // A new endpoint denies everything.
  const binds = page.getByRole('switch', { name: 'Bind mounts', exact: true });
  await expect(binds).not.toBeChecked();
  await expect(page.getByRole('switch', { name: 'Privileged containers', exact: true })).not.toBeChecked();

  // Switched on, the folder list appears; a relative path is refused there.
  await binds.check();
  const folder = page.getByLabel('New host folder', { exact: true });
  await folder.fill('tmp/berth-e2e');
  await page.getByRole('button', { name: 'Add folder' }).click();
  await expect(page.getByText('tmp/berth-e2e is not absolute')).toBeVisible();
  await folder.fill('/tmp/berth-e2e/');
  await folder.press('Enter');
  const roots = page.getByRole('list', { name: 'Allowed host folders' });
  await expect(roots.getByText('/tmp/berth-e2e', { exact: true })).toBeVisible();
  await expect(folder).toHaveValue('');

  await page.getByRole('button', { name: 'Save policy' }).click();
  await expect(page.getByText('Saved the security policy of local')).toBeVisible();

  // Kept by the server, and shown so after a reload.
  const kept = await page.request.get(`${berth.url}/api/v1/endpoints/local/policy`);
  expect(kept.status()).toBe(200);
  const policy = await kept.json();
  expect(policy.allow_bind_mounts).toBe(true);
  expect(policy.bind_mount_roots).toEqual(['/tmp/berth-e2e']);
  expect(policy.allow_privileged).toBe(false);

  await page.reload();
  await expect(page.getByRole('switch', { name: 'Bind mounts', exact: true })).toBeChecked();
  await expect(page.getByRole('list', { name: 'Allowed host folders' }).getByText('/tmp/berth-e2e', { exact: true })).toBeVisible();
  await expect(page.getByRole('switch', { name: 'Privileged containers', exact: true })).not.toBeChecked();

  expect(pageErrors).toEqual([]);
});

test('a volume is created from the volumes page with driver options the engine keeps', async ({ page, docker, signedIn }) => {
  void signedIn;
  const name = `berth-e2e-vol-${Date.now()}`;
  await page.goto('/endpoints/local/volumes');
  await page.getByLabel('Volume name', { exact: true }).fill(name);
  await page.getByLabel('Driver', { exact: true }).fill('local');
  const options = page.getByLabel('Driver options', { exact: true });
  await options.fill('type=tmpfs\nno equals sign');
  await page.getByRole('button', { name: 'Create volume' }).click();
  await expect(page.getByText('Line 2: write key=value')).toBeVisible();
  await options.fill('type=tmpfs\ndevice=tmpfs\no=size=1m');
  await page.getByRole('button', { name: 'Create volume' }).click();
  await expect(page.getByText(`Created volume ${name}`)).toBeVisible();
  const opts = await docker.run(['volume', 'inspect', '--format', '{{json .Options}}', name]);
  expect(JSON.parse(opts)).toEqual({ type: 'tmpfs', device: 'tmpfs', o: 'size=1m' });
  const removed = await page.request.delete(`/api/v1/endpoints/local/volumes/${name}`);
  expect([200, 204]).toContain(removed.status());
});
