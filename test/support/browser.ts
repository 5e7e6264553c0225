/**
 * Debian's headless Chromium driven by playwright-core, for tests of the page.
 * Every page opened through `watch` records console errors, uncaught
 * exceptions and dialogs, so a test can assert the page ran cleanly.
 */
import { chromium, type Browser, type BrowserContext, type BrowserContextOptions, type Page } from "playwright-core";

export const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";

const FLAGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];

export const launchBrowser = (): Promise<Browser> =>
  chromium.launch({ executablePath: CHROMIUM, args: FLAGS, timeout: 30_000 });

/** What went wrong in the pages of one test: console errors (CSP violations among them), page errors, dialogs. */
export type PageProblems = { console: string[]; pageErrors: string[]; dialogs: string[] };

export type Watched = { context: BrowserContext; page: Page; problems: PageProblems };

/**
 * A new context and page that may talk to `origin` only (and the origins in
 * `also`, such as GitHub's stand-in): any request elsewhere is aborted and
 * reported as a problem.
 */
export const openPage = async (browser: Browser, origin: string, options: BrowserContextOptions = {}, also: string[] = []): Promise<Watched> => {
  const context = await browser.newContext(options);
  context.setDefaultTimeout(10_000);
  const problems: PageProblems = { console: [], pageErrors: [], dialogs: [] };
  await context.route("**/*", (route) => {
    const url = route.request().url();
    if ([origin, ...also].some((allowed) => url.startsWith(`${allowed}/`) || url === allowed)) return route.fallback();
    problems.console.push(`request outside ${origin}: ${url}`);
    return route.abort();
  });
  const page = await context.newPage();
  watch(page, problems);
  return { context, page, problems };
};

export const watch = (page: Page, problems: PageProblems) => {
  page.on("console", (message) => {
    if (message.type() === "error") problems.console.push(message.text());
  });
  page.on("pageerror", (error) => problems.pageErrors.push(error.message));
  page.on("dialog", (dialog) => {
    problems.dialogs.push(`${dialog.type()}: ${dialog.message()}`);
    void dialog.dismiss().catch(() => {});
  });
};
