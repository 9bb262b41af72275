import { test, expect, baseUrl, demo, joinDemo, posPost, posPurchase, expectAccessible } from './fixtures';

test.describe('coupons', () => {
  test('a member claims one coupon, buys another with points, and the till redeems one', async ({ page }) => {
    await joinDemo(page);
    const slug = demo().brand_slug;
    const code = await page.locator('.rotating-code .code-digits').getAttribute('data-code');
    await posPurchase(code!, 150_00, `E2E-${Date.now()}-${Math.random()}`);

    // From the card to the wallet: the welcome gift is already there.
    await page.reload();
    await page.getByRole('link', { name: '我的优惠券' }).click();
    await expect(page).toHaveURL(`${baseUrl()}/r/${slug}/coupons`);
    await expect(page.locator('.coupon', { hasText: '10元代金券' })).toBeVisible();
    await expectAccessible(page);

    // The claim centre: one free, one for 100 of the 150 points.
    await page.getByRole('link', { name: '领券中心' }).click();
    await expect(page.locator('.balance-figure')).toHaveText('150');
    await expectAccessible(page);
    await page.locator('li.offer', { hasText: '满200减50' }).getByRole('button', { name: '免费领取' }).click();
    await expect(page.getByText('领取成功，优惠券已放入你的券包。')).toBeVisible();
    await expect(page.locator('h1')).toHaveText('满200减50');
    await expect(page.locator('.qr svg')).toBeVisible();
    const claimed = (await page.locator('.code-digits').textContent())!.trim();
    await expectAccessible(page);

    await page.goto(`${baseUrl()}/r/${slug}/claim`);
    await page.locator('li.offer', { hasText: '赠送酸梅汤' }).getByRole('button', { name: '用 100 积分兑换' }).click();
    await expect(page.getByText('兑换成功，积分已扣除，优惠券已放入你的券包。')).toBeVisible();
    await page.goto(`${baseUrl()}/r/${slug}/claim`);
    await expect(page.locator('.balance-figure')).toHaveText('50');

    await page.goto(`${baseUrl()}/r/${slug}/coupons`);
    for (const title of ['10元代金券', '满200减50', '赠送酸梅汤']) {
      await expect(page.locator('.coupon', { hasText: title })).toBeVisible();
    }

    // The till redeems the 满200减50 on a ¥268 bill.
    const used = await posPost('/coupons/redeem', `E2E-C-${Date.now()}-${Math.random()}`, {
      code: claimed,
      order_id: `E2E-C-${Date.now()}`,
      amount_fen: 268_00,
    });
    expect(used.discount_fen).toBe(50_00);

    await page.reload();
    await expect(page.locator('.coupon', { hasText: '满200减50' })).toHaveCount(0);
    await page.getByRole('link', { name: /已使用/ }).click();
    const usedCoupon = page.locator('.coupon', { hasText: '满200减50' });
    await expect(usedCoupon).toBeVisible();
    await expect(usedCoupon).toContainText(/\d{4}-\d{2}-\d{2} 在 人民广场店 使用/);
    await expectAccessible(page);
  });
});
