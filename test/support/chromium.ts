/**
 * Debian's Chromium, headless through playwright-core, for the tests that open real report files. No
 * network: only file:// and data: loads, background services off.
 */
import { join } from 'node:path';
import { type BrowserContext, chromium, type Page } from 'playwright-core';

export const CHROMIUM_PATH = '/usr/bin/chromium';

/** A persistent context whose profile lives in `profileDir` (a temporary folder of the test). */
export function launchChromium(profileDir: string): Promise<BrowserContext> {
  return chromium.launchPersistentContext(join(profileDir, 'profile'), {
    executablePath: CHROMIUM_PATH,
    headless: true,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
      '--disable-quic',
    ],
    viewport: { width: 1400, height: 1000 },
  });
}

/** Opens a report file and waits for its script to finish its first drawing; page errors are collected. */
export async function openReportPage(
  context: BrowserContext,
  path: string,
): Promise<{ page: Page; problems: string[] }> {
  const page = await context.newPage();
  const problems: string[] = [];
  page.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
  page.on('console', (message) => {
    if (message.type() === 'error') problems.push(`console error: ${message.text()}`);
  });
  page.on('request', (request) => {
    if (!request.url().startsWith('file://') && !request.url().startsWith('data:'))
      problems.push(`network request: ${request.url()}`);
  });
  await page.goto(`file://${path}`);
  await page.waitForSelector('body[data-ready="true"]', { timeout: 20_000 });
  return { page, problems };
}
