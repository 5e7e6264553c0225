/**
 * The server's signing key and the signatures on its commits, checked as
 * anyone with a clone would: the git CLI, with an allowed-signers file made
 * from the clone's own `.gitchat/signers/`.
 */
import { expect, test } from "bun:test";
import { existsSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { call, openTestGitchat } from "../support/app.ts";
import { runGit } from "../support/git.ts";
import { runCli, startServer } from "../support/server.ts";
import { allowedSignersOf, cloneOf, signerFiles, verifyCommit } from "../support/signatures.ts";
import { tempDir } from "../support/tmp.ts";

const gitdirOf = (dataDir: string) => join(dataDir, "repos", "local", "general.git");
const keyPath = (dataDir: string) => join(dataDir, "signing-key.pem");

/** A data directory whose default channel holds `contents`, sent through an in-process gitchat (closed again). */
const channelWith = async (contents: string[], env: Record<string, string> = {}) => {
  const dataDir = tempDir();
  const gitchat = await openTestGitchat({ dataDir, env });
  try {
    for (const content of contents) expect((await call(gitchat, "POST", "/messages", { content })).status).toBe(201);
  } finally {
    await gitchat.close();
  }
  return dataDir;
};

/** What `gitchat signing-key` prints: the public key line, and the fingerprint. */
const publicKeyOf = async (dataDir: string) => {
  const printed = await runCli(["signing-key"], { dataDir });
  return { line: printed.stdout.trim(), fingerprint: printed.stderr.trim().replace(/^fingerprint /, "") };
};

const send = (url: string, content: string) =>
  fetch(`${url}/messages`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ content }) });

test("a commit gitchat wrote passes git verify-commit with the allowed signers taken from a plain clone", async () => {
  const dataDir = await channelWith(["hello, signed world"]);
  const clone = await cloneOf(gitdirOf(dataDir));
  const verified = await verifyCommit(clone, "HEAD", await allowedSignersOf(clone));
  const { fingerprint } = await publicKeyOf(dataDir);
  expect({ code: verified.code, said: verified.stderr.trim() }).toEqual({
    code: 0,
    said: `Good "git" signature for gitchat@localhost with ED25519 key ${fingerprint}`,
  });
});

test("a commit whose message was edited after signing, its signature kept, fails git verify-commit", async () => {
  const dataDir = await channelWith(["what I said"]);
  const clone = await cloneOf(gitdirOf(dataDir));
  const original = (await runGit(["-C", clone, "cat-file", "commit", "HEAD"])).stdout;
  expect(original).toContain("\nlocal: what I said\n");
  const forged = await runGit(["-C", clone, "hash-object", "-w", "-t", "commit", "--stdin"], {
    stdin: original.replace("local: what I said", "local: what I never said"),
  });
  const verified = await verifyCommit(clone, forged.stdout.trim(), await allowedSignersOf(clone));
  expect({ code: verified.code, incorrect: verified.stderr.includes("incorrect signature") }).toEqual({ code: 1, incorrect: true });
});

test("the committer is the server as COMMITTER_NAME and COMMITTER_EMAIL say, and its signer file names that e-mail", async () => {
  const dataDir = await channelWith(["hi"], { COMMITTER_NAME: "Acme Chat", COMMITTER_EMAIL: "chat@acme.example" });
  const clone = await cloneOf(gitdirOf(dataDir));
  const committer = (await runGit(["-C", clone, "log", "-1", "--format=%cn <%ce>"])).stdout.trim();
  const [file] = await signerFiles(clone);
  const signer = (await runGit(["-C", clone, "show", `HEAD:.gitchat/signers/${file}`])).stdout;
  const { line } = await publicKeyOf(dataDir);
  expect({ committer, signer }).toEqual({
    committer: "Acme Chat <chat@acme.example>",
    signer: `chat@acme.example namespaces="git" ${line.split(" ").slice(0, 2).join(" ")}\n`,
  });
});

test("a restart keeps the same key: one signer file, and the commits before and after verify with it", async () => {
  const dataDir = tempDir();
  const first = await startServer({ dataDir });
  expect((await send(first.url, "before the restart")).status).toBe(201);
  await first.stop();
  const before = await publicKeyOf(dataDir);
  const second = await startServer({ dataDir });
  expect((await send(second.url, "after the restart")).status).toBe(201);
  await second.stop();

  const clone = await cloneOf(gitdirOf(dataDir));
  const allowed = await allowedSignersOf(clone);
  expect({
    key: (await publicKeyOf(dataDir)).fingerprint,
    signers: (await signerFiles(clone)).length,
    verified: [(await verifyCommit(clone, "HEAD", allowed)).code, (await verifyCommit(clone, "HEAD~1", allowed)).code],
  }).toEqual({ key: before.fingerprint, signers: 1, verified: [0, 0] });
}, 30_000);

test("the key file is private (0600), and the log shows its public half, never the private one", async () => {
  const dataDir = tempDir();
  const server = await startServer({ dataDir });
  expect((await send(server.url, "hello")).status).toBe(201);
  await server.stop();
  const pem = readFileSync(keyPath(dataDir), "utf8");
  const der = Buffer.from(pem.replace(/-----[A-Z ]+-----/g, "").replace(/\s+/g, ""), "base64");
  // The private key itself: the last 32 bytes of the PKCS #8 structure.
  const seed = der.subarray(der.length - 32);
  const log = server.output();
  const { line } = await publicKeyOf(dataDir);
  expect({
    mode: statSync(keyPath(dataDir)).mode & 0o777,
    publicLogged: log.includes(line.split(" ")[1]!),
    privateLogged: [der.toString("base64"), seed.toString("base64"), seed.toString("hex")].some((secret) => log.includes(secret)),
  }).toEqual({ mode: 0o600, publicLogged: true, privateLogged: false });
}, 30_000);

test("a damaged key file stops start-up with one line naming it, and is not replaced", async () => {
  const dataDir = await channelWith(["hello"]);
  writeFileSync(keyPath(dataDir), "-----BEGIN PRIVATE KEY-----\nnot a key\n-----END PRIVATE KEY-----\n");
  const started = await runCli(["serve"], { dataDir, timeoutMs: 20_000 });
  expect({ code: started.code, stderr: started.stderr.trim().split("\n"), file: readFileSync(keyPath(dataDir), "utf8") }).toEqual({
    code: 1,
    stderr: [
      `gitchat: ${keyPath(dataDir)} is not an Ed25519 private key (damaged?): restore it from a backup. gitchat does not replace it, since a new key is a new identity for this server's commits`,
    ],
    file: "-----BEGIN PRIVATE KEY-----\nnot a key\n-----END PRIVATE KEY-----\n",
  });
});

test("a key file half-made by a killed start is removed at the next start, and the key made then is the one kept", async () => {
  const dataDir = tempDir();
  const leftover = `${keyPath(dataDir)}.tmp-99999`;
  writeFileSync(leftover, "-----BEGIN PRIVATE KEY-----\nhalf\n", { mode: 0o600 });
  const gitchat = await openTestGitchat({ dataDir });
  await gitchat.close();
  expect({ leftover: existsSync(leftover), key: (await publicKeyOf(dataDir)).line.startsWith("ssh-ed25519 ") }).toEqual({ leftover: false, key: true });
});
