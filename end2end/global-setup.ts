// Starts the release server on a free port with a fresh SQLite database and
// the demo brand, for the whole run. Tests read where it is from env.
import { spawn, execFileSync } from 'node:child_process';
import { createHmac, timingSafeEqual } from 'node:crypto';
import { createServer as createHttpServer } from 'node:http';
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

const HOOK_SECRET = 'e2e-webhook-secret-0123456789';

/**
 * Stands in for an SMS provider: receives the server's signed code webhook,
 * refuses a bad signature, and lets tests read the newest code per phone.
 */
async function startSmsReceiver(): Promise<string> {
  const codes = new Map<string, string>();
  const hook = createHttpServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://receiver');
    if (req.method === 'POST' && url.pathname === '/sms') {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const body = Buffer.concat(chunks);
        const stamp = String(req.headers['x-tablecard-timestamp'] ?? '');
        const expected = Buffer.from(
          'sha256=' + createHmac('sha256', HOOK_SECRET).update(`${stamp}.`).update(body).digest('hex'),
        );
        const given = Buffer.from(String(req.headers['x-tablecard-signature'] ?? ''));
        if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
          res.writeHead(401).end('bad signature');
          return;
        }
        const message = JSON.parse(body.toString());
        codes.set(message.phone, message.code);
        res.writeHead(200).end('ok');
      });
      return;
    }
    if (req.method === 'GET' && url.pathname === '/codes') {
      const code = codes.get(url.searchParams.get('phone') ?? '');
      res.writeHead(code ? 200 : 404, { 'content-type': 'application/json' }).end(JSON.stringify({ code }));
      return;
    }
    res.writeHead(404).end();
  });
  const port = await freePort();
  await new Promise<void>((ok) => hook.listen(port, '127.0.0.1', ok));
  hook.unref();
  return `http://127.0.0.1:${port}`;
}

/** What the tests need to know of one running server (see fixtures.ts). */
export type E2eServer = { url: string; posKey: string; demo: unknown; dir: string; pid: number; schema?: string };

/**
 * A fresh PostgreSQL schema for one server, made with psql as the role of
 * TABLECARD_TEST_POSTGRES_URL; returns the schema and the server's URL.
 */
function postgresSchema(base: string): { schema: string; url: string } {
  const schema = `e2e_${process.pid}_${Date.now().toString(36)}`;
  try {
    execFileSync('psql', [base, '-v', 'ON_ERROR_STOP=1', '-qc', `CREATE SCHEMA ${schema}`], { stdio: 'pipe' });
  } catch (e) {
    throw new Error(`cannot create a PostgreSQL schema for the browser tests with psql (${base}): ${e}`);
  }
  const sep = base.includes('?') ? '&' : '?';
  return { schema, url: `${base}${sep}options=-c%20search_path%3D${schema}` };
}

/** Starts one server with the demo brand on `databaseUrl`; resolves once it is ready. */
async function startServer(hook: string, database: 'sqlite' | 'postgres'): Promise<E2eServer> {
  const dir = mkdtempSync(join(tmpdir(), `tablecard-e2e-${database}-`));
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const pg = database === 'postgres' ? postgresSchema(process.env.TABLECARD_TEST_POSTGRES_URL!) : undefined;
  const env = {
    ...process.env,
    DATABASE_URL: pg ? pg.url : `sqlite://${join(dir, 'tablecard.db')}`,
    LEPTOS_SITE_ADDR: `127.0.0.1:${port}`,
    LEPTOS_SITE_ROOT: join(root, 'target', 'site'),
    TABLECARD_SECRET_KEY: 'e2e-secret-key-that-is-long-enough-0123456789',
    RUST_LOG: process.env.RUST_LOG ?? 'warn',
    // Codes go to the stand-in SMS provider above, over the real webhook.
    TABLECARD_CODE_DELIVERY: 'webhook',
    TABLECARD_CODE_WEBHOOK_URL: `${hook}/sms`,
    TABLECARD_CODE_WEBHOOK_SECRET: HOOK_SECRET,
    // Each test is its own client address, as a proxy would report it, so
    // the per-address code limit does not join tests together.
    TABLECARD_CLIENT_IP_HEADER: 'x-test-client-ip',
  };
  const demo = JSON.parse(execFileSync(binary, ['demo', '--json'], { env, cwd: dir }).toString());
  // A POS key for the first store, so tests can record purchases as a till would.
  const posKey = execFileSync(binary, ['create-api-key', '--brand', 'demo', '--store', 'SH01', '--quiet'], { env, cwd: dir })
    .toString()
    .trim();
  const server = spawn(binary, ['serve'], { env, cwd: dir, stdio: ['ignore', 'inherit', 'inherit'] });
  await waitUntilReady(url, 20_000);
  return { url, posKey, demo, dir, pid: server.pid!, schema: pg?.schema };
}

/**
 * The SMS stand-in, a server on SQLite and, when TABLECARD_TEST_POSTGRES_URL
 * is set, one on PostgreSQL: the `sqlite` and `postgres` projects run every
 * test against each. Workers read where they are from the environment.
 */
export default async function globalSetup(): Promise<void> {
  const hook = await startSmsReceiver();
  process.env.TABLECARD_E2E_HOOK = hook;
  const databases: ('sqlite' | 'postgres')[] = process.env.TABLECARD_TEST_POSTGRES_URL ? ['sqlite', 'postgres'] : ['sqlite'];
  const servers = await Promise.all(databases.map((db) => startServer(hook, db)));
  databases.forEach((db, i) => {
    process.env[`TABLECARD_E2E_${db.toUpperCase()}`] = JSON.stringify(servers[i]);
  });
}
