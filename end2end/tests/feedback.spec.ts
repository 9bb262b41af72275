import { test, expect, baseUrl, demo, joinDemo, randomIp, expectAccessible, waitForHydration } from './fixtures';
import type { Page } from '@playwright/test';

/** Presses Tab until the focused element matches, as a keyboard user would. */
async function tabTo(page: Page, source: string): Promise<void> {
  for (let i = 0; i < 40; i++) {
    await page.keyboard.press('Tab');
    const hit = await page.evaluate(`(${source})(document.activeElement)`);
    if (hit) return;
  }
  throw new Error(`Tab never reached ${source}`);
}

test.describe('feedback', () => {
  test('a member sends feedback by keyboard alone, earns points and reads the reply', async ({ page, browser }) => {
    await joinDemo(page);
    const slug = demo().brand_slug;
    await page.goto(`${baseUrl()}/r/${slug}/feedback`);
    await expect(page.getByText('你有多大可能向朋友推荐我们？')).toBeVisible();
    await waitForHydration(page);
    await expectAccessible(page);

    // The 0–10 scale and the stars are radio groups: Tab in, arrows choose.
    await tabTo(page, "(el) => el && el.name === 'nps'");
    for (let i = 0; i < 9; i++) await page.keyboard.press('ArrowRight');
    await expect(page.locator('#nps-9')).toBeChecked();
    await page.keyboard.press('Tab');
    for (let i = 0; i < 4; i++) await page.keyboard.press('ArrowRight');
    await expect(page.locator('#food-5')).toBeChecked();
    await tabTo(page, "(el) => el && el.id === 'comment'");
    await page.keyboard.type('鱼很新鲜，服务也热情。');
    await expect(page.locator('#comment-count')).toHaveText('11 / 1000 字');
    await tabTo(page, "(el) => el && el.type === 'submit'");
    await page.keyboard.press('Enter');

    await expect(page.getByRole('heading', { name: '谢谢你的反馈！' })).toBeVisible();
    await expect(page.getByText('+10 积分已到账')).toBeVisible();
    await expectAccessible(page);

    // The owner answers from the console, in a browser of their own.
    const staff = await browser.newContext({ extraHTTPHeaders: { 'X-Test-Client-Ip': randomIp() } });
    const console = await staff.newPage();
    await console.goto(`${baseUrl()}/admin`);
    await expectAccessible(console);
    await console.getByLabel('账号').fill(demo().owner_login);
    await console.getByLabel('密码').fill(demo().owner_password);
    await console.getByRole('button', { name: '登录' }).click();
    await expect(console.getByRole('heading', { name: '概览' })).toBeVisible();
    await expect(console.getByText('鱼很新鲜，服务也热情。')).toBeVisible();
    await expectAccessible(console);
    await console.getByRole('navigation').getByRole('link', { name: '顾客反馈' }).click();
    await expect(console.getByRole('heading', { name: '顾客反馈' })).toBeVisible();
    const item = console.locator('.inbox-item', { hasText: '鱼很新鲜，服务也热情。' });
    await item.getByLabel('回复顾客').fill('谢谢夸奖，期待你再来！');
    await item.getByRole('button', { name: '发送回复' }).click();
    await expect(console.getByText('回复已发送')).toBeVisible();
    await expectAccessible(console);
    await console.getByRole('link', { name: 'NPS 报表' }).click();
    await expect(console.getByRole('heading', { name: 'NPS 报表' })).toBeVisible();
    await expectAccessible(console);
    await console.getByRole('link', { name: 'API 密钥' }).click();
    await expect(console.getByRole('heading', { name: 'API 密钥' })).toBeVisible();
    await expectAccessible(console);
    await staff.close();

    await page.goto(`${baseUrl()}/r/${slug}/card`);
    await expect(page.locator('.mc-points')).toHaveText('10');
    await expect(page.getByText('1 条新回复')).toBeVisible();
    await page.getByRole('link', { name: '我的反馈' }).click();
    await expect(page.getByText('谢谢夸奖，期待你再来！')).toBeVisible();
    await expectAccessible(page);
  });

  test('a guest at a table sends feedback with JavaScript switched off', async ({ browser }) => {
    const context = await browser.newContext({
      javaScriptEnabled: false,
      extraHTTPHeaders: { 'X-Test-Client-Ip': randomIp() },
    });
    const page = await context.newPage();
    const table = demo().tables[0];
    await page.goto(`${baseUrl()}/t/${table.token}`);
    await page.getByRole('link', { name: '写反馈' }).click();
    await expect(page.getByText(`${table.store}`)).toBeVisible();
    await page.locator('label[for="nps-6"]').click();
    await page.locator('label[for="service-2"]').click();
    await page.getByLabel('想对我们说的话（选填）').fill('等位太久了');
    await page.getByLabel('手机号（选填，方便我们回复你）').fill('13900139000');
    await page.getByRole('button', { name: '提交反馈' }).click();
    await expect(page.getByRole('heading', { name: '谢谢你的反馈！' })).toBeVisible();
    await expect(page.getByRole('heading', { name: '加入会员，反馈也有回报' })).toBeVisible();
    await context.close();
  });
});
