// A diner joins and signs in inside the portal framed on the restaurant's
// own website: two HTTPS origins (the portal behind TLS, as a proxy would
// serve it, and the shop's site), so the frame is a third-party context in
// which only `SameSite=None; Secure; Partitioned` cookies are kept.
import { spawn, execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { test, expect } from '@playwright/test';
import { codeFor, uniquePhone } from './fixtures';

const root = resolve(__dirname, '..', '..');
const binary = process.env.TABLECARD_BIN ?? join(root, 'target', 'release', 'tablecard');

function freePort(): Promise<number> {
  return new Promise((ok, fail) => {
    const srv = createServer();
    srv.on('error', fail);
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as AddressInfo).port;
      srv.close(() => ok(port));
    });
  });
}

async function ready(url: string): Promise<void> {
  const until = Date.now() + 20_000;
  while (Date.now() < until) {
    try {
      if ((await fetch(`${url}/readyz`)).ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`the server at ${url} did not become ready`);
}

test('a diner joins and signs in inside the portal framed on the restaurant’s HTTPS site', async ({ browser }, testInfo) => {
  test.skip(testInfo.project.name !== 'sqlite', 'it starts its own server on SQLite: one run covers it');
  const dir = mkdtempSync(join(tmpdir(), 'tablecard-embed-'));
  execFileSync('openssl', [
    'req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', '/CN=localhost',
    '-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1',
    '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem'),
  ], { stdio: 'pipe' });
  const tls = { key: readFileSync(join(dir, 'key.pem')), cert: readFileSync(join(dir, 'cert.pem')) };
  const [appPort, portalPort, shopPort] = [await freePort(), await freePort(), await freePort()];
  const portal = `https://127.0.0.1:${portalPort}`;
  const shop = `https://localhost:${shopPort}`;
  const env = {
    ...process.env,
    DATABASE_URL: `sqlite://${join(dir, 'tablecard.db')}`,
    LEPTOS_SITE_ADDR: `127.0.0.1:${appPort}`,
    LEPTOS_SITE_ROOT: join(root, 'target', 'site'),
    TABLECARD_PUBLIC_URL: portal,
    TABLECARD_SECRET_KEY: 'e2e-embed-secret-key-that-is-long-enough-0123',
    TABLECARD_CODE_DELIVERY: 'webhook',
    TABLECARD_CODE_WEBHOOK_URL: `${process.env.TABLECARD_E2E_HOOK}/sms`,
    TABLECARD_CODE_WEBHOOK_SECRET: 'e2e-webhook-secret-0123456789',
    RUST_LOG: 'warn',
  };
  const demo = JSON.parse(execFileSync(binary, ['demo', '--json'], { env, cwd: dir }).toString());
  const server = spawn(binary, ['serve'], { env, cwd: dir, stdio: ['ignore', 'inherit', 'inherit'] });
  // TLS in front of the portal, as the restaurant's proxy would be.
  const proxy = https.createServer(tls, (req, res) => {
    const upstream = http.request(
      { host: '127.0.0.1', port: appPort, path: req.url, method: req.method, headers: req.headers },
      (r) => {
        res.writeHead(r.statusCode ?? 502, r.headers);
        r.pipe(res);
      },
    );
    upstream.on('error', () => res.writeHead(502).end());
    req.pipe(upstream);
  });
  // The restaurant's own site, another origin, framing the join page.
  const site = https.createServer(tls, (_, res) =>
    res
      .writeHead(200, { 'content-type': 'text/html' })
      .end(`<!doctype html><title>shop</title><iframe title="会员" src="${portal}/r/${demo.brand_slug}/join?embed=1" width="360" height="700"></iframe>`),
  );
  await new Promise<void>((ok) => proxy.listen(portalPort, '127.0.0.1', ok));
  await new Promise<void>((ok) => site.listen(shopPort, ok));
  try {
    await ready(`http://127.0.0.1:${appPort}`);
    const context = await browser.newContext({ ignoreHTTPSErrors: true });
    // The owner allows the shop's site to frame the portal.
    const owner = await context.newPage();
    await owner.goto(`${portal}/admin`);
    await owner.getByLabel('账号').fill(demo.owner_login);
    await owner.getByLabel('密码').fill(demo.owner_password);
    await owner.getByRole('button', { name: '登录' }).click();
    await owner.goto(`${portal}/admin/brand`);
    await owner.getByLabel('可以嵌入会员页面的网站').fill(shop);
    await owner.locator('#profile').getByRole('button', { name: '保存' }).click();
    await expect(owner.getByText('已保存')).toBeVisible();
    await owner.close();

    // A diner on the shop's site joins inside the frame: the code's cookie
    // and then the session survive in the frame, and every page after the
    // first (no `?embed=1` any more) still shows only the portal's content.
    const page = await context.newPage();
    await page.goto(`${shop}/shop`);
    const frame = page.frameLocator('iframe');
    const phone = uniquePhone();
    await frame.getByLabel('手机号').fill(phone);
    await frame.getByRole('button', { name: '获取验证码' }).click();
    await expect(frame.getByText('验证码已发送至')).toBeVisible();
    await expect(frame.locator('.page.embedded')).toBeVisible();
    await frame.getByLabel('6 位验证码').fill(await codeFor(phone));
    await frame.getByLabel('我已阅读并同意会员条款和隐私政策（必选）').check();
    await frame.getByRole('button', { name: '登录' }).click();
    await expect(frame.locator('.mc-points')).toBeVisible();
    await expect(frame.locator('.page.embedded')).toBeVisible();
    await expect(frame.locator('.topbar')).toBeHidden();
    await context.close();
  } finally {
    server.kill();
    proxy.close();
    site.close();
  }
});
