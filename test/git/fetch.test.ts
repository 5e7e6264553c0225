/**
 * A fetch from the real smart-HTTP remote (git http-backend behind the
 * GitHub stand-in) streams the pack into the pack directory: what it stores
 * is a pack the git CLI accepts, and an answer cut short or changed on the
 * way is refused with a clear error, leaving nothing behind.
 */
import { afterAll, afterEach, expect, test } from "bun:test";
import { randomBytes } from "node:crypto";
import { mkdirSync, readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { SmartHttpRemote } from "../../src/git/smart-http.ts";
import { ChannelStore } from "../../src/git/store.ts";
import { fetchChannel, mergeRemote } from "../../src/git/transfer.ts";
import { fsck, runGit } from "../support/git.ts";
import { startGitHub } from "../support/github.ts";
import { tempDir } from "../support/tmp.ts";

const ENV = { GIT_AUTHOR_NAME: "a", GIT_AUTHOR_EMAIL: "a@b", GIT_COMMITTER_NAME: "a", GIT_COMMITTER_EMAIL: "a@b" };

/** 3 MB of random bytes: its pack entry is larger than any buffer the fetch keeps (1 MB) or reads with. */
const BIG = randomBytes(3 * 1024 * 1024);

/** A stand-in whose alice/chat holds 3,000 small files over 30 commits and BIG, pushed by the git CLI; made once. */
const makeRemote = async () => {
  const github = await startGitHub();
  await github.createRepo("alice", "chat");
  const work = tempDir();
  await runGit(["init", "-q", "-b", "main", work]);
  writeFileSync(join(work, "big.bin"), BIG);
  for (let c = 0; c < 30; c++) {
    mkdirSync(join(work, `d${c}`));
    for (let f = 0; f < 100; f++) writeFileSync(join(work, `d${c}`, `${f}.json`), `{"commit":${c},"file":${f}}\n`);
    await runGit(["add", "-A"], { cwd: work });
    await runGit(["commit", "-q", "-m", `commit ${c}`], { cwd: work, env: ENV });
  }
  expect((await runGit(["push", "-q", github.repoPath("alice", "chat"), "main"], { cwd: work })).code).toBe(0);
  const objects = (await runGit(["--git-dir", github.repoPath("alice", "chat"), "rev-list", "--objects", "--all"])).stdout.trim().split("\n").length;
  return { github, objects };
};
let made: ReturnType<typeof makeRemote> | undefined;
afterAll(async () => (await made)?.github.stop());
afterEach(async () => (await made)?.github.clearFaults());

/** The remote above, and a new empty repository to fetch it into. */
const remoteWithHistory = async (timeoutMs?: number) => {
  made ??= makeRemote();
  const { github, objects } = await made;
  const gitdir = join(tempDir(), "chat.git");
  const store = await ChannelStore.open(gitdir);
  const remote = new SmartHttpRemote(github.remoteUrl("alice", "chat"), { token: github.token("alice"), label: "alice/chat", timeoutMs });
  return { github, store, remote, gitdir, objects, packDir: join(gitdir, "objects", "pack") };
};

const packsIn = (packDir: string) => readdirSync(packDir).filter((f) => f.endsWith(".pack"));

/** Parses upload-pack's side-band answer and flips one byte in the middle of its largest pack-data packet. */
const flipInPackData = (answer: Uint8Array) => {
  const copy = Buffer.from(answer);
  let best = { at: 0, length: 0 };
  for (let at = 0; at + 4 <= copy.length; ) {
    const length = parseInt(copy.toString("latin1", at, at + 4), 16);
    if (length === 0) {
      at += 4;
      continue;
    }
    if (copy[at + 4] === 1 && length > best.length) best = { at, length };
    at += length;
  }
  expect(best.length).toBeGreaterThan(1000);
  copy[best.at + (best.length >> 1)]! ^= 0x01;
  return copy;
};

test("a fetch larger than any buffer it keeps (3,001 files, one of 3 MB) stores a pack that git verify-pack and git fsck accept", async () => {
  const { store, remote, gitdir, objects, packDir } = await remoteWithHistory();
  const fetched = await fetchChannel(store, remote);
  expect(fetched.objects).toBe(objects);
  const [pack] = packsIn(packDir);
  expect((await runGit(["verify-pack", join(packDir, pack!)])).code).toBe(0);
  await mergeRemote(store, fetched.remoteHead!, Date.now(), fetched);
  const checked = await fsck(gitdir);
  expect(checked.stderr).toBe("");
  expect(checked.code).toBe(0);
  const big = Bun.spawnSync(["git", "--git-dir", gitdir, "cat-file", "blob", "main:big.bin"]).stdout;
  expect(Buffer.compare(big, BIG)).toBe(0);
}, 60_000);

test("an answer cut short on the way fails the fetch with a clear error, leaves nothing in the pack directory, and the next fetch brings it whole", async () => {
  const { github, store, remote, packDir } = await remoteWithHistory();
  github.tamper({ path: /git-upload-pack$/, method: "POST", body: (real) => real.subarray(0, real.length >> 1) });
  await expect(fetchChannel(store, remote)).rejects.toThrow(
    "the answer of the git remote of alice/chat ended before the pack was complete; will retry",
  );
  expect(readdirSync(packDir)).toEqual([]);

  expect((await fetchChannel(store, remote)).objects).toBeGreaterThan(3000);
  expect((await runGit(["verify-pack", join(packDir, packsIn(packDir)[0]!)])).code).toBe(0);
}, 60_000);

test("a pack changed on the way is refused by its checksum, and nothing of it is stored", async () => {
  const { github, store, remote, packDir } = await remoteWithHistory();
  github.tamper({ path: /git-upload-pack$/, method: "POST", body: flipInPackData });
  await expect(fetchChannel(store, remote)).rejects.toThrow(
    "the pack fetched from the remote of alice/chat was refused: the pack's checksum does not match (it was cut short or changed on the way); nothing of it was stored, and the next pull fetches it again",
  );
  expect(readdirSync(packDir)).toEqual([]);
}, 60_000);

test("from a remote that offers no side-band the pack streams raw: stored whole, and refused by its checksum when cut short", async () => {
  const { github, store, remote, packDir, objects } = await remoteWithHistory();
  // The advertisement with `side-band-64k` renamed to a capability nobody knows (same length: the pkt-line stays valid).
  const noSideBand = (real: Uint8Array) => Buffer.from(Buffer.from(real).toString("latin1").replace("side-band-64k", "xide-xand-64k"), "latin1");
  github.tamper({ path: /info\/refs$/, method: "GET", body: noSideBand });
  github.tamper({ path: /git-upload-pack$/, method: "POST", body: (real) => real.subarray(0, real.length - 100) });
  await expect(fetchChannel(store, remote)).rejects.toThrow("the pack's checksum does not match (it was cut short or changed on the way)");
  expect(readdirSync(packDir)).toEqual([]);

  github.tamper({ path: /info\/refs$/, method: "GET", body: noSideBand });
  expect((await fetchChannel(store, remote)).objects).toBe(objects);
  expect((await runGit(["verify-pack", join(packDir, packsIn(packDir)[0]!)])).code).toBe(0);
}, 60_000);

test("a remote that goes silent in the middle of the pack fails the fetch once it has said nothing for the timeout, leaving nothing", async () => {
  const { github, store, remote, packDir } = await remoteWithHistory(1000);
  github.tamper({
    path: /git-upload-pack$/,
    method: "POST",
    body: (real) => new ReadableStream({ start: (controller) => controller.enqueue(real.subarray(0, real.length >> 1)) }),
  });
  await expect(fetchChannel(store, remote)).rejects.toThrow(
    "the git remote of alice/chat sent nothing for 1 s in the middle of the pack; will retry",
  );
  expect(readdirSync(packDir)).toEqual([]);
}, 60_000);

test("a pack that trickles in for longer than the timeout, never silent for as long, is fetched whole", async () => {
  const { github, store, remote, objects } = await remoteWithHistory(1000);
  // Ten pieces, 300 ms apart: 3 s in all against a timeout of 1 s.
  github.tamper({
    path: /git-upload-pack$/,
    method: "POST",
    body: (real) => {
      let piece = 0;
      const size = Math.ceil(real.length / 10);
      return new ReadableStream({
        async pull(controller) {
          if (piece > 0) await Bun.sleep(300);
          if (piece * size >= real.length) return controller.close();
          controller.enqueue(real.subarray(piece * size, ++piece * size));
        },
      });
    },
  });
  expect((await fetchChannel(store, remote)).objects).toBe(objects);
}, 60_000);
