/** GET and POST /repositories: channels, GitHub's naming rules, and sending into a new channel. */
import { test, expect, describe, beforeAll, afterAll } from "bun:test";
import { existsSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { call, openTestGitchat } from "../support/app.ts";
import type { Gitchat } from "../../src/gitchat.ts";

type RepositoryView = { id: number; name: string; owner: string; full_name: string; created_at: string; private: boolean; head: string | null; sync: Record<string, unknown> };

const repositories = async (gitchat: Gitchat) => {
  const answer = await call(gitchat, "GET", "/repositories");
  expect(answer.status).toBe(200);
  return answer.body as RepositoryView[];
};

/** Every bare repository on disk, as "owner/name.git". */
const gitdirsOnDisk = (gitchat: Gitchat) => {
  const root = join(gitchat.config.dataDir, "repos");
  if (!existsSync(root)) return [];
  return readdirSync(root).flatMap((owner) => readdirSync(join(root, owner)).map((name) => `${owner}/${name}`)).sort();
};

describe("listing channels", () => {
  test("a fresh gitchat lists only its empty default channel", async () => {
    const gitchat = await openTestGitchat();
    try {
      const list = await repositories(gitchat);
      expect(list).toHaveLength(1);
      const [general] = list;
      expect(general).toEqual({
        id: expect.any(Number),
        name: "general",
        owner: "local",
        full_name: "local/general",
        created_at: expect.any(String),
        private: false,
        head: null,
        sync: {
          enabled: false,
          remote: null,
          unpushed: 0,
          last_push_at: null,
          last_pull_at: null,
          last_error: null,
          last_error_at: null,
        },
      });
      expect(new Date(general!.created_at).toISOString()).toBe(general!.created_at);
    } finally {
      await gitchat.close();
    }
  });

  test("a channel's head is the commit of its latest message", async () => {
    const gitchat = await openTestGitchat();
    try {
      await call(gitchat, "POST", "/messages", { content: "one" });
      const sent = await call(gitchat, "POST", "/messages", { content: "two" });
      expect(sent.status).toBe(201);
      const [general] = await repositories(gitchat);
      expect(general?.head).toBe(sent.body.git_hash);
    } finally {
      await gitchat.close();
    }
  });
});

describe("creating channels", () => {
  let gitchat: Gitchat;
  beforeAll(async () => {
    gitchat = await openTestGitchat();
  });
  afterAll(async () => {
    await gitchat.close();
  });

  test("a created channel is answered with 201 and listed", async () => {
    const answer = await call(gitchat, "POST", "/repositories", { owner: "acme", name: "chat" });
    expect(answer.status).toBe(201);
    expect(answer.body).toEqual({
      id: expect.any(Number),
      name: "chat",
      owner: "acme",
      full_name: "acme/chat",
      created_at: expect.any(String),
      private: false,
      head: null,
      sync: {
        enabled: false,
        remote: null,
        unpushed: 0,
        last_push_at: null,
        last_pull_at: null,
        last_error: null,
        last_error_at: null,
      },
    });
    expect(Math.abs(Date.parse(answer.body.created_at) - Date.now())).toBeLessThan(60_000);
    const list = await repositories(gitchat);
    expect(list.find((r) => r.full_name === "acme/chat")).toEqual(answer.body);
    expect(gitdirsOnDisk(gitchat)).toContain("acme/chat.git");
  });

  test("messages can be sent to a created channel and are listed with repository=", async () => {
    expect((await call(gitchat, "POST", "/repositories", { owner: "Acme", name: "Launch.Plans_2" })).status).toBe(201);
    const sent = await call(gitchat, "POST", "/messages", { content: "liftoff", repository: "Acme/Launch.Plans_2" });
    expect(sent.status).toBe(201);
    expect(sent.body.repository).toBe("Acme/Launch.Plans_2");
    const listed = await call(gitchat, "GET", "/messages?repository=Acme/Launch.Plans_2");
    expect(listed.status).toBe(200);
    expect(listed.body).toEqual([sent.body]);
    const channel = (await repositories(gitchat)).find((r) => r.full_name === "Acme/Launch.Plans_2");
    expect(channel?.head).toBe(sent.body.git_hash);
    const general = await call(gitchat, "GET", "/messages?repository=local/general");
    expect(general.body).toEqual([]);
  });

  test("creating a channel that exists is a 409 and changes nothing", async () => {
    expect((await call(gitchat, "POST", "/repositories", { owner: "alice", name: "team" })).status).toBe(201);
    const before = await repositories(gitchat);
    const again = await call(gitchat, "POST", "/repositories", { owner: "alice", name: "team" });
    expect(again.status).toBe(409);
    expect(again.body.error.code).toBe("conflict");
    expect(again.body.error.message).toContain("alice/team");
    expect(await repositories(gitchat)).toEqual(before);
  });

  test("channel names differing only in letter case are the same channel (409)", async () => {
    expect((await call(gitchat, "POST", "/repositories", { owner: "Bob", name: "Team" })).status).toBe(201);
    const before = await repositories(gitchat);
    const disk = gitdirsOnDisk(gitchat);
    for (const [owner, name] of [["bob", "team"], ["BOB", "TEAM"], ["bOb", "Team"]] as const) {
      const answer = await call(gitchat, "POST", "/repositories", { owner, name });
      expect({ owner, name, status: answer.status }).toEqual({ owner, name, status: 409 });
      expect(answer.body.error.code).toBe("conflict");
    }
    expect(await repositories(gitchat)).toEqual(before);
    expect(gitdirsOnDisk(gitchat)).toEqual(disk);
  });

  test("the default channel cannot be created again", async () => {
    const answer = await call(gitchat, "POST", "/repositories", { owner: "Local", name: "General" });
    expect(answer.status).toBe(409);
  });

  test("names at the edges of what GitHub accepts are accepted", async () => {
    const accepted: [string, string][] = [
      ["a", "b"],
      ["a".repeat(39), "longest-owner"],
      ["x-y-z", "n".repeat(100)],
      ["0wner9", "..."],
      ["dots", ".hidden"],
      ["dots", "a..b"],
      ["under", "_"],
      ["dash", "-"],
      ["git", "git"],
      ["git", "x.gitx"],
    ];
    for (const [owner, name] of accepted) {
      const answer = await call(gitchat, "POST", "/repositories", { owner, name });
      expect({ owner, name, status: answer.status }).toEqual({ owner, name, status: 201 });
      expect(answer.body.full_name).toBe(`${owner}/${name}`);
    }
  });

  test("names GitHub refuses are refused with 400 and create nothing", async () => {
    const refused: [string, string, RegExp][] = [
      ["", "chat", /owner/],
      ["-alice", "chat", /owner/],
      ["alice-", "chat", /owner/],
      ["al--ice", "chat", /owner/],
      ["al_ice", "chat", /owner/],
      ["al.ice", "chat", /owner/],
      ["al ice", "chat", /owner/],
      ["a".repeat(40), "chat", /owner/],
      ["ålice", "chat", /owner/],
      ["alice/bob", "chat", /owner/],
      ["alice", "", /name/],
      ["alice", ".", /name/],
      ["alice", "..", /name/],
      ["alice", "chat.git", /name/],
      ["alice", "chat.GIT", /name/],
      ["alice", "n".repeat(101), /name/],
      ["alice", "has space", /name/],
      ["alice", "a/b", /name/],
      ["alice", "../escape", /name/],
      ["alice", "émoji", /name/],
      ["alice", "semi;colon", /name/],
      ["alice", "nul\u0000byte", /name/],
    ];
    const before = await repositories(gitchat);
    const disk = gitdirsOnDisk(gitchat);
    for (const [owner, name, mentions] of refused) {
      const answer = await call(gitchat, "POST", "/repositories", { owner, name });
      expect({ owner, name, status: answer.status }).toEqual({ owner, name, status: 400 });
      expect(answer.body.error.code).toBe("invalid_input");
      expect(answer.body.error.message).toMatch(mentions);
    }
    expect(await repositories(gitchat)).toEqual(before);
    expect(gitdirsOnDisk(gitchat)).toEqual(disk);
  });

  test("a channel without owner or name, or with non-string ones, is refused with 400", async () => {
    const before = await repositories(gitchat);
    const bodies: unknown[] = [
      {},
      { owner: "alice" },
      { name: "chat" },
      { owner: 1, name: "chat" },
      { owner: "alice", name: null },
      { owner: ["alice"], name: "chat" },
      { owner: "alice", name: { n: "chat" } },
      [{ owner: "alice", name: "chat" }],
      "alice/chat",
    ];
    for (const body of bodies) {
      const answer = await call(gitchat, "POST", "/repositories", typeof body === "string" ? JSON.stringify(body) : body);
      expect({ body, status: answer.status }).toEqual({ body, status: 400 });
      expect(answer.body.error.code).toBe("invalid_input");
      expect(answer.body.error.message).toMatch(/owner|name|object/);
    }
    expect(await repositories(gitchat)).toEqual(before);
  });

  test("a channel created by several requests at once is created once, and the others get 409", async () => {
    const answers = await Promise.all(
      ["race", "Race", "RACE", "race", "rAce"].map((owner) => call(gitchat, "POST", "/repositories", { owner, name: "room" })),
    );
    const statuses = answers.map((a) => a.status).sort();
    expect(statuses).toEqual([201, 409, 409, 409, 409]);
    for (const a of answers.filter((a) => a.status === 409)) expect(a.body.error.code).toBe("conflict");
    expect((await repositories(gitchat)).filter((r) => r.full_name.toLowerCase() === "race/room")).toHaveLength(1);
    const sent = await call(gitchat, "POST", "/messages", { content: "after the race", repository: "race/room" });
    expect(sent.status).toBe(201);
  });
});

describe("channels after a restart", () => {
  test("created channels and their messages are still there after gitchat is reopened", async () => {
    const first = await openTestGitchat();
    const dataDir = first.config.dataDir;
    let sent: any;
    try {
      expect((await call(first, "POST", "/repositories", { owner: "keep", name: "me" })).status).toBe(201);
      sent = (await call(first, "POST", "/messages", { content: "still here?", repository: "keep/me" })).body;
    } finally {
      await first.close();
    }
    const second = await openTestGitchat({ dataDir });
    try {
      const channel = (await repositories(second)).find((r) => r.full_name === "keep/me");
      expect(channel?.head).toBe(sent.git_hash);
      const listed = await call(second, "GET", "/messages?repository=keep/me");
      expect(listed.body).toEqual([sent]);
    } finally {
      await second.close();
    }
  });
});
