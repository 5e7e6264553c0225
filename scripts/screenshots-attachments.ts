/**
 * Screenshots of the page's attachment states (issue 12) for docs/: a
 * conversation with an image and a file, and the composer holding files about
 * to be sent, at 1280 px and 375 px, in the light and dark themes.
 * Run: bun scripts/screenshots-attachments.ts (needs Debian's chromium).
 */
import { join } from "node:path";
import { launchBrowser } from "../test/support/browser.ts";
import { startServer } from "../test/support/server.ts";
import { png } from "../test/support/png.ts";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";

const OUT = join(import.meta.dir, "..", "docs");
const LOCAL_ONLY = { GITHUB_TOKEN: "", GITHUB_USERNAME: "", GITHUB_REPO_NAME: "", REPOSITORY_NAME: "", ACCESS_TOKEN: "" };

/** A PNG of a few coloured bars, as a chart might look. */
const chart = (width: number, height: number) => {
  const bars = [0.35, 0.6, 0.45, 0.8, 0.7, 0.95];
  return png(width, height, (x, y) => {
    const bar = Math.floor((x / width) * bars.length);
    return x % Math.floor(width / bars.length) > 8 && y > height * (1 - bars[bar]!) ? [9, 105, 218] : [246, 248, 250];
  });
};

const dataDir = mkdtempSync(join(tmpdir(), "gitchat-screenshots-"));
const server = await startServer({ dataDir, env: LOCAL_ONLY });
const browser = await launchBrowser();
try {
  const send = async (form: FormData) => {
    const response = await fetch(`${server.url}/messages`, { method: "POST", body: form });
    if (response.status !== 201) throw new Error(`send: ${response.status} ${await response.text()}`);
  };
  const text = (content: string) => {
    const form = new FormData();
    form.append("content", content);
    return form;
  };
  await send(text("Here is this week's load test: p99 went down after the index change."));
  const withFiles = text("The chart, and the raw numbers:");
  withFiles.append("file", new File([chart(960, 540)], "latency-p99.png", { type: "image/png" }));
  withFiles.append("file", new File(["run,p50,p99\n1,2.1,9.8\n2,2.0,7.4\n"], "load-test-results.csv", { type: "text/csv" }));
  await send(withFiles);
  await send(text("Nice. Shipping it."));

  for (const [label, viewport] of [["desktop", { width: 1280, height: 800 }], ["mobile", { width: 375, height: 740 }]] as const) {
    for (const theme of ["light", "dark"] as const) {
      const context = await browser.newContext({ viewport, colorScheme: theme, deviceScaleFactor: 1 });
      const page = await context.newPage();
      await page.goto(`${server.url}/`);
      await page.waitForFunction(() => Array.from(document.querySelectorAll<HTMLImageElement>("#messages img")).every((img) => img.complete && img.naturalWidth > 0));
      const [chooser] = await Promise.all([page.waitForEvent("filechooser"), page.locator("#attach").click()]);
      await chooser.setFiles([
        { name: "screenshot-2026-11-25.png", mimeType: "image/png", buffer: chart(640, 360) },
        { name: "notes.md", mimeType: "text/markdown", buffer: Buffer.from("# Notes\n") },
      ]);
      await page.locator("#content").fill("And the dashboard after the deploy");
      await page.screenshot({ path: join(OUT, `attachments-${label}-${theme}.png`) });
      await context.close();
    }
  }
  console.log(`screenshots in ${OUT}`);
} finally {
  await browser.close();
  await server.stop();
  rmSync(dataDir, { recursive: true, force: true });
}
