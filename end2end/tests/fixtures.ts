import { test as base, expect, type Page } from '@playwright/test';
import AxeBuilder from '@axe-core/playwright';

export type DemoTable = { store: string; label: string; token: string; url: string };
export type Demo = { brand_slug: string; portal_url: string; tables: DemoTable[] };

export const baseUrl = (): string => {
  const url = process.env.TABLECARD_E2E_URL;
  if (!url) throw new Error('global setup did not start the server');
  return url;
};

export const demo = (): Demo => JSON.parse(process.env.TABLECARD_E2E_DEMO ?? '{}');

/** Waits until the page's islands run WebAssembly (the language menu marks itself). */
export async function waitForHydration(page: Page): Promise<void> {
  await expect(page.locator('#lang-select[data-hydrated="true"]')).toBeAttached();
}

/** No WCAG 2.1 AA violation on the page as rendered. */
export async function expectAccessible(page: Page): Promise<void> {
  const results = await new AxeBuilder({ page }).withTags(['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']).analyze();
  expect(results.violations.map((v) => `${v.id}: ${v.help} (${v.nodes.length})`)).toEqual([]);
}

export const test = base;
export { expect };
