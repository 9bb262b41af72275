// Starts the release server on a free port with a fresh SQLite database and
// the demo brand, for the whole run. Tests read where it is from env.
import { spawn, execFileSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const root = resolve(__dirname, '..');
const binary = process.env.TABLECARD_BIN ?? join(root, 'target', 'release', 'tablecard');

function freePort(): Promise<number> {
  return new Promise((ok, fail) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', fail);
    srv.listen(0, '127.0.0.1', () => {
      const address = srv.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      srv.close(() => ok(port));
    });
  });
}

async function waitUntilReady(url: string, deadlineMs: number): Promise<void> {
  const until = Date.now() + deadlineMs;
  while (Date.now() < until) {
    try {
      const res = await fetch(`${url}/readyz`);
      if (res.ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`the server at ${url} did not become ready`);
}

export default async function globalSetup(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'tablecard-e2e-'));
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const env = {
    ...process.env,
    DATABASE_URL: `sqlite://${join(dir, 'tablecard.db')}`,
    LEPTOS_SITE_ADDR: `127.0.0.1:${port}`,
    LEPTOS_SITE_ROOT: join(root, 'target', 'site'),
    TABLECARD_SECRET_KEY: 'e2e-secret-key-that-is-long-enough-0123456789',
    RUST_LOG: process.env.RUST_LOG ?? 'warn',
  };
  const demo = JSON.parse(execFileSync(binary, ['demo', '--json'], { env, cwd: dir }).toString());
  const server = spawn(binary, ['serve'], { env, cwd: dir, stdio: ['ignore', 'inherit', 'inherit'] });
  process.env.TABLECARD_E2E_URL = url;
  process.env.TABLECARD_E2E_DIR = dir;
  process.env.TABLECARD_E2E_DEMO = JSON.stringify(demo);
  process.env.TABLECARD_E2E_PID = String(server.pid);
  await waitUntilReady(url, 20_000);
}
