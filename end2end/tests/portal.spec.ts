import { test, expect, baseUrl, demo, waitForHydration, expectAccessible } from './fixtures';

test.describe('the brand portal', () => {
  test('shows the brand and the join call to action in Chinese by default', async ({ page }) => {
    const response = await page.goto(`${baseUrl()}/r/${demo().brand_slug}`);
    expect(response?.status()).toBe(200);
    await expect(page.locator('html')).toHaveAttribute('lang', 'zh-CN');
    await expect(page.getByRole('heading', { level: 1 })).toHaveText('山野小馆');
    const join = page.getByRole('link', { name: '加入会员 / 登录' });
    await expect(join).toBeVisible();
    await expect(join).toHaveAttribute('href', `/r/${demo().brand_slug}/join`);
    const box = await join.boundingBox();
    expect(box?.height ?? 0).toBeGreaterThanOrEqual(44);
  });

  test('follows the browser language when the diner has not chosen one', async ({ browser }) => {
    const context = await browser.newContext({ locale: 'en-US', extraHTTPHeaders: { 'Accept-Language': 'en-US,en;q=0.9' } });
    const page = await context.newPage();
    await page.goto(`${baseUrl()}/r/${demo().brand_slug}`);
    await expect(page.locator('html')).toHaveAttribute('lang', 'en');
    await expect(page.getByRole('link', { name: 'Join / Sign in' })).toBeVisible();
    await context.close();
  });

  test('a table QR code remembers the table and lands on the portal', async ({ page }) => {
    const table = demo().tables[0];
    await page.goto(`${baseUrl()}/t/${table.token}`);
    await expect(page).toHaveURL(`${baseUrl()}/r/${demo().brand_slug}`);
    await expect(page.getByText(`您在${table.store} · ${table.label} 号桌`)).toBeVisible();
    // The visit is remembered: coming back to the portal still shows the table.
    await page.goto(`${baseUrl()}/r/${demo().brand_slug}`);
    await expect(page.getByText(`${table.label} 号桌`)).toBeVisible();
  });

  test('an unknown table code or brand gets a friendly 404 in the diner language', async ({ page }) => {
    const byToken = await page.goto(`${baseUrl()}/t/0000000000000000000000zzzz`);
    expect(byToken?.status()).toBe(404);
    await expect(page.getByRole('heading', { name: '找不到这个页面' })).toBeVisible();
    const byBrand = await page.goto(`${baseUrl()}/r/no-such-brand`);
    expect(byBrand?.status()).toBe(404);
    await expect(page.getByText('请重新扫描桌上的二维码')).toBeVisible();
  });

  test('after the WebAssembly loads, choosing a language switches the page', async ({ page }) => {
    const problems: string[] = [];
    page.on('console', (m) => { if (m.type() === 'error' || m.type() === 'warning') problems.push(m.text()); });
    page.on('pageerror', (e) => problems.push(e.message));
    await page.goto(`${baseUrl()}/r/${demo().brand_slug}`);
    await waitForHydration(page);
    expect(problems, 'no script errors or CSP violations while hydrating').toEqual([]);
    await page.getByLabel('语言').selectOption('zh-TW');
    await expect(page.locator('html')).toHaveAttribute('lang', 'zh-TW');
    await expect(page.getByRole('link', { name: '加入會員 / 登入' })).toBeVisible();
    // The choice sticks for the next page.
    await page.goto(`${baseUrl()}/no/such/page`);
    await expect(page.getByRole('heading', { name: '找不到這個頁面' })).toBeVisible();
    await waitForHydration(page);
    await page.getByLabel('語言').selectOption('en');
    await expect(page.getByRole('heading', { name: "We can't find that page" })).toBeVisible();
  });

  test('the language menu works without JavaScript', async ({ browser }) => {
    const context = await browser.newContext({ javaScriptEnabled: false });
    const page = await context.newPage();
    await page.goto(`${baseUrl()}/r/${demo().brand_slug}`);
    await page.getByLabel('语言').selectOption('en');
    await page.getByRole('button', { name: '切换' }).click();
    await expect(page.getByRole('link', { name: 'Join / Sign in' })).toBeVisible();
    await context.close();
  });
});

test('the bare address tells a diner to scan the table QR code', async ({ page }) => {
  const response = await page.goto(`${baseUrl()}/`);
  expect(response?.status()).toBe(200);
  await expect(page.getByRole('heading', { name: '扫描桌上的二维码' })).toBeVisible();
});

test.describe('accessibility of member pages', () => {
  for (const lang of ['zh-CN', 'zh-TW', 'en']) {
    test(`landing, table, 404 and start pages have no WCAG AA violations in ${lang}`, async ({ browser }) => {
      const context = await browser.newContext();
      await context.addCookies([{ name: 'tc_lang', value: lang, url: baseUrl() }]);
      const page = await context.newPage();
      await page.goto(`${baseUrl()}/r/${demo().brand_slug}`);
      await expect(page.locator('html')).toHaveAttribute('lang', lang);
      await expectAccessible(page);
      await page.goto(`${baseUrl()}/t/${demo().tables[1].token}`);
      await expectAccessible(page);
      await page.goto(`${baseUrl()}/nothing-here`);
      await expectAccessible(page);
      await page.goto(`${baseUrl()}/`);
      await expectAccessible(page);
      await context.close();
    });
  }
});
