/**
 * Messages as Markdown in a real browser (headless Chromium through
 * playwright-core), against gitchat running as a real process on 127.0.0.1:
 * formatting a person would notice, and a corpus of hostile Markdown that
 * must stay inert.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import type { Browser } from "playwright-core";
import { launchBrowser, openPage, type Watched } from "../support/browser.ts";
import { startServer, type RunningServer } from "../support/server.ts";
import { tempDir } from "../support/tmp.ts";

const LOCAL_ONLY = { GITHUB_TOKEN: "", GITHUB_USERNAME: "", GITHUB_REPO_NAME: "", REPOSITORY_NAME: "", ACCESS_TOKEN: "" };

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

const send = async (content: string, repository: string, type?: string) => {
  const response = await fetch(`${server.url}/messages`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ content, repository, ...(type ? { type } : {}) }),
  });
  expect(response.status).toBe(201);
  return ((await response.json()) as { id: string }).id;
};

const channel = async (owner: string, name: string) => {
  const response = await fetch(`${server.url}/repositories`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ owner, name }),
  });
  expect(response.status).toBe(201);
  return `${owner}/${name}`;
};

const open = async (path: string) => {
  const watched = await openPage(browser, server.url, {
    viewport: { width: 1280, height: 800 },
    permissions: ["clipboard-read", "clipboard-write"],
  });
  opened.push(watched);
  const response = await watched.page.goto(server.url + path);
  expect(response?.status()).toBe(200);
  return watched;
};

test("Markdown shows as formatting: bold, quotes, lists, a safe link, and a highlighted code block whose Copy button copies the code", async () => {
  const repository = await channel("md", "format");
  const code = 'const answer = 42; // "<b>"';
  const id = await send(`**Deploy** went _fine_, see https://example.com/log\n> as planned\n\n- one\n- two\n\n\`\`\`js\n${code}\n\`\`\``, repository);
  const { page, problems } = await open(`/c/${repository}`);
  const message = page.locator(`#messages li.message[data-id="${id}"] .content`);
  await message.waitFor();

  const seen = await message.evaluate((content) => {
    const link = content.querySelector("a");
    const keyword = content.querySelector("pre code .hljs-keyword") as HTMLElement | null;
    const codeText = content.querySelector("pre code") as HTMLElement;
    return {
      strong: content.querySelector("strong")?.textContent,
      em: content.querySelector("em")?.textContent,
      quote: content.querySelector("blockquote")?.textContent?.trim(),
      items: Array.from(content.querySelectorAll("ul li")).map((li) => li.textContent),
      link: link && { href: link.getAttribute("href"), rel: link.getAttribute("rel"), text: link.textContent },
      code: codeText.textContent,
      // Highlighted: the keyword has a colour of its own, not the code's.
      keywordColoured: keyword !== null && getComputedStyle(keyword).color !== getComputedStyle(codeText).color,
      monospace: getComputedStyle(codeText).fontFamily.includes("monospace"),
      dir: content.getAttribute("dir"),
    };
  });
  expect(seen).toEqual({
    strong: "Deploy",
    em: "fine",
    quote: "as planned",
    items: ["one", "two"],
    link: { href: "https://example.com/log", rel: "noopener noreferrer nofollow", text: "https://example.com/log" },
    code: `${code}\n`,
    keywordColoured: true,
    monospace: true,
    dir: "auto",
  });

  await message.locator(".code-block").hover();
  await message.locator("button.copy-code").click();
  await page.waitForFunction(() => document.querySelector("button.copy-code")?.textContent === "Copied");
  expect(await page.evaluate(() => navigator.clipboard.readText())).toBe(`${code}\n`);
  expect({ console: problems.console, pageErrors: problems.pageErrors, dialogs: problems.dialogs }).toEqual({ console: [], pageErrors: [], dialogs: [] });
}, 30_000);

test('a message of type "code" shows as a code block, its text exactly as sent', async () => {
  const repository = await channel("md", "code");
  const text = "**not bold**\n  <i>indented</i>";
  const id = await send(text, repository, "code");
  const { page } = await open(`/c/${repository}`);
  const block = page.locator(`#messages li.message[data-id="${id}"] .content pre code`);
  expect(await block.textContent()).toBe(text);
  expect(await page.locator(`#messages li.message[data-id="${id}"] .content strong, #messages li.message[data-id="${id}"] .content i`).count()).toBe(0);
}, 30_000);

test("a very tall message is folded with Show more, which unfolds all of it", async () => {
  const repository = await channel("md", "tall");
  const lines = Array.from({ length: 80 }, (_, i) => `line ${i + 1}`);
  const id = await send(lines.join("\n"), repository);
  const { page } = await open(`/c/${repository}`);
  const content = page.locator(`#messages li.message[data-id="${id}"] .content`);
  const more = page.locator(`#messages li.message[data-id="${id}"] button.show-more`);
  await more.waitFor();
  const hidden = () => content.evaluate((el) => el.scrollHeight - el.clientHeight);
  expect(await hidden()).toBeGreaterThan(0);
  await more.click();
  expect({ hidden: await hidden(), label: await more.textContent(), expanded: await more.getAttribute("aria-expanded") }).toEqual({
    hidden: 0,
    label: "Show less",
    expanded: "true",
  });
  expect(await content.innerText()).toBe(lines.join("\n"));
}, 30_000);

test("hostile Markdown is inert in Chromium: no dialog, no script, no request, no handler, only http(s) and mailto links, no text lost", async () => {
  const repository = await channel("md", "hostile");
  const evil = `${server.url}/evil`;
  const corpus = [
    "[click](javascript:alert(1))",
    "[click](JaVaScRiPt:alert(1))",
    "[click]( javascript:alert(1))",
    "[click](<javascript:alert(1)>)",
    "[click](jav&#x09;ascript:alert(1))",
    "[click](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)",
    "[click](vbscript:msgbox(1))",
    "[click](file:///etc/passwd)",
    `[click](https://ok.test "t\\" onmouseover=\\"alert(1))`,
    "<javascript:alert(1)>",
    "<script>alert(1)</script>",
    "<img src=x onerror=alert(1)>",
    `![a](${evil}.png)`,
    '![a](x" onerror="alert(1))',
    '<a href="javascript:alert(1)">x</a>',
    "**<svg onload=alert(1)>**",
    "<iframe src=javascript:alert(1)></iframe>",
    "<style>body{display:none}</style>",
    "```\n</code></pre><script>alert(1)</script>\n```",
    '```js\n"</span><img src=x onerror=alert(1)>\n```',
    "`<b onclick=alert(1)>`",
    'https://ok.test/"onmouseover="alert(1)',
    "**a _b** c_ ~~d **e~~ f**",
    `${"> ".repeat(3000)}deep quote end`,
    `${"- ".repeat(500)}deep list end`,
    `${"*".repeat(2000)}x${"_".repeat(2000)}`,
    `${"[".repeat(3000)}brackets`,
  ];
  const ids: string[] = [];
  for (const content of corpus) ids.push(await send(content, repository));
  const requests: string[] = [];
  const { page, problems } = await open(`/c/${repository}`);
  page.on("request", (request) => requests.push(request.url()));
  await page.locator(`#messages li.message[data-id="${ids.at(-1)}"]`).waitFor();
  // Hover and focus everything a person could: a handler that slipped through would run now.
  for (const link of await page.locator("#messages a").all()) {
    await link.hover();
    await link.focus();
  }
  const found = await page.evaluate(() => {
    const list = document.getElementById("messages")!;
    const handlers = Array.from(list.querySelectorAll("*")).flatMap((el) =>
      Array.from(el.attributes).filter((a) => a.name.startsWith("on")).map((a) => `${el.tagName} ${a.name}`),
    );
    return {
      dangerous: Array.from(list.querySelectorAll("script, img, svg, iframe, object, embed, style, form, input, math")).map((el) => el.tagName),
      handlers,
      badLinks: Array.from(list.querySelectorAll("a"))
        .filter((a) => !/^(https?:|mailto:)/.test(a.getAttribute("href") ?? "") || a.getAttribute("rel") !== "noopener noreferrer nofollow")
        .map((a) => a.outerHTML),
      hidden: getComputedStyle(document.body).display === "none",
    };
  });
  expect(found).toEqual({ dangerous: [], handlers: [], badLinks: [], hidden: false });
  const texts = await page.$$eval("#messages li.message .content", (items) => items.map((el) => (el as HTMLElement).innerText));
  for (const end of ["deep quote end", "deep list end", "brackets"]) expect(texts.some((t) => t.includes(end))).toBe(true);
  expect(requests.filter((url) => url.startsWith(evil))).toEqual([]);
  expect({ console: problems.console, pageErrors: problems.pageErrors, dialogs: problems.dialogs }).toEqual({ console: [], pageErrors: [], dialogs: [] });
}, 60_000);
