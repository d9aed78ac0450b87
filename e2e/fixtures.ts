// Fixtures for berth's browser tests.
//
// - `berth` (one per worker): a FRESH berth, started from the release
//   binary on a free 127.0.0.1 port with a temporary --data-dir. It reads the
//   one-time `setup token: <token>` line from berth's stdout and stops berth
//   (and removes the data dir) when the worker ends. berth's output goes to
//   test-results/berth-<port>.log.
// - `baseURL` points at that berth, so `page.goto('/')` opens it.
// - `docker`: runs the docker CLI with an argument array (never a shell
//   string) and removes, after each test, every container the test named
//   through `docker.name()`, even when the test failed or timed out.
import { test as base, expect } from '@playwright/test';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createWriteStream, existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';

export const ADMIN = 'admin';
export const ADMIN_PASSWORD = `e2e-admin-${randomBytes(6).toString('hex')}`;

export const TEST_IMAGE = process.env.BERTH_TEST_IMAGE || 'berth-test/busybox:latest';

const REPO = path.resolve(__dirname, '..');
const BERTH_BIN = process.env.BERTH_BIN || path.join(REPO, 'target', 'release', 'berth');
const RESULTS = path.join(__dirname, 'test-results');
const START_TIMEOUT_MS = 60_000;

export type Berth = {
  url: string;
  setupToken: string;
  dataDir: string;
  logFile: string;
};

export type Docker = {
  /** Run `docker ...args`; resolves with trimmed stdout, rejects on non-zero exit. */
  run(args: string[]): Promise<string>;
  /** A unique name `e2e-<random>-<suffix>`, removed (`docker rm -f`) after the test. */
  name(suffix: string): string;
};

export function docker(args: string[], timeoutMs = 60_000): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile('docker', args, { timeout: timeoutMs }, (err, stdout, stderr) => {
      if (err) {
        reject(new Error(`docker ${args.join(' ')} failed: ${err.message}\n${stderr}`));
      } else {
        resolve(stdout.trim());
      }
    });
  });
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      if (addr && typeof addr === 'object') {
        const { port } = addr;
        srv.close(() => resolve(port));
      } else {
        srv.close(() => reject(new Error('no port')));
      }
    });
  });
}

// tracing may colour its output; the token is matched on plain text.
const ANSI = /\x1b\[[0-9;]*[A-Za-z]/g;
const TOKEN_LINE = /setup token:\s*([A-Za-z0-9._~+\/=-]+)/;

async function healthy(url: string): Promise<boolean> {
  try {
    const res = await fetch(`${url}/healthz`);
    return res.status === 200;
  } catch {
    return false;
  }
}

async function startBerth(): Promise<{ berth: Berth; proc: ChildProcess }> {
  if (!existsSync(BERTH_BIN)) {
    throw new Error(
      `${BERTH_BIN} not found: build it first (make build), or set BERTH_BIN`,
    );
  }
  mkdirSync(RESULTS, { recursive: true });
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const dataDir = mkdtempSync(path.join(tmpdir(), 'berth-e2e-'));
  const logFile = path.join(RESULTS, `berth-${port}.log`);
  const log = createWriteStream(logFile);

  const proc = spawn(
    BERTH_BIN,
    ['serve', '--listen', `127.0.0.1:${port}`, '--data-dir', dataDir],
    {
      cwd: dataDir,
      env: { ...process.env, NO_COLOR: '1' },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );

  let setupToken = '';
  let exited: string | null = null;
  let buffered = '';
  proc.stdout!.on('data', (chunk: Buffer) => {
    log.write(chunk);
    if (setupToken) return;
    buffered += chunk.toString('utf8');
    const lines = buffered.split('\n');
    buffered = lines.pop() ?? '';
    for (const line of lines) {
      const m = line.replace(ANSI, '').match(TOKEN_LINE);
      if (m) {
        setupToken = m[1];
        break;
      }
    }
  });
  proc.stderr!.on('data', (chunk: Buffer) => log.write(chunk));
  proc.on('exit', (code, signal) => {
    exited = `exit code ${code}, signal ${signal}`;
  });

  const deadline = Date.now() + START_TIMEOUT_MS;
  while (!(setupToken && (await healthy(url)))) {
    if (exited) {
      throw new Error(`berth exited during start (${exited}); see ${logFile}`);
    }
    if (Date.now() > deadline) {
      proc.kill('SIGKILL');
      throw new Error(
        `berth did not become healthy with a setup token within ${START_TIMEOUT_MS / 1000}s ` +
          `(token seen: ${setupToken ? 'yes' : 'no'}); see ${logFile}`,
      );
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  return { berth: { url, setupToken, dataDir, logFile }, proc };
}

async function stopBerth(proc: ChildProcess, berth: Berth) {
  if (proc.exitCode === null && proc.signalCode === null) {
    const gone = new Promise<void>((r) => proc.once('exit', () => r()));
    proc.kill('SIGTERM');
    const timer = setTimeout(() => proc.kill('SIGKILL'), 10_000);
    await gone;
    clearTimeout(timer);
  }
  rmSync(berth.dataDir, { recursive: true, force: true });
}

export const test = base.extend<{ docker: Docker; berth: Berth; signedIn: void }>({
  // A fresh berth for every test: each starts from first-run setup, and no
  // test sees another's users or sessions.
  berth: [
    async ({}, use) => {
      const { berth, proc } = await startBerth();
      try {
        await use(berth);
      } finally {
        await stopBerth(proc, berth);
      }
    },
    { timeout: START_TIMEOUT_MS + 15_000 },
  ],

  baseURL: async ({ berth }, use) => {
    await use(berth.url);
  },

  // The first admin made through the API, and the page's browser context
  // signed in as them (the cookie lands in the context's jar).
  signedIn: async ({ page, berth }, use) => {
    const setup = await page.request.post(`${berth.url}/api/v1/setup`, {
      data: { token: berth.setupToken, username: ADMIN, password: ADMIN_PASSWORD },
    });
    expect(setup.status(), await setup.text()).toBe(201);
    await use();
  },

  docker: async ({}, use) => {
    const names: string[] = [];
    const run = (args: string[]) => docker(args);
    const name = (suffix: string) => {
      const n = `e2e-${randomBytes(4).toString('hex')}-${suffix}`;
      names.push(n);
      return n;
    };
    try {
      await use({ run, name });
    } finally {
      for (const n of names) {
        await docker(['rm', '-f', '-v', n]).catch(() => undefined);
        // A name may also have been given to a volume, network or stack.
        await docker(['volume', 'rm', '-f', n]).catch(() => undefined);
        await docker(['network', 'rm', n]).catch(() => undefined);
      }
    }
  },
});

export { expect };

/** A free TCP port on 127.0.0.1. */
export function freeTcpPort(): Promise<number> {
  return freePort();
}

/** GETs a URL from the test process until it answers 200 (or time runs out). */
export async function fetchText(url: string, timeoutMs = 15_000): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  let last = '';
  while (Date.now() < deadline) {
    try {
      const res = await fetch(url);
      if (res.status === 200) return await res.text();
      last = `status ${res.status}`;
    } catch (e) {
      last = String(e);
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`${url} did not answer 200: ${last}`);
}
