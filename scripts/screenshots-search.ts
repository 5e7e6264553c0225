/**
 * Screenshots of the page's search (docs/search-*.png): results open, and a
 * message opened by its link far back in its channel; at 1280 and 375 px
 * wide, in the light and the dark theme. gitchat runs as a real process on a
 * temporary data directory, with a short conversation sent through the API.
 *
 *   bun scripts/screenshots-search.ts
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { launchBrowser } from "../test/support/browser.ts";
import { ROOT, startServer } from "../test/support/server.ts";

const dataDir = mkdtempSync(join(tmpdir(), "gitchat-screenshots-"));
const server = await startServer({ dataDir, env: { GITHUB_TOKEN: "", GITHUB_USERNAME: "", GITHUB_REPO_NAME: "", REPOSITORY_NAME: "", ACCESS_TOKEN: "" } });
const browser = await launchBrowser();
try {
  const post = async (path: string, body: unknown) => {
    const answer = await fetch(server.url + path, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
    if (!answer.ok) throw new Error(`${path}: ${answer.status} ${await answer.text()}`);
    return (await answer.json()) as { id: string };
  };
  await post("/repositories", { owner: "acme", name: "ops" });
  for (let i = 1; i <= 30; i++) await post("/messages", { repository: "acme/ops", content: `nightly backup ${i}: done` });
  const linked = await post("/messages", { repository: "acme/ops", content: "The deploy of 2.4 went out fine; rollback notes: https://wiki.example/rollback" });
  for (let i = 1; i <= 80; i++) await post("/messages", { repository: "acme/ops", content: i % 20 === 0 ? `deploy ${i / 20} of the day is queued` : `status check ${i}: all green` });
  await post("/messages", { content: "Has anyone seen why the deploy is slow? `git log --oneline` shows nothing odd" });
  await post("/messages", { content: "Lunch at noon?" });

  for (const [width, height, suffix] of [[1280, 800, "desktop"], [375, 740, "375"]] as const) {
    for (const theme of ["light", "dark"]) {
      const context = await browser.newContext({ viewport: { width, height }, colorScheme: theme as "light" | "dark", isMobile: width < 400 });
      const page = await context.newPage();
      await page.goto(`${server.url}/c/local/general`);
      await page.locator("#search-box").fill("deploy");
      await page.locator("#search-box").press("Enter");
      await page.waitForFunction(() => document.querySelectorAll("#search-results li.result").length > 0);
      await page.screenshot({ path: join(ROOT, "docs", `search-results-${suffix}-${theme}.png`) });
      await page.goto(`${server.url}/c/acme/ops#m-${linked.id}`);
      await page.waitForFunction((id) => document.getElementById(`m-${id}`)?.classList.contains("highlighted"), linked.id);
      await page.screenshot({ path: join(ROOT, "docs", `search-link-${suffix}-${theme}.png`) });
      await context.close();
    }
  }
} finally {
  await browser.close();
  await server.stop();
  rmSync(dataDir, { recursive: true, force: true });
}
