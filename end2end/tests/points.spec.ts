import { test, expect, baseUrl, demo, joinDemo, posPurchase, expectAccessible } from './fixtures';

test.describe('points', () => {
  test('a purchase at the till shows on the card and in the history, in every language', async ({ page, context }) => {
    await joinDemo(page);
    // The cashier scans the rotating code from the member's screen.
    const code = await page.locator('.rotating-code .code-digits').getAttribute('data-code');
    const result = await posPurchase(code!, 128_00, `E2E-${Date.now()}-${Math.random()}`);
    expect(result.points_earned).toBe(128);

    await page.reload();
    await expect(page.locator('.mc-points')).toHaveText('128');
    await page.getByRole('link', { name: '积分明细' }).click();
    await expect(page).toHaveURL(`${baseUrl()}/r/${demo().brand_slug}/points`);
    await expect(page.locator('.balance-figure')).toHaveText('128');
    await expect(page.getByText('消费得积分')).toBeVisible();
    await expect(page.getByText('+128')).toBeVisible();
    await expect(page.getByText('再消费 ¥872 即可升级为银卡会员。')).toBeVisible();
    await expect(page.getByText(/128 积分有效期至 \d{4}-\d{2}-\d{2}。/)).toBeVisible();
    for (const lang of ['zh-CN', 'zh-TW', 'en']) {
      await context.addCookies([{ name: 'tc_lang', value: lang, url: baseUrl() }]);
      await page.reload();
      await expect(page.locator('html')).toHaveAttribute('lang', lang);
      await expectAccessible(page);
    }
    await expect(page.getByText('Spend ¥872 more to reach Silver.')).toBeVisible();
  });
});
