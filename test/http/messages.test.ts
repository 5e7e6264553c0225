/** POST /messages and GET /messages through the in-process app: what a client sees, and what lands in git. */
import { isMessagePath } from "../../src/messages/layout.ts";
import { test, expect, describe, beforeAll, afterAll } from "bun:test";
import { call, openTestGitchat } from "../support/app.ts";
import type { Gitchat } from "../../src/gitchat.ts";
import type { MessageView as SentMessage } from "../../src/messages/service.ts";

const UUID_V7 = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
const COMMIT = /^[0-9a-f]{40}$/;


const send = async (gitchat: Gitchat, body: Record<string, unknown>): Promise<SentMessage> => {
  const answer = await call(gitchat, "POST", "/messages", body);
  expect(answer.status).toBe(201);
  return answer.body as SentMessage;
};

const list = async (gitchat: Gitchat, query = "") => {
  const answer = await call(gitchat, "GET", `/messages${query}`);
  expect(answer.status).toBe(200);
  const next = answer.headers.get("x-next-cursor");
  expect(next).toMatch(/^\d+$/);
  return { messages: answer.body as SentMessage[], next: Number(next) };
};

/** Where the design says a message's file lives: messages/YYYY/MM/DD/<segment>/<id>.json, by its UTC day (segment 000 until a day holds 1,000). */
const expectedPath = (m: Pick<SentMessage, "id" | "timestamp">) => {
  const day = m.timestamp.slice(0, 10).replaceAll("-", "/");
  return `messages/${day}/000/${m.id}.json`;
};

const filesIn = async (gitchat: Gitchat, repository: string, commit: string) => {
  const files = await gitchat.repositories.resolve(repository).store.listFiles(commit, isMessagePath);
  return new Map(files.map((f) => [f.path, f.oid]));
};

const byId = (a: { id: string }, b: { id: string }) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);

describe("sending a message", () => {
  let gitchat: Gitchat;
  beforeAll(async () => {
    gitchat = await openTestGitchat();
  });
  afterAll(async () => {
    await gitchat.close();
  });

  test("a message sent without a repository lands in the default channel", async () => {
    const answer = await call(gitchat, "POST", "/messages", { content: "hello, git" });
    expect(answer.status).toBe(201);
    expect(answer.headers.get("content-type")).toContain("application/json");
    const m = answer.body as SentMessage;
    expect(m.id).toMatch(UUID_V7);
    expect(m.content).toBe("hello, git");
    expect(new Date(m.timestamp).toISOString()).toBe(m.timestamp);
    expect(Math.abs(Date.parse(m.timestamp) - Date.now())).toBeLessThan(60_000);
    expect(m.git_hash).toMatch(COMMIT);
    expect(m.repository).toBe("local/general");
    expect(m.author).toBe("local");
    expect(m.type).toBe("message");
    expect(Number.isInteger(m.cursor)).toBe(true);
    expect(Object.keys(m).sort()).toEqual([
      "author", "author_id", "bot", "content", "cursor", "deleted", "edited_at", "git_hash", "id", "language", "reactions", "reply_count", "reply_to",
      "repository", "timestamp", "type", "verified",
    ]);
    expect({ edited_at: m.edited_at, deleted: m.deleted, reply_to: m.reply_to, reply_count: m.reply_count, reactions: m.reactions }).toEqual({
      edited_at: null, deleted: false, reply_to: null, reply_count: 0, reactions: [],
    });
    // The open local mode has no accounts: no author id.
    expect(m.author_id).toBeNull();
  });

  test("the git_hash of a sent message is the commit that holds its file", async () => {
    const m = await send(gitchat, { content: "find me in git" });
    const store = gitchat.repositories.resolve("local/general").store;
    expect(await store.head()).toBe(m.git_hash);
    const files = await filesIn(gitchat, "local/general", m.git_hash);
    const oid = files.get(expectedPath(m));
    expect(oid).toBeDefined();
    const stored = JSON.parse(new TextDecoder().decode(await store.readBlob(oid!)));
    expect(stored).toEqual({ id: m.id, author: m.author, content: m.content, type: m.type, created_at: m.timestamp });
  });

  test("each message gets a new commit whose parent history keeps the earlier ones", async () => {
    const first = await send(gitchat, { content: "first of two" });
    const second = await send(gitchat, { content: "second of two" });
    expect(second.git_hash).not.toBe(first.git_hash);
    const files = await filesIn(gitchat, "local/general", second.git_hash);
    expect(files.has(expectedPath(first))).toBe(true);
    expect(files.has(expectedPath(second))).toBe(true);
    expect((await filesIn(gitchat, "local/general", first.git_hash)).has(expectedPath(second))).toBe(false);
  });

  test("a message keeps the type it was sent with", async () => {
    const m = await send(gitchat, { content: "a note", type: "note" });
    expect(m.type).toBe("note");
    const { messages } = await list(gitchat);
    expect(messages.find((x) => x.id === m.id)?.type).toBe("note");
  });

  test("a message naming the default channel explicitly lands there too", async () => {
    const m = await send(gitchat, { content: "explicit", repository: "local/general" });
    expect(m.repository).toBe("local/general");
  });

  test("a sent message is listed exactly as it was answered", async () => {
    const m = await send(gitchat, { content: "  keeps  its spacing\nand lines  " });
    expect(m.content).toBe("  keeps  its spacing\nand lines  ");
    const { messages } = await list(gitchat);
    expect(messages.find((x) => x.id === m.id)).toEqual(m);
  });

  test("unicode content comes back unchanged", async () => {
    const content = "héllo 👋🏽 — 中文 <b>&amp;</b> \"quoted\" \u200d";
    const m = await send(gitchat, { content });
    expect(m.content).toBe(content);
    const { messages } = await list(gitchat);
    expect(messages.find((x) => x.id === m.id)?.content).toBe(content);
  });

  test("50 messages sent at once are all acknowledged and share commits", async () => {
    const contents = Array.from({ length: 50 }, (_, i) => `burst ${i}`);
    const answers = await Promise.all(contents.map((content) => call(gitchat, "POST", "/messages", { content })));
    expect(answers.map((a) => a.status)).toEqual(contents.map(() => 201));
    const sent = answers.map((a) => a.body as SentMessage);
    expect(sent.map((m) => m.content)).toEqual(contents);
    expect(new Set(sent.map((m) => m.id)).size).toBe(50);
    expect(new Set(sent.map((m) => m.cursor)).size).toBe(50);
    const commits = new Set(sent.map((m) => m.git_hash));
    expect(commits.size).toBeLessThan(50);
    for (const commit of commits) {
      const files = await filesIn(gitchat, "local/general", commit);
      for (const m of sent.filter((x) => x.git_hash === commit)) expect(files.has(expectedPath(m))).toBe(true);
    }
    const { messages } = await list(gitchat, "?limit=1000");
    const listed = new Map(messages.map((m) => [m.id, m]));
    for (const m of sent) expect(listed.get(m.id)).toEqual(m);
  });
});

describe("the default channel from the environment", () => {
  test("GITHUB_USERNAME and GITHUB_REPO_NAME name the default channel and the author", async () => {
    const gitchat = await openTestGitchat({ env: { GITHUB_USERNAME: "alice", GITHUB_REPO_NAME: "team" } });
    try {
      const m = await send(gitchat, { content: "hi team" });
      expect(m.repository).toBe("alice/team");
      expect(m.author).toBe("alice");
      const store = gitchat.repositories.resolve("alice/team").store;
      expect(await store.head()).toBe(m.git_hash);
      expect((await filesIn(gitchat, "alice/team", m.git_hash)).has(expectedPath(m))).toBe(true);
      const repositories = (await call(gitchat, "GET", "/repositories")).body as { full_name: string }[];
      expect(repositories.map((r) => r.full_name)).toContain("alice/team");
    } finally {
      await gitchat.close();
    }
  });
});

describe("listing messages", () => {
  let gitchat: Gitchat;
  /** 120 messages in the default channel, in the order they were sent. */
  let all: SentMessage[];
  beforeAll(async () => {
    gitchat = await openTestGitchat();
    all = [];
    // Concurrent waves keep the set-up fast: they share commits.
    for (let wave = 0; wave < 4; wave++) {
      const answers = await Promise.all(
        Array.from({ length: 30 }, (_, i) => call(gitchat, "POST", "/messages", { content: `message ${wave * 30 + i}` })),
      );
      for (const a of answers) {
        expect(a.status).toBe(201);
        all.push(a.body as SentMessage);
      }
    }
    all.sort(byId);
  });
  afterAll(async () => {
    await gitchat.close();
  });

  test("without a limit the newest 100 are listed, oldest first", async () => {
    const { messages } = await list(gitchat);
    expect(messages.map((m) => m.id)).toEqual(all.slice(-100).map((m) => m.id));
    const times = messages.map((m) => Date.parse(m.timestamp));
    expect(times).toEqual([...times].sort((a, b) => a - b));
  });

  test("a limit lists that many of the newest", async () => {
    const { messages } = await list(gitchat, "?limit=7");
    expect(messages.map((m) => m.id)).toEqual(all.slice(-7).map((m) => m.id));
  });

  test("the largest limit, 1000, is accepted", async () => {
    const { messages } = await list(gitchat, "?limit=1000");
    expect(messages.map((m) => m.id)).toEqual(all.map((m) => m.id));
  });

  test("paging back with before walks the whole history with no gap and no overlap", async () => {
    const pages: SentMessage[][] = [];
    let query = "?limit=50";
    for (;;) {
      const { messages } = await list(gitchat, query);
      if (messages.length === 0) break;
      pages.push(messages);
      query = `?limit=50&before=${messages[0]!.id}`;
      expect(pages.length).toBeLessThan(10);
    }
    expect(pages.map((p) => p.length)).toEqual([50, 50, 20]);
    const walked = pages.reverse().flat();
    expect(walked.map((m) => m.id)).toEqual(all.map((m) => m.id));
  });

  test("before lists only messages older than the one named", async () => {
    const pivot = all[60]!;
    const { messages } = await list(gitchat, `?before=${pivot.id}&limit=5`);
    expect(messages.map((m) => m.id)).toEqual(all.slice(55, 60).map((m) => m.id));
  });

  test("before the oldest message there is nothing", async () => {
    const { messages } = await list(gitchat, `?before=${all[0]!.id}`);
    expect(messages).toEqual([]);
  });
});

describe("polling with a cursor", () => {
  let gitchat: Gitchat;
  beforeAll(async () => {
    gitchat = await openTestGitchat();
    for (let i = 0; i < 3; i++) await send(gitchat, { content: `already here ${i}` });
  });
  afterAll(async () => {
    await gitchat.close();
  });

  test("the cursor from a plain listing lets a poll return only newer messages", async () => {
    const { next: start } = await list(gitchat);
    const fresh = [];
    for (let i = 0; i < 3; i++) fresh.push(await send(gitchat, { content: `fresh ${i}` }));
    const poll = await list(gitchat, `?after=${start}`);
    expect(poll.messages.map((m) => m.id)).toEqual(fresh.map((m) => m.id));
    expect(poll.next).toBe(fresh[2]!.cursor);
    const again = await list(gitchat, `?after=${poll.next}`);
    expect(again.messages).toEqual([]);
    expect(again.next).toBe(poll.next);
  });

  test("a poll with nothing new keeps the cursor it was given", async () => {
    const { next } = await list(gitchat);
    const poll = await list(gitchat, `?after=${next}`);
    expect(poll.messages).toEqual([]);
    expect(poll.next).toBe(next);
  });

  test("a poll with a limit hands out the rest on the next poll, without a gap", async () => {
    const { next: start } = await list(gitchat);
    const fresh = await Promise.all(Array.from({ length: 5 }, (_, i) => send(gitchat, { content: `limited ${i}` })));
    const inArrival = [...fresh].sort((a, b) => a.cursor - b.cursor);
    const first = await list(gitchat, `?after=${start}&limit=2`);
    expect(first.messages.map((m) => m.id)).toEqual(inArrival.slice(0, 2).map((m) => m.id));
    expect(first.next).toBe(inArrival[1]!.cursor);
    const second = await list(gitchat, `?after=${first.next}&limit=10`);
    expect(second.messages.map((m) => m.id)).toEqual(inArrival.slice(2).map((m) => m.id));
  });

  test("a sent message's own cursor polls for what came after it", async () => {
    const mine = await send(gitchat, { content: "mine" });
    const theirs = await send(gitchat, { content: "theirs" });
    const poll = await list(gitchat, `?after=${mine.cursor}`);
    expect(poll.messages.map((m) => m.id)).toEqual([theirs.id]);
  });

  test("the cursor from before a message was sent is below that message's cursor", async () => {
    const { next } = await list(gitchat);
    const m = await send(gitchat, { content: "later" });
    expect(m.cursor).toBeGreaterThan(next);
  });
});

describe("arrival order against time order", () => {
  test("a message that arrives late but is dated earlier still reaches a poller, while listings show time order", async () => {
    let clock = Date.parse("2030-01-02T12:00:00.000Z");
    const gitchat = await openTestGitchat({ now: () => clock });
    try {
      const { next: start } = await list(gitchat);
      const newer = await send(gitchat, { content: "dated later, sent first" });
      clock = Date.parse("2030-01-01T12:00:00.000Z");
      const older = await send(gitchat, { content: "dated earlier, sent second" });
      expect(older.timestamp).toBe("2030-01-01T12:00:00.000Z");
      expect(newer.timestamp).toBe("2030-01-02T12:00:00.000Z");

      const poll = await list(gitchat, `?after=${start}`);
      expect(poll.messages.map((m) => m.id)).toEqual([newer.id, older.id]);
      const listing = await list(gitchat);
      expect(listing.messages.map((m) => m.id)).toEqual([older.id, newer.id]);

      // Each file sits under its own day.
      const files = await filesIn(gitchat, "local/general", older.git_hash);
      expect(files.has(`messages/2030/01/02/000/${newer.id}.json`)).toBe(true);
      expect(files.has(`messages/2030/01/01/000/${older.id}.json`)).toBe(true);
    } finally {
      await gitchat.close();
    }
  });
});

describe("channels and search", () => {
  let gitchat: Gitchat;
  let general: SentMessage[];
  let side: SentMessage[];
  beforeAll(async () => {
    gitchat = await openTestGitchat();
    expect((await call(gitchat, "POST", "/repositories", { owner: "acme", name: "side" })).status).toBe(201);
    general = [];
    side = [];
    general.push(await send(gitchat, { content: "the quick brown fox jumps" }));
    side.push(await send(gitchat, { content: "a lazy dog sleeps", repository: "acme/side" }));
    general.push(await send(gitchat, { content: "the fox is quick again" }));
    side.push(await send(gitchat, { content: 'she said "hello" to the fox*', repository: "acme/side" }));
    general.push(await send(gitchat, { content: "NEAR(fox dog) is not a command here" }));
  });
  afterAll(async () => {
    await gitchat.close();
  });

  test("messages sent to a channel are listed with repository= and no others", async () => {
    expect(side.every((m) => m.repository === "acme/side")).toBe(true);
    const { messages } = await list(gitchat, "?repository=acme/side");
    expect(messages.map((m) => m.id)).toEqual(side.map((m) => m.id));
    const defaults = await list(gitchat, "?repository=local/general");
    expect(defaults.messages.map((m) => m.id)).toEqual(general.map((m) => m.id));
  });

  test("without repository= every channel is listed", async () => {
    const { messages } = await list(gitchat);
    expect(messages.map((m) => m.id)).toEqual([...general, ...side].sort(byId).map((m) => m.id));
  });

  test("a message in another channel commits to that channel's repository, not the default", async () => {
    const m = side[0]!;
    expect(await gitchat.repositories.resolve("acme/side").store.head()).toBe(side[1]!.git_hash);
    expect((await filesIn(gitchat, "acme/side", m.git_hash)).has(expectedPath(m))).toBe(true);
    const generalHead = (await gitchat.repositories.resolve("local/general").store.head())!;
    expect((await filesIn(gitchat, "local/general", generalHead)).has(expectedPath(m))).toBe(false);
  });

  test("a channel is found whatever the letter case of its name", async () => {
    const { messages } = await list(gitchat, "?repository=ACME/Side");
    expect(messages.map((m) => m.id)).toEqual(side.map((m) => m.id));
  });

  test("polling a channel returns only that channel's new messages", async () => {
    const { next } = await list(gitchat, "?repository=acme/side");
    await send(gitchat, { content: "elsewhere" });
    const here = await send(gitchat, { content: "here", repository: "acme/side" });
    const poll = await list(gitchat, `?repository=acme/side&after=${next}`);
    expect(poll.messages.map((m) => m.id)).toEqual([here.id]);
  });

  test("search finds the messages holding a word", async () => {
    const { messages } = await list(gitchat, "?q=lazy");
    expect(messages.map((m) => m.id)).toEqual([side[0]!.id]);
  });

  test("search with several words finds messages holding all of them", async () => {
    const { messages } = await list(gitchat, `?q=${encodeURIComponent("quick fox")}`);
    expect(messages.map((m) => m.id)).toEqual([general[0]!.id, general[1]!.id]);
  });

  test("search combines with repository=", async () => {
    const { messages } = await list(gitchat, "?q=fox&repository=acme/side");
    expect(messages.map((m) => m.id)).toEqual([side[1]!.id]);
  });

  test("search with no match lists nothing", async () => {
    const { messages } = await list(gitchat, "?q=zebra");
    expect(messages).toEqual([]);
  });

  test("search text that looks like FTS syntax is searched as plain words", async () => {
    const near = await list(gitchat, `?q=${encodeURIComponent("NEAR(fox")}`);
    expect(near.messages.map((m) => m.id)).toEqual([general[2]!.id]);
    const quoted = await list(gitchat, `?q=${encodeURIComponent('"hello"')}`);
    expect(quoted.messages.map((m) => m.id)).toEqual([side[1]!.id]);
    for (const q of ['"', '""', "*", "fox*", "-fox", "fox OR", "AND", "NOT dog", "content:fox", "^fox", "(", ")", "{a b}", "fox + dog", "'", "\\"]) {
      const answer = await call(gitchat, "GET", `/messages?q=${encodeURIComponent(q)}`);
      expect({ q, status: answer.status }).toEqual({ q, status: 200 });
      expect(Array.isArray(answer.body)).toBe(true);
    }
  });

  test("a blank search is no search: it lists the newest messages", async () => {
    const { messages } = await list(gitchat, `?q=${encodeURIComponent("   ")}`);
    expect(messages.length).toBeGreaterThan(0);
  });

  test("a message sent to a channel named in another letter case is answered and listed under the channel's own name", async () => {
    const m = await send(gitchat, { content: "shouting the name", repository: "ACME/Side", type: "notice" });
    expect(m.repository).toBe("acme/side");
    expect(m.type).toBe("notice");
    const { messages } = await list(gitchat, "?repository=acme/side");
    expect(messages.find((x) => x.id === m.id)).toEqual(m);
  });
});

describe("health", () => {
  test("health reports the database and git as ok, with counts", async () => {
    const gitchat = await openTestGitchat();
    try {
      await send(gitchat, { content: "one" });
      await send(gitchat, { content: "two" });
      expect((await call(gitchat, "POST", "/repositories", { owner: "acme", name: "ops" })).status).toBe(201);
      const answer = await call(gitchat, "GET", "/health");
      expect(answer.status).toBe(200);
      expect(answer.body).toEqual({ status: "ok", database: { ok: true, messages: 2 }, git: { ok: true, repositories: 2 } });
    } finally {
      await gitchat.close();
    }
  });
});
