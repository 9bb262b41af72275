import { test, expect, baseUrl, demo, joinDemo, expectAccessible, randomIp } from './fixtures';
import type { Browser, Page } from '@playwright/test';
import http from 'node:http';
import type { AddressInfo } from 'node:net';

/** A console browser of its own, signed in. */
async function signIn(browser: Browser, login: string, password: string): Promise<Page> {
  const context = await browser.newContext({
    extraHTTPHeaders: { 'X-Test-Client-Ip': randomIp() },
    viewport: { width: 1024, height: 800 },
  });
  const page = await context.newPage();
  await page.goto(`${baseUrl()}/admin`);
  await page.getByLabel('账号').fill(login);
  await page.getByLabel('密码').fill(password);
  await page.getByRole('button', { name: '登录' }).click();
  return page;
}

const unique = (): string => `${Date.now().toString(36)}${Math.floor(Math.random() * 1e4)}`;

test.describe('staff console', () => {
  test('an owner sets up a store with tables and prints their QR sheet', async ({ browser }) => {
    const owner = await signIn(browser, demo().owner_login, demo().owner_password);
    await expect(owner.getByRole('heading', { name: '概览' })).toBeVisible();
    await expectAccessible(owner);

    await owner.getByRole('navigation').getByRole('link', { name: '门店与桌台' }).click();
    const code = `E${unique()}`.slice(0, 12).toUpperCase();
    const add = owner.locator('form', { has: owner.getByRole('heading', { name: '新增门店' }) });
    await add.getByLabel('门店编码').fill(code);
    await add.getByLabel('门店名称').fill(`测试店 ${code}`);
    await add.getByRole('button', { name: '新增门店' }).click();
    await expect(owner.getByText('已保存')).toBeVisible();
    await expectAccessible(owner);

    await owner.locator('section', { hasText: `测试店 ${code}` }).getByRole('link', { name: /桌台与二维码/ }).click();
    await expect(owner.getByRole('heading', { name: `测试店 ${code} · 桌台` })).toBeVisible();
    const batch = owner.locator('form', { has: owner.getByRole('heading', { name: '批量添加' }) });
    await batch.getByLabel('名称前缀').fill('A');
    await batch.getByLabel('起始编号').fill('1');
    await batch.getByLabel('数量').fill('10');
    await batch.getByRole('button', { name: '批量添加' }).click();
    await expect(owner.getByRole('rowheader', { name: 'A10' })).toBeVisible();
    await expectAccessible(owner);

    await owner.getByRole('link', { name: '打印二维码' }).click();
    await expect(owner.locator('.qr-card')).toHaveCount(10);
    await expect(owner.locator('.qr-card svg')).toHaveCount(10);
    await expect(owner.getByRole('link', { name: '下载第 2 页 (SVG)' })).toBeVisible();
    await expectAccessible(owner);
    // Printed: only the cards, two to a row, nothing of the console.
    await owner.emulateMedia({ media: 'print' });
    await expect(owner.locator('.console-nav')).toBeHidden();
    await expect(owner.locator('.topbar')).toBeHidden();
    const [first, second] = await owner.locator('.qr-card').evaluateAll((cards) =>
      cards.slice(0, 2).map((c) => c.getBoundingClientRect().top),
    );
    expect(first).toBe(second);
    await owner.context().close();
  });

  test('a cashier finds a member by the code on their phone, records a bill and takes a coupon', async ({ browser, page }) => {
    // The owner adds a cashier at 人民广场店; the first password shows once.
    const owner = await signIn(browser, demo().owner_login, demo().owner_password);
    await owner.goto(`${baseUrl()}/admin/staff`);
    const login = `till.${unique()}`;
    const add = owner.locator('form', { has: owner.getByRole('heading', { name: '新增员工' }) });
    await add.getByLabel('账号').fill(login);
    await add.getByLabel('姓名').fill('小王');
    await add.getByLabel('角色').selectOption('cashier');
    await add.getByLabel('人民广场店').check();
    await add.getByRole('button', { name: '新增员工' }).click();
    const password = (await owner.locator('.key-once').textContent())!.trim();
    expect(password).toHaveLength(16);
    await expectAccessible(owner);
    await owner.context().close();

    // The member opens their card on their phone.
    await joinDemo(page);
    await expect(page.locator('.mc-points')).toHaveText('0');
    const shown = await page.locator('.rotating-code .code-digits').getAttribute('data-code');

    // The cashier, in a browser of their own, types the code they see.
    const till = await signIn(browser, login, password);
    await expect(till.getByRole('heading', { name: /收银台/ })).toBeVisible();
    await expectAccessible(till);
    await till.getByLabel('会员码、会员号或手机号').fill(shown!);
    await till.getByRole('button', { name: '查找会员' }).click();
    await expect(till.locator('.till-member')).toContainText('****');
    await expectAccessible(till);

    const bill = till.locator('form', { has: till.getByRole('heading', { name: '记录消费' }) });
    await bill.getByLabel('实付金额（元）').fill('128.50');
    // A double click records once.
    await bill.getByRole('button', { name: '记录' }).dblclick();
    await expect(till.getByText('已记录消费 ¥128.50')).toBeVisible();

    const coupon = till.locator('form', { has: till.getByRole('heading', { name: '核销优惠券' }) });
    await coupon.getByText('10元代金券').click();
    await coupon.getByLabel('账单金额（元）').fill('128.50');
    await coupon.getByRole('button', { name: '核销' }).click();
    await expect(till.getByText(/已核销 .*优惠 ¥10/)).toBeVisible();
    await expect(till.getByText('没有可用的优惠券。')).toBeVisible();
    await expectAccessible(till);

    // Stored value: ¥500 paid in by WeChat Pay gets the demo's ¥60 bonus;
    // then ¥88 of a bill is taken with the code the card shows now.
    const topUp = till.locator('form', { has: till.getByRole('heading', { name: '充值', exact: true }) });
    await topUp.getByLabel('实付金额（元）').fill('500');
    await topUp.getByLabel('支付方式').selectOption('wechat_pay');
    await topUp.getByRole('button', { name: '确认充值' }).click();
    await expect(till.getByText('充值 ¥500，赠送 ¥60。储值余额 ¥560。')).toBeVisible();
    const stored = till.locator('form', { has: till.getByRole('heading', { name: '储值支付' }) });
    const now = await page.locator('.rotating-code .code-digits').getAttribute('data-code');
    await stored.getByLabel(/会员码/).fill(now!);
    await stored.getByLabel('储值扣款金额（元）').fill('88');
    await stored.getByRole('button', { name: '确认扣款' }).click();
    await expect(till.getByText(/储值支付 ¥88/)).toBeVisible();
    await expectAccessible(till);
    await till.context().close();

    // The member's card shows the points of one bill and the coupon gone.
    await page.reload();
    await expect(page.locator('.mc-points')).toHaveText('128');
    await expect(page.locator('.mc-stored')).toHaveText('¥472');
    await page.getByRole('link', { name: '我的优惠券' }).click();
    await page.getByRole('link', { name: '已使用' }).click();
    await expect(page.locator('.coupon', { hasText: '10元代金券' })).toBeVisible();
  });

  test('the portal can be framed by a site the owner allowed and by no other', async ({ browser, page }) => {
    // A stand-in for the brand's own website: one page that frames the
    // portal, reachable as http://localhost:P (allowed) and as
    // http://127.0.0.1:P (another origin, not allowed).
    const frameHtml = `<!doctype html><title>shop</title><iframe title="会员" src="${baseUrl()}/r/${demo().brand_slug}?embed=1" width="360" height="600"></iframe>`;
    const site = http.createServer((_, res) => res.writeHead(200, { 'content-type': 'text/html' }).end(frameHtml));
    await new Promise<void>((ok) => site.listen(0, '127.0.0.1', ok));
    const port = (site.address() as AddressInfo).port;
    const allowed = `http://localhost:${port}`;
    try {
      const owner = await signIn(browser, demo().owner_login, demo().owner_password);
      await owner.goto(`${baseUrl()}/admin/brand`);
      await owner.getByLabel('可以嵌入会员页面的网站').fill(allowed);
      await owner.locator('#profile').getByRole('button', { name: '保存' }).click();
      await expect(owner.getByText('已保存')).toBeVisible();
      await expectAccessible(owner);
      await owner.context().close();

      await page.goto(`${allowed}/shop`);
      const framed = page.frameLocator('iframe');
      await expect(framed.locator('.page.embedded')).toBeVisible();
      await expect(framed.locator('.topbar')).toBeHidden();

      await page.goto(`http://127.0.0.1:${port}/shop`);
      await page.waitForLoadState('load');
      const child = page.frames().find((f) => f !== page.mainFrame());
      expect(child).toBeDefined();
      await expect.poll(() => child!.url()).toMatch(/^chrome-error:/);
      expect(await child!.locator('.page').count()).toBe(0);
    } finally {
      site.close();
    }
  });
});
