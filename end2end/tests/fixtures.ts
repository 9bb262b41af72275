import { test as base, expect, type Page } from '@playwright/test';
import AxeBuilder from '@axe-core/playwright';

export type DemoTable = { store: string; label: string; token: string; url: string };
export type Demo = {
  brand_slug: string;
  portal_url: string;
  tables: DemoTable[];
  owner_login: string;
  owner_password: string;
};

type Server = { url: string; posKey: string; demo: Demo };

/** The server of the running test's project: `sqlite` or `postgres`. */
function server(): Server {
  const project = base.info().project.name;
  const json = process.env[`TABLECARD_E2E_${project.toUpperCase()}`];
  if (!json) throw new Error(`global setup started no server for the ${project} project`);
  return JSON.parse(json);
}

export const baseUrl = (): string => server().url;

export const demo = (): Demo => server().demo;

/** Waits until the page's islands run WebAssembly (the language menu marks itself). */
export async function waitForHydration(page: Page): Promise<void> {
  await expect(page.locator('#lang-select[data-hydrated="true"]')).toBeAttached();
}

/** No WCAG 2.2 AA violation on the page as rendered (target size included). */
export async function expectAccessible(page: Page): Promise<void> {
  const results = await new AxeBuilder({ page })
    .withTags(['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa'])
    .analyze();
  expect(
    results.violations.map((v) => `${page.url()} ${v.id}: ${v.help} (${v.nodes.map((n) => n.target.join(' ')).join(', ')})`),
  ).toEqual([]);
}

const hookUrl = (): string => {
  const url = process.env.TABLECARD_E2E_HOOK;
  if (!url) throw new Error('global setup did not start the SMS receiver');
  return url;
};

/** A mainland mobile number no other test uses. */
export function uniquePhone(): string {
  const n = Math.floor(Math.random() * 1e8).toString().padStart(8, '0');
  return `139${n}`;
}

/** The newest code the stand-in SMS provider received for a phone. */
export async function codeFor(national: string, previous?: string): Promise<string> {
  const until = Date.now() + 10_000;
  while (Date.now() < until) {
    const res = await fetch(`${hookUrl()}/codes?phone=${encodeURIComponent('+86' + national)}`);
    if (res.ok) {
      const { code } = await res.json();
      if (code && code !== previous) return code;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`no code arrived for ${national}`);
}

/** Joins the demo brand from the phone step to the card; returns the phone. */
export async function joinDemo(page: Page, phone = uniquePhone()): Promise<string> {
  await page.goto(`${baseUrl()}/r/${demo().brand_slug}/join`);
  await page.getByLabel('手机号').fill(phone);
  await page.getByRole('button', { name: '获取验证码' }).click();
  await expect(page.getByText('验证码已发送至')).toBeVisible();
  await page.getByLabel('6 位验证码').fill(await codeFor(phone));
  await page.getByLabel('我已阅读并同意会员条款和隐私政策（必选）').check();
  await page.getByRole('button', { name: '登录' }).click();
  await expect(page).toHaveURL(/\/card\?welcome=1$/);
  return phone;
}

/** A POST to the POS API with the till's key (store SH01 of the demo brand). */
export async function posPost(path: string, key: string, body: unknown): Promise<Record<string, unknown>> {
  const res = await fetch(`${baseUrl()}/api/v1${path}`, {
    method: 'POST',
    headers: {
      authorization: `Bearer ${server().posKey}`,
      'content-type': 'application/json',
      'idempotency-key': key,
    },
    body: JSON.stringify(body),
  });
  if (!res.ok) throw new Error(`${path} failed: ${res.status} ${await res.text()}`);
  return res.json();
}

/** Records a purchase through the POS API, as the restaurant's till would. */
export async function posPurchase(member: string, amountFen: number, orderId: string): Promise<Record<string, unknown>> {
  return posPost('/purchases', orderId, { order_id: orderId, member, amount_fen: amountFen });
}

export const randomIp = (): string =>
  `10.${Math.floor(Math.random() * 256)}.${Math.floor(Math.random() * 256)}.${1 + Math.floor(Math.random() * 254)}`;

/**
 * Every test comes from its own client address (see global setup); in the
 * postgres project, a test without a PostgreSQL server is skipped, by name.
 */
export const test = base.extend<{ database: void }>({
  extraHTTPHeaders: async ({}, use) => {
    await use({ 'X-Test-Client-Ip': randomIp() });
  },
  database: [
    async ({}, use, testInfo) => {
      testInfo.skip(
        testInfo.project.name === 'postgres' && !process.env.TABLECARD_E2E_POSTGRES,
        'needs PostgreSQL: set TABLECARD_TEST_POSTGRES_URL',
      );
      await use();
    },
    { auto: true },
  ],
});
export { expect };
