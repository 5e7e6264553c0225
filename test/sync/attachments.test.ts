/**
 * A message's files travel with it (issue 12): pushed to the remote in its
 * commit, pulled by another server, indexed there and served byte for byte.
 */
import { expect, test } from "bun:test";
import { randomBytes } from "node:crypto";
import { join } from "node:path";
import type { Gitchat } from "../../src/gitchat.ts";
import type { MessageView } from "../../src/messages/service.ts";
import { call } from "../support/app.ts";
import { fsck } from "../support/git.ts";
import { closedAfterEach } from "./support.ts";

const { standIn, server } = closedAfterEach();

const PNG = Buffer.from("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==", "base64");

const served = async (gitchat: Gitchat, url: string) => {
  const response = await gitchat.app.handle(new Request(`http://localhost${url}`));
  expect(response.status).toBe(200);
  return { type: response.headers.get("content-type"), bytes: Buffer.from(await response.bytes()) };
};

test("a second server pulls a message with its files and serves the same bytes", async () => {
  const github = await standIn();
  const first = await server(github);
  // A file large enough to be its own deflated object in the pack, and an image.
  const archive = randomBytes(3 * 1024 * 1024);
  const form = new FormData();
  form.append("content", "the release and its screenshot");
  form.append("file", new File([archive], "release.tar.gz", { type: "application/gzip" }));
  form.append("file", new File([PNG], "screenshot.png", { type: "image/png" }));
  const response = await first.app.handle(new Request("http://localhost/messages", { method: "POST", body: form }));
  expect(response.status).toBe(201);
  const sent = (await response.json()) as MessageView;
  expect((await call(first, "POST", "/push")).body.success).toBe(true);

  const second = await server(github);
  expect((await call(second, "POST", "/pull")).body.success).toBe(true);
  const pulled = ((await call(second, "GET", "/messages")).body as MessageView[]).find((m) => m.id === sent.id);
  expect(pulled?.attachments).toEqual(sent.attachments);
  expect(await served(second, sent.attachments[0]!.url)).toEqual({ type: "application/gzip", bytes: archive });
  expect(await served(second, sent.attachments[1]!.url)).toEqual({ type: "image/png", bytes: PNG });
  expect((await fsck(github.repoPath("alice", "chat"))).code).toBe(0);
  expect((await fsck(join(second.dataDir, "repos", "alice", "chat.git"))).code).toBe(0);
}, 60_000);
