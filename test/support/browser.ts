import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { BrowserContext, Page } from 'playwright-core';
import { launchChromium } from '../../scripts/chromium.mjs';

/** Screenshots the console tests write (CI keeps the folder; docs/admin-console.md shows copies of them). */
export const SCREENSHOTS = process.env.CONSOLE_SCREENSHOTS_DIR ?? join('test-artifacts', 'console');

export interface Browser {
  context: BrowserContext;
  /** A fresh page: nothing of an earlier sign-in carries over (the console keeps credentials in memory only). */
  newPage(options?: { width?: number; height?: number }): Promise<Page>;
  screenshot(page: Page, name: string, options?: { fullPage?: boolean }): Promise<void>;
  close(): Promise<void>;
}

/** One Debian Chromium for a whole suite (scripts/chromium.mjs). */
export async function launchBrowser(): Promise<Browser> {
  const chromium = await launchChromium();
  chromium.context.setDefaultTimeout(15_000);
  mkdirSync(SCREENSHOTS, { recursive: true });
  return {
    context: chromium.context,
    async newPage(options = {}) {
      const page = await chromium.context.newPage();
      if (options.width) await page.setViewportSize({ width: options.width, height: options.height ?? 860 });
      return page;
    },
    async screenshot(page, name, options = {}) {
      await page.screenshot({ path: join(SCREENSHOTS, `${name}.png`), fullPage: options.fullPage ?? true });
    },
    close: () => chromium.close(),
  };
}
