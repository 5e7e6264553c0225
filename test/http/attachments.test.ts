/**
 * Attachments through the API (issue 12): POST /messages as multipart/form-data
 * commits each file beside its message, lists it in `attachments`, and serves
 * it back from git; every bad upload is a 4xx that adds no commit and no row.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { randomBytes } from "node:crypto";

import type { Gitchat } from "../../src/gitchat.ts";
import { databasePath, dropDatabase } from "../../src/gitchat.ts";
import type { MessageView } from "../../src/messages/service.ts";
import { accountHeaders, call, callWith, openTestGitchat, type Answer } from "../support/app.ts";
import { tempDir } from "../support/tmp.ts";
import { existsSync } from "node:fs";

const TOKEN = "attachments-access-token";

/** A real (1x1) PNG, and bytes that only claim to be one. */
export const PNG = Uint8Array.from(
  Buffer.from("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==", "base64"),
);

let gitchat: Gitchat;
let dataDir: string;
const as: Record<string, Record<string, string>> = {};

beforeAll(async () => {
  dataDir = tempDir();
  gitchat = await openTestGitchat({ dataDir, env: { ACCESS_TOKEN: TOKEN } });
  for (const login of ["ada", "bo"]) as[login] = accountHeaders(gitchat, login);
  expect((await call(gitchat, "POST", "/repositories", { owner: "acme", name: "secret", private: true }, as.ada)).status).toBe(201);
});
afterAll(() => gitchat.close());

type Part = [name: string, value: string | File];

/** POST /messages with a multipart body of `parts`, as `who`. */
const upload = (parts: Part[], who = "ada"): Promise<Answer> => {
  const form = new FormData();
  for (const [name, value] of parts) form.append(name, value);
  return callWith(gitchat, "POST", "/messages", { body: form, headers: as[who] });
};

const get = (url: string, who = "ada") => gitchat.app.handle(new Request(`http://localhost${url}`, { headers: as[who] }));

const file = (bytes: Uint8Array | string, name: string, type: string) => new File([bytes as Uint8Array<ArrayBuffer>], name, { type });

const git = async (args: string[]) => {
  const proc = Bun.spawn(["git", ...args], { stdout: "pipe", stderr: "pipe", env: { ...process.env, GIT_CONFIG_NOSYSTEM: "1", HOME: "/nonexistent" } });
  const [stdout, code] = await Promise.all([new Response(proc.stdout).bytes(), proc.exited]);
  expect(code).toBe(0);
  return stdout;
};
const gitdir = (repository: string) => gitchat.repositories.resolve(repository).store.gitdir;

/** What a bad upload must leave alone: the channel's head and the number of messages. */
const state = async (repository = "local/general") => ({
  head: await gitchat.repositories.resolve(repository).store.head(),
  count: gitchat.db.countMessages(),
});

describe("sending files with a message", () => {
  test("one image: listed in the message, committed beside its file, served back byte for byte, inline", async () => {
    const answer = await upload([["content", "the build is green"], ["file", file(PNG, "screen shot.png", "image/png")]]);
    expect(answer.status).toBe(201);
    const m = answer.body as MessageView;
    expect(m.content).toBe("the build is green");
    // An image says its size in pixels, read from its header.
    expect(m.attachments).toEqual([{ name: "screen shot.png", type: "image/png", size: PNG.byteLength, url: `/messages/${m.id}/attachments/0`, width: 1, height: 1 }]);

    // In git, in the commit of the message, beside its file: the same bytes as plain git reads them.
    const day = m.timestamp.slice(0, 10).replaceAll("-", "/");
    const messageFile = JSON.parse(new TextDecoder().decode(await git(["--git-dir", gitdir("local/general"), "show", `${m.git_hash}:messages/${day}/000/${m.id}.json`])));
    expect(messageFile.attachments).toEqual([{ name: "screen shot.png", type: "image/png", size: PNG.byteLength, path: `${m.id}.files/0-screen shot.png` }]);
    const stored = await git(["--git-dir", gitdir("local/general"), "show", `${m.git_hash}:messages/${day}/000/${m.id}.files/0-screen shot.png`]);
    expect(Buffer.from(stored).equals(Buffer.from(PNG))).toBe(true);

    const served = await get(m.attachments[0]!.url);
    expect(served.status).toBe(200);
    expect(served.headers.get("content-type")).toBe("image/png");
    expect(served.headers.get("x-content-type-options")).toBe("nosniff");
    expect(served.headers.get("content-disposition")).toStartWith("inline;");
    expect(Buffer.from(await served.bytes()).equals(Buffer.from(PNG))).toBe(true);
  });

  test("two files: both listed in order, in one commit; a file that is not an image is served only as a download", async () => {
    const pdf = randomBytes(4096);
    const answer = await upload([
      ["content", "notes and a screenshot"],
      ["file", file(pdf, "notes.pdf", "application/pdf")],
      ["file", file(PNG, "shot.png", "image/png")],
    ]);
    expect(answer.status).toBe(201);
    const m = answer.body as MessageView;
    expect(m.attachments.map((a) => [a.name, a.type, a.size])).toEqual([["notes.pdf", "application/pdf", 4096], ["shot.png", "image/png", PNG.byteLength]]);
    const tree = new TextDecoder().decode(await git(["--git-dir", gitdir("local/general"), "ls-tree", "-r", "--name-only", m.git_hash]));
    expect(tree.split("\n").filter((p) => p.includes(m.id)).map((p) => p.slice(p.indexOf(m.id)))).toEqual([
      `${m.id}.files/0-notes.pdf`,
      `${m.id}.files/1-shot.png`,
      `${m.id}.json`,
    ]);
    const served = await get(m.attachments[0]!.url);
    expect([served.status, served.headers.get("content-type"), served.headers.get("content-disposition")]).toEqual([
      200,
      "application/pdf",
      `attachment; filename="notes.pdf"; filename*=UTF-8''notes.pdf`,
    ]);
    expect(Buffer.from(await served.bytes()).equals(pdf)).toBe(true);
    // The listing shows them too.
    const listed = (await call(gitchat, "GET", "/messages?limit=5", undefined, as.ada)).body as MessageView[];
    expect(listed.find((l) => l.id === m.id)!.attachments).toEqual(m.attachments);
  });

  test("a message may be files alone, with no text", async () => {
    const answer = await upload([["file", file("id,name\n1,ada\n", "people.csv", "text/csv")]]);
    expect(answer.status).toBe(201);
    const m = answer.body as MessageView;
    expect([m.content, m.attachments.map((a) => a.type)]).toEqual(["", ["text/csv"]]);
  });

  test("sent again with the same Idempotency-Key, a message with files is the first one back; with other files under that key, refused", async () => {
    const key = { "idempotency-key": "files-once" };
    const parts = (bytes: Uint8Array): Part[] => [["content", "once"], ["file", file(bytes, "shot.png", "image/png")]];
    const send = (bytes: Uint8Array) => {
      const form = new FormData();
      for (const [name, value] of parts(bytes)) form.append(name, value);
      return callWith(gitchat, "POST", "/messages", { body: form, headers: { ...as.ada, ...key } });
    };
    const first = await send(PNG);
    const before = await state();
    const again = await send(PNG);
    expect([first.status, again.status, again.body.id, again.body.attachments]).toEqual([201, 200, first.body.id, first.body.attachments]);
    const other = Uint8Array.from([...PNG.subarray(0, PNG.length - 1), 0x00]);
    const changed = await send(other);
    expect([changed.status, changed.body.error.code]).toEqual([422, "idempotency_key_reused"]);
    expect(await state()).toEqual(before);
  });

  test("an SVG or HTML file is never served inline: it is a download", async () => {
    const svg = '<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>';
    const m = (await upload([["file", file(svg, "logo.svg", "image/svg+xml")], ["file", file("<script>alert(1)</script>", "page.html", "text/html")]])).body as MessageView;
    for (const a of m.attachments) {
      const served = await get(a.url);
      expect([
        served.status,
        served.headers.get("content-disposition")?.split(";")[0],
        served.headers.get("x-content-type-options"),
        // Should a browser render it anyway, it runs nothing.
        served.headers.get("content-security-policy"),
      ]).toEqual([200, "attachment", "nosniff", "default-src 'none'; sandbox"]);
    }
  });

  test("a download carries the file's name as sent, non-ASCII included, and a plain ASCII one for older browsers", async () => {
    const m = (await upload([["file", file("x", "l'été (final).txt", "text/plain")]])).body as MessageView;
    const served = await get(m.attachments[0]!.url);
    expect(served.headers.get("content-disposition")).toBe(`attachment; filename="l'_t_ (final).txt"; filename*=UTF-8''l%27%C3%A9t%C3%A9%20%28final%29.txt`);
  });

  test("a private channel's file is a 404 to someone outside it, as a file that does not exist", async () => {
    const m = (await upload([["repository", "acme/secret"], ["content", "private plan"], ["file", file(PNG, "plan.png", "image/png")]])).body as MessageView;
    expect((await get(m.attachments[0]!.url, "ada")).status).toBe(200);
    const outsider = await get(m.attachments[0]!.url, "bo");
    const none = await get(`/messages/${m.id}/attachments/5`, "ada");
    expect([outsider.status, await outsider.json()]).toEqual([404, { error: { code: "not_found", message: `message ${m.id} has no file 0` } }]);
    expect(none.status).toBe(404);
  });
});

describe("a bad upload is a clear 4xx and changes nothing", () => {
  const refused: [string, () => Part[] | { raw: BodyInit; type: string }, number, RegExp][] = [
    ["an empty file", () => [["content", "x"], ["file", file(new Uint8Array(0), "empty.txt", "text/plain")]], 400, /empty/],
    ["an image over 10 MB", () => [["file", file(new Uint8Array(10 * 1024 * 1024 + 1).fill(0).map((_, i) => PNG[i] ?? 0), "big.png", "image/png")]], 400, /at most 10 MB/],
    ["a file over 25 MB", () => [["file", file(new Uint8Array(25 * 1024 * 1024 + 1), "big.bin", "application/octet-stream")]], 400, /at most 25 MB/],
    ["a request over 30 MB in all", () => [["file", file(new Uint8Array(20 * 1024 * 1024), "a.bin", "application/octet-stream")], ["file", file(new Uint8Array(20 * 1024 * 1024), "b.bin", "application/octet-stream")]], 413, /30 MB in all/],
    ["a name with a control character", () => [["file", file("x", "bad\u0007name.txt", "text/plain")]], 400, /control characters/],
    ["a name over 255 bytes", () => [["file", file("x", `${"é".repeat(130)}.txt`, "text/plain")]], 400, /255/],
    ["an image that is not one", () => [["file", file("<html>not a png</html>", "fake.png", "image/png")]], 400, /not a PNG image/],
    ["a \"file\" part that is text", () => [["content", "x"], ["file", "just text"]], 400, /must be a file/],
    ["an unknown part", () => [["content", "x"], ["author", "someone else"]], 400, /unknown part "author"/],
    ["no text and no file", () => [["content", "  "]], 400, /content must not be empty/],
    ["eleven files", () => Array.from({ length: 11 }, (_, i): Part => ["file", file("x", `f${i}.txt`, "text/plain")]), 400, /at most 10 files/],
    ["a body that is not multipart", () => ({ raw: "--nope\r\ngarbage", type: "multipart/form-data; boundary=xyz" }), 400, /could not be read/],
  ];
  for (const [what, parts, status, message] of refused) {
    test(what, async () => {
      const before = await state();
      const made = parts();
      const answer = Array.isArray(made)
        ? await upload(made)
        : await callWith(gitchat, "POST", "/messages", { body: made.raw, headers: { ...as.ada, "content-type": made.type } });
      expect([answer.status, answer.body.error?.code]).toEqual([status, status === 413 ? "payload_too_large" : "invalid_input"]);
      expect(answer.body.error.message).toMatch(message);
      expect(await state()).toEqual(before);
    });
  }

  test("a body with no declared length is refused while it is read, once past 30 MB", async () => {
    const before = await state();
    let sent = 0;
    const chunk = new Uint8Array(1024 * 1024);
    const body = new ReadableStream<Uint8Array>({
      pull(controller) {
        // Far more than the cap: what matters is that the server stops reading at it.
        if (sent >= 64) return controller.close();
        sent++;
        controller.enqueue(chunk);
      },
    });
    const answer = await callWith(gitchat, "POST", "/messages", { body, headers: { ...as.ada, "content-type": "multipart/form-data; boundary=x" } });
    expect([answer.status, answer.body.error.code]).toEqual([413, "payload_too_large"]);
    expect(sent).toBeLessThan(64);
    expect(await state()).toEqual(before);
  });

  test("a form with files posted by another site's page is refused (a form may be sent cross-site without a preflight)", async () => {
    const before = await state();
    const form = new FormData();
    form.append("content", "from elsewhere");
    form.append("file", file(PNG, "x.png", "image/png"));
    const foreign: Record<string, string>[] = [{ "sec-fetch-site": "cross-site", origin: "https://evil.example" }, { origin: "https://evil.example" }];
    for (const headers of foreign) {
      const answer = await callWith(gitchat, "POST", "/messages", { body: form, headers: { ...as.ada, ...headers } });
      expect([answer.status, answer.body.error.code]).toEqual([403, "cross_site"]);
    }
    expect(await state()).toEqual(before);
  });

  test("files sent to a route that takes none are refused as an unsupported body", async () => {
    const form = new FormData();
    form.append("owner", "acme");
    form.append("file", file(PNG, "x.png", "image/png"));
    const response = await gitchat.app.handle(new Request("http://localhost/repositories", { method: "POST", body: form, headers: as.ada }));
    expect([response.status, (await response.json()).error.code]).toEqual([415, "unsupported_media_type"]);
  });
});

test("a rebuilt index lists the same files and serves the same bytes", async () => {
  const dir = tempDir();
  const first = await openTestGitchat({ dataDir: dir });
  const form = new FormData();
  form.append("content", "before the rebuild");
  form.append("file", file(PNG, "kept.png", "image/png"));
  form.append("file", file("a,b\n", "kept.csv", "text/csv"));
  const sent = (await (await first.app.handle(new Request("http://localhost/messages", { method: "POST", body: form }))).json()) as MessageView;
  expect(sent.attachments).toHaveLength(2);
  const before = (await call(first, "GET", "/messages")).body as MessageView[];
  await first.close();

  dropDatabase(dir);
  expect(existsSync(databasePath(dir))).toBe(false);
  const second = await openTestGitchat({ dataDir: dir });
  try {
    const after = (await call(second, "GET", "/messages")).body as MessageView[];
    expect(after.map((m) => [m.id, m.attachments])).toEqual(before.map((m) => [m.id, m.attachments]));
    const served = await second.app.handle(new Request(`http://localhost${sent.attachments[0]!.url}`));
    expect(Buffer.from(await served.bytes()).equals(Buffer.from(PNG))).toBe(true);
  } finally {
    await second.close();
  }
});


