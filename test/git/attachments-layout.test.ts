/**
 * Attachments in the message layout (issue 12): a message's files go in a
 * directory `<id>.files` beside its file, which counts as one entry of its
 * segment (so every tree stays bounded), and no attachment path is ever
 * read as a message file.
 */
import { expect, test } from "bun:test";
import { join } from "node:path";
import { ChannelStore } from "../../src/git/store.ts";
import {
  attachmentPath,
  commitMessages,
  conflictCopyOf,
  idFromPath,
  isMessagePath,
  SEGMENT_FILES,
  type MessageRecord,
} from "../../src/messages/layout.ts";
import { readMessageFile } from "../../src/messages/rules.ts";
import { encodeMessage } from "../../src/messages/layout.ts";
import { runGit } from "../support/git.ts";
import { tempDir } from "../support/tmp.ts";

const DAY = Date.parse("2026-05-06T00:00:00.000Z");
const author = { name: "ann", email: "ann@gitchat.invalid", timestamp: DAY };

/** Message `n` of the day, with one small text file. */
const withFile = (n: number): { message: MessageRecord; bytes: Uint8Array[] } => {
  const id = Bun.randomUUIDv7("hex", DAY + n);
  const bytes = new TextEncoder().encode(`file of message ${n}\n`);
  return {
    message: {
      id,
      author: "ann",
      content: `message ${n}`,
      type: "message",
      created_at: new Date(DAY + n).toISOString(),
      attachments: [{ name: `notes ${n}.txt`, type: "text/plain", size: bytes.byteLength, path: attachmentPath(id, 0, `notes ${n}.txt`) }],
    },
    bytes: [bytes],
  };
};

test("no attachment path is ever taken for a message file, whatever the file is called", () => {
  const id = Bun.randomUUIDv7();
  const other = Bun.randomUUIDv7();
  for (const name of [`${other}.json`, `${other}`, "x.json", `${other}.conflict-0123456789ab.json`]) {
    const path = `messages/2026/05/06/000/${attachmentPath(id, 0, name)}`;
    expect([path, idFromPath(path), isMessagePath(path), conflictCopyOf(path)]).toEqual([path, undefined, false, undefined]);
  }
  // The message file beside them still is one.
  expect(idFromPath(`messages/2026/05/06/000/${id}.json`)).toBe(id);
});

test("a name is made safe for any file system in the path; the message file keeps it as sent", () => {
  const id = Bun.randomUUIDv7();
  expect(attachmentPath(id, 2, 'a:b*c?"d<e>f|g.png')).toBe(`${id}.files/2-a_b_c__d_e_f_g.png`);
  expect(attachmentPath(id, 0, "...hidden. ")).toBe(`${id}.files/0-hidden`);
  const long = attachmentPath(id, 0, `${"é".repeat(120)}.tar.gz`);
  expect(Buffer.byteLength(long.split("/")[1]!)).toBeLessThanOrEqual(122);
  expect(long).toEndWith(".gz");
});

test("a segment holding messages with files never has more than SEGMENT_FILES entries: a message's directory is one entry", async () => {
  const gitdir = join(tempDir(), "c.git");
  const store = await ChannelStore.open(gitdir, { durability: "process" });
  const total = SEGMENT_FILES; // each is two entries (its file and its directory): two segments' worth
  // Batches of 150 (300 entries) straddle the segment's end: the bound is kept inside a commit too, not only between commits.
  for (let i = 0; i < total; i += 150) {
    const batch = Array.from({ length: Math.min(150, total - i) }, (_, k) => withFile(i + k));
    await commitMessages(store, batch.map((b) => b.message), author, undefined, new Map(batch.map((b) => [b.message.id, b.bytes])));
  }
  const head = await store.head();
  const day = "messages/2026/05/06";
  const segments = (await runGit(["--git-dir", gitdir, "ls-tree", "--name-only", `${head}:${day}`])).stdout.trim().split("\n");
  expect(segments).toEqual(["000", "001"]);
  for (const segment of segments) {
    const entries = (await runGit(["--git-dir", gitdir, "ls-tree", `${head}:${day}/${segment}`])).stdout.trim().split("\n");
    expect(entries.length).toBe(SEGMENT_FILES);
    // Each message beside its files' directory.
    expect(entries.filter((e) => e.includes(" tree ")).length).toBe(SEGMENT_FILES / 2);
  }
});

test("a message file read from git takes its files only at a path of its own directory, named by their place in its list", () => {
  const { message } = withFile(7);
  const path = `messages/2026/05/06/000/${message.id}.json`;
  expect(readMessageFile(encodeMessage(message), path).attachments).toEqual(message.attachments!);
  const other = Bun.randomUUIDv7("hex", DAY + 8);
  for (const [bad, reason] of [
    [`${other}.files/0-notes.txt`, /is not/],
    [`${message.id}.files/1-notes.txt`, /is not/],
    [`${message.id}.files/0-../../x.json`, /is not/],
    [`../${message.id}.files/0-notes.txt`, /is not/],
    [`${message.id}.files/0-sub/notes.txt`, /is not/],
  ] as const) {
    const tampered = { ...message, attachments: [{ ...message.attachments![0]!, path: bad }] };
    expect(() => readMessageFile(encodeMessage(tampered), path)).toThrow(reason);
  }
  for (const [change, reason] of [
    [{ name: "a/b.txt" }, /slash/],
    [{ name: "a\u0000b" }, /control characters/],
    [{ type: "text plain" }, /not a MIME type/],
    [{ size: 0 }, /empty/],
    [{ size: 26 * 1024 * 1024 }, /at most 25 MB/],
    [{ type: "image/png", size: 11 * 1024 * 1024 }, /at most 10 MB/],
  ] as const) {
    const tampered = { ...message, attachments: [{ ...message.attachments![0]!, ...change }] };
    expect(() => readMessageFile(encodeMessage(tampered), path)).toThrow(reason);
  }
});
