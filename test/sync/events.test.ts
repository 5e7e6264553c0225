/**
 * Edits, deletes and reactions made on two servers at once, each unaware of
 * the other's, converge through the remote to one folded state: the later
 * edit wins, a delete wins over any edit, every reaction counts.
 */
import { expect, test } from "bun:test";
import { call } from "../support/app.ts";
import { closedAfterEach, eventually, send } from "./support.ts";
import type { MessageView } from "../../src/messages/service.ts";

const { standIn, server } = closedAfterEach();

const list = async (gitchat: Parameters<typeof call>[0]) => (await call(gitchat, "GET", "/messages?limit=1000")).body as MessageView[];
const withoutCursor = (messages: MessageView[]) => messages.map(({ cursor: _cursor, ...rest }) => rest);

test("changes made on two servers at once converge to the same messages on both", async () => {
  const github = await standIn();
  const a = await server(github);
  const b = await server(github);
  const m = await send(a, "lunch at noon");
  const doomed = await send(a, "a message one server deletes while the other edits it");
  const thread = await send(a, "thread starter");
  expect((await call(a, "POST", "/push")).status).toBe(200);
  expect((await call(b, "POST", "/pull")).status).toBe(200);
  expect((await list(b)).map((x) => x.id)).toEqual([m.id, doomed.id, thread.id]);

  // Each server changes the same messages without seeing the other's changes.
  expect((await call(a, "PATCH", `/messages/${m.id}`, { content: "lunch at one (a)" })).status).toBe(200);
  await Bun.sleep(5);
  expect((await call(b, "PATCH", `/messages/${m.id}`, { content: "lunch at half past one (b)" })).status).toBe(200);
  expect((await call(a, "PUT", `/messages/${m.id}/reactions/${encodeURIComponent("🎉")}`)).status).toBe(200);
  expect((await call(b, "PUT", `/messages/${m.id}/reactions/${encodeURIComponent("👍")}`)).status).toBe(200);
  expect((await call(a, "DELETE", `/messages/${doomed.id}`)).status).toBe(200);
  await Bun.sleep(5);
  expect((await call(b, "PATCH", `/messages/${doomed.id}`, { content: "edited after the delete, elsewhere" })).status).toBe(200);
  expect((await call(a, "POST", "/messages", { content: "reply from a", reply_to: thread.id })).status).toBe(201);
  expect((await call(b, "POST", "/messages", { content: "reply from b", reply_to: thread.id })).status).toBe(201);

  await eventually(async () => {
    for (const s of [a, b]) await call(s, "POST", "/push");
    for (const s of [a, b]) await call(s, "POST", "/pull");
    return JSON.stringify(withoutCursor(await list(a))) === JSON.stringify(withoutCursor(await list(b)));
  }, 30_000);

  const folded = await list(a);
  const byId = new Map(folded.map((x) => [x.id, x]));
  expect(byId.get(m.id)!.content).toBe("lunch at half past one (b)");
  expect(byId.get(m.id)!.reactions.map((r) => r.emoji).sort()).toEqual(["🎉", "👍"]);
  expect({ deleted: byId.get(doomed.id)!.deleted, content: byId.get(doomed.id)!.content }).toEqual({ deleted: true, content: "" });
  expect(byId.get(thread.id)!.reply_count).toBe(2);
  expect(withoutCursor(await list(b))).toEqual(withoutCursor(folded));
});
