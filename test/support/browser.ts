import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';

/** Debian's Chromium (`.ci/run` installs the package); never a browser download. */
export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

/**
 * Flags for this machine: headless without a sandbox or GPU, and none of Chromium's own network traffic
 * (component updates, sync, QUIC probes), which the closed network would refuse and stall on.
 */
export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/** Screenshots the console tests write (CI keeps the folder; docs/admin-console.md shows copies of them). */
export const SCREENSHOTS = process.env.CONSOLE_SCREENSHOTS_DIR ?? join('test-artifacts', 'console');

export interface Browser {
  context: BrowserContext;
  /** A fresh page: nothing of an earlier sign-in carries over (the console keeps credentials in memory only). */
  newPage(options?: { width?: number; height?: number }): Promise<Page>;
  screenshot(page: Page, name: string, options?: { fullPage?: boolean }): Promise<void>;
  close(): Promise<void>;
}

/** One Chromium for a whole suite, with a user-data dir of its own removed on close. */
export async function launchBrowser(): Promise<Browser> {
  if (!existsSync(CHROMIUM)) {
    throw new Error(`${CHROMIUM} is missing: install Debian's package (apt-get install -y chromium; .ci/run does)`);
  }
  const userDataDir = mkdtempSync(join(tmpdir(), 'console-e2e-'));
  const context = await chromium.launchPersistentContext(userDataDir, {
    executablePath: CHROMIUM,
    headless: true,
    args: CHROMIUM_ARGS,
    viewport: { width: 1280, height: 860 },
    deviceScaleFactor: 1,
    locale: 'en-GB',
    timezoneId: 'UTC',
  });
  context.setDefaultTimeout(15_000);
  mkdirSync(SCREENSHOTS, { recursive: true });
  return {
    context,
    async newPage(options = {}) {
      const page = await context.newPage();
      if (options.width) await page.setViewportSize({ width: options.width, height: options.height ?? 860 });
      return page;
    },
    async screenshot(page, name, options = {}) {
      await page.screenshot({ path: join(SCREENSHOTS, `${name}.png`), fullPage: options.fullPage ?? true });
    },
    async close() {
      await context.close();
      rmSync(userDataDir, { recursive: true, force: true });
    },
  };
}
