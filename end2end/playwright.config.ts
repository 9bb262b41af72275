import { defineConfig } from '@playwright/test';

// Debian's Chromium, never a downloaded browser; the flags keep it from
// reaching for a network this machine does not have.
export default defineConfig({
  testDir: './tests',
  globalSetup: './global-setup.ts',
  globalTeardown: './global-teardown.ts',
  // A test's whole budget, not a performance goal: the longest walk (a
  // member's feedback, three axe scans included) takes 29 s on an idle
  // 2-core machine, and a busy one must not turn that into a failure.
  timeout: 90_000,
  expect: { timeout: 10_000 },
  fullyParallel: true,
  workers: 2,
  retries: 0,
  reporter: process.env.CI ? [['list']] : [['list']],
  use: {
    browserName: 'chromium',
    locale: 'zh-CN',
    viewport: { width: 390, height: 844 },
    isMobile: true,
    hasTouch: true,
    launchOptions: {
      executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
        '--disable-quic',
        '--no-first-run',
      ],
    },
    trace: 'off',
  },
  // Every test on each database: a server on SQLite and one on PostgreSQL
  // (when TABLECARD_TEST_POSTGRES_URL is set; otherwise the postgres
  // project's tests are skipped by name).
  projects: [{ name: 'sqlite' }, { name: 'postgres' }],
});
