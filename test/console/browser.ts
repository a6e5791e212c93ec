// Owns the console tests' browser: Debian's chromium driven by playwright-core, or a clear reason to skip.
import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import type { Browser, Page } from 'playwright-core';

/** Where chromium is: BBS_CHROMIUM, else Debian's package. No browser is downloaded (none can be, here). */
export const CHROMIUM = process.env.BBS_CHROMIUM ?? '/usr/bin/chromium';

/** A `skip` reason for node:test when there is no browser to drive, else false. */
export const NO_BROWSER: string | false = existsSync(CHROMIUM)
  ? false
  : `no chromium at ${CHROMIUM}: install Debian's chromium (apt-get install -y chromium; .ci/run does) or set BBS_CHROMIUM`;

/** Screenshots of each test's page, for a person to look at (git-ignored). */
export const SCREENSHOTS = fileURLToPath(new URL('./screenshots/', import.meta.url));

export async function launchBrowser(): Promise<Browser> {
  await mkdir(SCREENSHOTS, { recursive: true });
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    // As root (CI, this machine) chromium refuses to start with its sandbox.
    args: process.getuid?.() === 0 ? ['--no-sandbox'] : [],
  });
}

export async function screenshot(page: Page, name: string): Promise<void> {
  await page.screenshot({ path: path.join(SCREENSHOTS, `${name}.png`), fullPage: true });
}
