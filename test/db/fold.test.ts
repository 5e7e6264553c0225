/**
 * The fold of events into messages (src/db/fold.ts) depends on the set of
 * rows alone: events and replies indexed before the message they name (a
 * server whose clock is behind, a history read out of time order) are folded
 * when it arrives, and the result is the same in any arrival order.
 */
import { expect, test } from "bun:test";
import { openDatabase, type NewMessage } from "../../src/db/database.ts";

const HASH = "a".repeat(40);
const at = (s: number) => new Date(Date.parse("2026-11-25T10:00:00Z") + s * 1000).toISOString();
const id = (s: number, n: number) => Bun.randomUUIDv7("hex", Date.parse(at(s))).slice(0, 24) + String(n).padStart(12, "0");

const target: NewMessage = { id: id(0, 1), author: "ada", author_id: "local:ada", content: "v1", type: "message", created_at: at(0) };
const rows: NewMessage[] = [
  { id: id(1, 2), author: "ada", author_id: "local:ada", content: "v2", type: "edit", created_at: at(1), target: target.id },
  { id: id(2, 3), author: "ada", author_id: "local:ada", content: "v3", type: "edit", created_at: at(2), target: target.id },
  { id: id(3, 4), author: "bo", author_id: "local:bo", content: "👍", type: "react", created_at: at(3), target: target.id },
  { id: id(4, 5), author: "bo", author_id: "local:bo", content: "a reply", type: "message", created_at: at(4), reply_to: target.id },
  { id: id(5, 6), author: "cy", author_id: "local:cy", content: "🎉", type: "react", created_at: at(5), target: target.id },
  { id: id(6, 7), author: "cy", author_id: "local:cy", content: "🎉", type: "unreact", created_at: at(6), target: target.id },
];

/** The target as the index shows it after storing `batches` in that order, one insert each. */
const foldedAfter = (batches: NewMessage[][]) => {
  const db = openDatabase(":memory:");
  const { id: repositoryId } = db.insertRepository("acme", "chat", at(0));
  for (const batch of batches) db.insertMessages(repositoryId, batch.map((message) => ({ message, gitHash: HASH })), HASH);
  const m = db.getMessage(repositoryId, target.id)!;
  const found = db.listMessages({ repositoryId, search: { terms: ["v3"] }, limit: 10 }).map((r) => r.id);
  return { content: m.content, edited_at: m.edited_at, reactions: m.reactions.map((r) => [r.emoji, r.count]), replies: m.reply_count, found };
};

const expected = { content: "v3", edited_at: at(2), reactions: [["👍", 1]], replies: 1, found: [target.id] };

test("events and a reply stored after their message fold into it", () => {
  expect(foldedAfter([[target], ...rows.map((r) => [r])])).toEqual(expected);
});

test("events and a reply stored before their message (in earlier inserts, newest first) fold into it when it arrives", () => {
  expect(foldedAfter([...[...rows].reverse().map((r) => [r]), [target]])).toEqual(expected);
});

test("all of it in one insert, the message last, folds the same", () => {
  expect(foldedAfter([[...rows, target]])).toEqual(expected);
});
