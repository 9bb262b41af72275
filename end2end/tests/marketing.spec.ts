import { test, expect, baseUrl, demo, codeFor, uniquePhone, joinDemo, expectAccessible, randomIp } from './fixtures';

const brand = () => demo().brand_slug;

test.describe('marketing', () => {
  test('a member checks in once on the card and invites a friend who joins through the link', async ({ page, browser }) => {
    await joinDemo(page);
    const checkIn = page.getByRole('button', { name: '签到领 5 积分' });
    await expect(checkIn).toBeVisible();
    await expect(page.getByText('连续 7 天再送 30 积分')).toBeVisible();
    await checkIn.click();
    await expect(page.getByRole('status').filter({ hasText: '签到成功，获得 5 积分。' })).toBeVisible();
    await expect(page.locator('.mc-points')).toHaveText('5');
    await expect(page.getByText('今日已签到 · 已连续 1 天')).toBeVisible();
    await expect(page.getByRole('button', { name: /签到领/ })).toHaveCount(0);
    await expectAccessible(page);

    await page.getByRole('link', { name: '邀请好友' }).click();
    await expect(page).toHaveURL(`${baseUrl()}/r/${brand()}/invite`);
    await expect(page.getByRole('img', { name: '邀请二维码' }).locator('svg')).toBeVisible();
    await expect(page.getByText('好友通过你的邀请加入并首次消费后，你得 100 积分。')).toBeVisible();
    const link = await page.getByLabel('邀请链接').inputValue();
    expect(link).toMatch(new RegExp(`/r/${brand()}/invite/[2-9A-Z]{8}$`));
    await expectAccessible(page);

    // The friend scans the QR on their own phone and joins.
    const context = await browser.newContext({ extraHTTPHeaders: { 'X-Test-Client-Ip': randomIp() } });
    const friend = await context.newPage();
    await friend.goto(link.replace(/^https?:\/\/[^/]+/, baseUrl()));
    await expect(friend).toHaveURL(`${baseUrl()}/r/${brand()}/join`);
    const phone = uniquePhone();
    await friend.getByLabel('手机号').fill(phone);
    await friend.getByRole('button', { name: '获取验证码' }).click();
    await friend.getByLabel('6 位验证码').fill(await codeFor(phone));
    await friend.getByLabel('我已阅读并同意会员条款和隐私政策（必选）').check();
    await friend.getByRole('button', { name: '登录' }).click();
    await expect(friend).toHaveURL(/\/card\?welcome=1$/);
    await context.close();

    await page.reload();
    await expect(page.getByText('已有 1 位好友加入，0 位已首次消费。')).toBeVisible();
  });

  test('the owner sees the automations, the scheduler and the segments', async ({ browser }) => {
    const context = await browser.newContext({
      extraHTTPHeaders: { 'X-Test-Client-Ip': randomIp() },
      viewport: { width: 1024, height: 800 },
    });
    const owner = await context.newPage();
    await owner.goto(`${baseUrl()}/admin`);
    await owner.getByLabel('账号').fill(demo().owner_login);
    await owner.getByLabel('密码').fill(demo().owner_password);
    await owner.getByRole('button', { name: '登录' }).click();
    await owner.goto(`${baseUrl()}/admin/automation`);
    await expect(owner.getByRole('rowheader', { name: '生日前 3 天' })).toBeVisible();
    await expect(owner.getByRole('rowheader', { name: '60 天未到店' })).toBeVisible();
    // The scheduler ran when the server started.
    await expect(owner.locator('#job-points_expiry td').first()).not.toBeEmpty();
    await expectAccessible(owner);

    await owner.getByLabel('触发条件').selectOption('nth_visit');
    await owner.getByLabel('天数或次数').fill('5');
    await owner.getByLabel('送积分').fill('55');
    await owner.getByRole('button', { name: '保存自动营销' }).click();
    await expect(owner.getByRole('rowheader', { name: '第 5 次消费' })).toBeVisible();
    await expect(owner.getByText('送 55 积分')).toBeVisible();

    await owner.goto(`${baseUrl()}/admin/segments`);
    await expect(owner.getByRole('heading', { name: '会员分群', level: 1 })).toBeVisible();
    await expect(owner.getByRole('rowheader', { name: '重要价值' })).toBeVisible();
    await expect(owner.getByRole('heading', { name: '流失预警' })).toBeVisible();
    await expectAccessible(owner);
    await context.close();
  });

  test('the owner enters a provider template, sees what it costs and narrows the sending hours', async ({ browser }) => {
    const context = await browser.newContext({
      extraHTTPHeaders: { 'X-Test-Client-Ip': randomIp() },
      viewport: { width: 360, height: 740 },
    });
    const owner = await context.newPage();
    await owner.goto(`${baseUrl()}/admin`);
    await owner.getByLabel('账号').fill(demo().owner_login);
    await owner.getByLabel('密码').fill(demo().owner_password);
    await owner.getByRole('button', { name: '登录' }).click();
    await owner.getByRole('navigation').getByRole('link', { name: '短信', exact: true }).click();
    await expect(owner.getByRole('heading', { name: '短信', level: 1 })).toBeVisible();
    // The demo's own sign-in template, under its signature, one message long.
    await expect(owner.getByText('【山野小馆】您的验证码为123456，5分钟内有效，请勿告诉他人。')).toBeVisible();
    await expectAccessible(owner);

    const add = owner.locator('form', { has: owner.getByRole('heading', { name: '新增或替换模板' }) });
    await add.getByLabel('用于').selectOption('sign_in');
    await add.getByLabel('语言').selectOption('zh-TW');
    await add.getByLabel('服务商的模板编号').fill('SMS_E2E_TW');
    await add.getByLabel('模板内容（与审核通过的一致）').fill('您的驗證碼是${code}，5分鐘內有效');
    await add.getByRole('button', { name: '保存模板' }).click();
    await expect(owner.getByText('已保存')).toBeVisible();
    const saved = owner.locator('li', { hasText: 'SMS_E2E_TW' });
    await expect(saved.getByText('【山野小馆】您的驗證碼是123456，5分鐘內有效')).toBeVisible();
    await expect(saved.getByText('含签名共 25 字，按 1 条计费（每条 70 字，超出后每条 67 字）')).toBeVisible();

    // A sign-in template without the code is refused, in words.
    await add.getByLabel('语言').selectOption('en');
    await add.getByLabel('模板内容（与审核通过的一致）').fill('Welcome to {brand}');
    await add.getByRole('button', { name: '保存模板' }).click();
    await expect(owner.getByRole('alert')).toContainText('仅验证码可用且必须包含');

    const rules = owner.locator('section#rules');
    await rules.getByLabel('开始时间').fill('10:00');
    await rules.getByLabel('结束时间').fill('20:00');
    await rules.getByLabel('每日营销短信上限（超出的顺延到次日）').fill('300');
    await rules.getByRole('button', { name: '保存' }).click();
    await expect(owner.getByText('已保存')).toBeVisible();
    await expect(owner.locator('section#rules').getByLabel('开始时间')).toHaveValue('10:00');
    await expect(owner.locator('section#rules').getByLabel('每日营销短信上限（超出的顺延到次日）')).toHaveValue('300');
    const overflow = await owner.evaluate(() => document.documentElement.scrollWidth);
    expect(overflow, '/admin/messages scrolls sideways').toBeLessThanOrEqual(360);
    await expectAccessible(owner);
    await context.close();
  });
});
