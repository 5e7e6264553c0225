/**
 * Attachments on the page (issue 12): a file picked with the composer's
 * button or pasted is listed (with a remove button) until sent, and reaches a
 * second page live: an image shown inline with a bounded size, another file
 * as a download link with its name and size. Errors show inline. axe finds
 * no violation in any of these states. Headless Chromium against gitchat as
 * a real process.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import type { Browser, Page } from "playwright-core";
import { launchBrowser, openPage, type Watched } from "../support/browser.ts";
import { startServer, type RunningServer } from "../support/server.ts";
import { tempDir } from "../support/tmp.ts";
import { png } from "../support/png.ts";
import type { MessageView } from "../../src/messages/service.ts";

const LOCAL_ONLY = { GITHUB_TOKEN: "", GITHUB_USERNAME: "", GITHUB_REPO_NAME: "", REPOSITORY_NAME: "", ACCESS_TOKEN: "" };
const AXE = readFileSync(require.resolve("axe-core/axe.min.js"), "utf8");

let browser: Browser;
let server: RunningServer;
const opened: Watched[] = [];

beforeAll(async () => {
  [browser, server] = await Promise.all([launchBrowser(), startServer({ dataDir: tempDir(), env: LOCAL_ONLY })]);
}, 40_000);

afterAll(async () => {
  await Promise.all(opened.map((w) => w.context.close().catch(() => {})));
  await browser?.close();
  await server?.stop();
});

const open = async (path: string) => {
  const watched = await openPage(browser, server.url, { viewport: { width: 1280, height: 800 } });
  opened.push(watched);
  const response = await watched.page.goto(server.url + path);
  expect(response?.status()).toBe(200);
  return watched;
};

/** axe-core's violations on the page as it is now, one line each. */
const axe = async (page: Page) => {
  await page.evaluate(AXE);
  return page.evaluate(async () => {
    const result = await (window as unknown as { axe: { run: (root: Document) => Promise<{ violations: { id: string; nodes: { target: string[] }[] }[] }> } }).axe.run(document);
    return result.violations.map((v) => `${v.id}: ${v.nodes.map((n) => n.target.join(" ")).join(", ")}`);
  });
};

/** Picks `files` with the composer's button, as a person does. */
const pick = async (page: Page, files: { name: string; mimeType: string; buffer: Buffer }[]) => {
  const [chooser] = await Promise.all([page.waitForEvent("filechooser"), page.locator("#attach").click()]);
  await chooser.setFiles(files);
};

const pendingNames = (page: Page) => page.locator("#pending-files .file-name").allTextContents();

const clean = (w: Watched) => ({ console: w.problems.console, pageErrors: w.problems.pageErrors, dialogs: w.problems.dialogs });

test("a picked image and file, and a pasted screenshot, reach a second page: the image inline and bounded, the file as a download", async () => {
  const created = await fetch(`${server.url}/repositories`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ owner: "look", name: "files" }) });
  expect(created.status).toBe(201);
  const sender = await open("/c/look/files");
  const reader = await open("/c/look/files");
  const { page } = sender;

  // Picked: listed with a remove button before sending; one removed again.
  await pick(page, [
    { name: "chart.png", mimeType: "image/png", buffer: png(1200, 900) },
    { name: "notes.txt", mimeType: "text/plain", buffer: Buffer.from("line one\nline two\n") },
    { name: "wrong.csv", mimeType: "text/csv", buffer: Buffer.from("a,b\n") },
  ]);
  expect(await pendingNames(page)).toEqual(["chart.png", "notes.txt", "wrong.csv"]);
  expect(await axe(page)).toEqual([]);
  await page.getByRole("button", { name: "Remove wrong.csv" }).click();
  expect(await pendingNames(page)).toEqual(["chart.png", "notes.txt"]);
  await page.locator("#content").fill("the chart and my notes");
  await page.locator("#content").press("Enter");
  await page.waitForFunction(() => document.getElementById("pending-files")!.hidden);

  // The second page gets it live: the image shown (loaded, within the preview's bounds), the file as a download link.
  const image = reader.page.locator('#messages li.message img[alt="chart.png"]');
  await reader.page.waitForFunction(() => {
    const img = document.querySelector<HTMLImageElement>('#messages li.message img[alt="chart.png"]');
    return img !== null && img.complete && img.naturalWidth === 1200;
  });
  // Its size in pixels is in the page before it loads (no jump when it does), and the preview is bounded.
  expect([await image.getAttribute("width"), await image.getAttribute("height")]).toEqual(["1200", "900"]);
  const box = (await image.boundingBox())!;
  expect({ bounded: box.width <= 360 && box.height <= 240, shown: box.width > 100 }).toEqual({ bounded: true, shown: true });
  const link = reader.page.locator("#messages li.message a.attachment-file");
  expect(await link.textContent()).toBe("notes.txt 18 B");
  expect(await link.getAttribute("download")).toBe("notes.txt");
  expect(await reader.page.locator("#messages").innerText()).not.toContain("wrong.csv");

  // Pasted, with no text: a message of the screenshot alone.
  const screenshot = [...png(64, 48)];
  await page.locator("#content").focus();
  await page.evaluate((bytes) => {
    const data = new DataTransfer();
    data.items.add(new File([new Uint8Array(bytes)], "image.png", { type: "image/png" }));
    document.getElementById("content")!.dispatchEvent(new ClipboardEvent("paste", { clipboardData: data, bubbles: true, cancelable: true }));
  }, screenshot);
  expect(await pendingNames(page)).toEqual(["image.png"]);
  await page.locator("#content").press("Enter");
  await reader.page.waitForFunction(() => {
    const img = document.querySelector<HTMLImageElement>('#messages li.message img[alt="image.png"]');
    return img !== null && img.complete && img.naturalWidth === 64;
  });
  expect(await axe(reader.page)).toEqual([]);

  // Dropped on the conversation: listed, as a picked file is.
  await page.evaluate(() => {
    const data = new DataTransfer();
    data.items.add(new File(["dropped text"], "dropped.txt", { type: "text/plain" }));
    const log = document.getElementById("log")!;
    log.dispatchEvent(new DragEvent("dragover", { dataTransfer: data, bubbles: true, cancelable: true }));
    log.dispatchEvent(new DragEvent("drop", { dataTransfer: data, bubbles: true, cancelable: true }));
  });
  expect(await pendingNames(page)).toEqual(["dropped.txt"]);
  expect([clean(sender), clean(reader)]).toEqual([
    { console: [], pageErrors: [], dialogs: [] },
    { console: [], pageErrors: [], dialogs: [] },
  ]);
}, 60_000);

test("a file too big is refused at once, a file the server refuses shows its reason inline and is kept to send again", async () => {
  const watched = await open("/c/local/general");
  const { page } = watched;
  const before = await page.locator("#messages li.message").count();
  await pick(page, [{ name: "huge.png", mimeType: "image/png", buffer: Buffer.alloc(10 * 1024 * 1024 + 1) }]);
  expect(await page.locator("#composer-error").innerText()).toBe("huge.png is 10.0 MB; an image may be at most 10.0 MB");
  expect(await pendingNames(page)).toEqual([]);

  // Not a PNG, whatever its type says: only the server looks inside.
  await pick(page, [{ name: "fake.png", mimeType: "image/png", buffer: Buffer.from("<html>not an image</html>") }]);
  await page.locator("#content").fill("look at this");
  await page.locator("#content").press("Enter");
  await page.waitForFunction(() => document.getElementById("composer-error")!.textContent !== "");
  expect(await page.locator("#composer-error").innerText()).toBe('"fake.png" is not a PNG image, as its type says');
  expect(await pendingNames(page)).toEqual(["fake.png"]);
  expect(await page.locator("#content").inputValue()).toBe("look at this");
  expect(await page.locator("#messages li.message").count()).toBe(before);
  expect(await axe(page)).toEqual([]);
}, 60_000);

test("a message with files whose answer was lost is stored once when sent again as it was; sent with other files, it is a message of its own", async () => {
  const created = await fetch(`${server.url}/repositories`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ owner: "look", name: "retry" }) });
  expect(created.status).toBe(201);
  const { page } = await open("/c/look/retry");
  // The server stores the message; its answer never reaches the page.
  let lose = true;
  await page.route("**/c/look/retry/messages", async (route) => {
    if (route.request().method() !== "POST" || !lose) return route.fallback();
    lose = false;
    expect((await route.fetch()).status()).toBe(201);
    await route.abort("connectionreset");
  });
  const stored = async () =>
    ((await (await fetch(`${server.url}/messages?repository=look/retry`)).json()) as MessageView[]).map((m) => [m.content, m.attachments.map((a) => a.name)]);
  const sendLosingTheAnswer = async (text: string, name: string) => {
    lose = true;
    await pick(page, [{ name, mimeType: "text/plain", buffer: Buffer.from(`${name}\n`) }]);
    await page.locator("#content").fill(text);
    await page.locator("#content").press("Enter");
    await page.waitForFunction(() => /reach the server/.test(document.getElementById("composer-error")!.textContent ?? ""));
    expect([await page.locator("#content").inputValue(), await pendingNames(page)]).toEqual([text, [name]]);
  };

  await sendLosingTheAnswer("with a file", "a.txt");
  await page.locator("#content").press("Enter");
  await page.waitForFunction(() => document.getElementById("pending-files")!.hidden && (document.getElementById("content") as HTMLTextAreaElement).value === "");
  await page.waitForFunction(() => document.querySelectorAll("#messages li.message:not(.pending)").length === 1);
  expect(await stored()).toEqual([["with a file", ["a.txt"]]]);

  await sendLosingTheAnswer("again", "b.txt");
  await page.getByRole("button", { name: "Remove b.txt" }).click();
  await page.locator("#content").press("Enter");
  await page.waitForFunction(() => document.querySelectorAll("#messages li.message:not(.pending)").length === 3);
  expect(await page.locator("#composer-error").textContent()).toBe("");
  expect(await stored()).toEqual([["with a file", ["a.txt"]], ["again", ["b.txt"]], ["again", []]]);
}, 60_000);
