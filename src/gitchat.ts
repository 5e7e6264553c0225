/**
 * The composition root: opens a data directory (lock, database, channels),
 * brings the index up to date with git, and wires the services and the HTTP
 * app. The CLI and the tests both start gitchat through here.
 */
import { randomBytes } from "node:crypto";
import { chmodSync, existsSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import type { Config } from "./config.ts";
import { checkDatabaseFile, moveDatabaseAside, openDatabase, type NewMessage } from "./db/database.ts";
import { lockDataDir, type DataDirLock } from "./db/lock.ts";
import { DamagedStoreError, DatabaseDamagedError, DataDirLockedError, InvalidInputError, storageFailure, UnknownUserError } from "./errors.ts";
import { makeDirectory } from "./git/durable.ts";
import { ChannelStore } from "./git/store.ts";
import { firstUnwritable, writtenDirs } from "./git/integrity.ts";
import { SigningKey, signingKeyPath } from "./git/signing-key.ts";
import { createApp } from "./http/app.ts";
import { AccountStore, readAccountTables, type AccountTables } from "./db/accounts.ts";
import { AccountService } from "./accounts/service.ts";
import { UnreadService } from "./messages/unread.ts";
import { HookService } from "./accounts/hooks.ts";
import { ChannelAccessStore, readChannelAccess, type NamedChannelAccess } from "./db/channel-access.ts";
import { readReadPlaces, type NamedReadPlace } from "./db/read-state.ts";
import { ChannelAccess } from "./repositories/access.ts";
import { verifyRepository, type RepositoryReport } from "./messages/consistency.ts";
import { HealthService } from "./repositories/health.ts";
import { channelRows, exportedChannel } from "./messages/export.ts";
import { versionsOf, type MessageVersion } from "./messages/history.ts";
import { emptyTally, type ImportTally } from "./messages/imported.ts";
import { MattermostExport, type MattermostChannel } from "./messages/mattermost.ts";
import { SlackExport } from "./messages/slack.ts";
import { MessageService, toMessageView, type MessageView, type ProgressSink } from "./messages/service.ts";
import { parseFullName, unknownRepository } from "./repositories/names.ts";
import { repairRepositories } from "./repositories/repair.ts";
import { gitdirFor, gitdirsUnder, RepositoryService, type Channel } from "./repositories/service.ts";
import { createGitHub, type GitHub } from "./github/client.ts";
import { createGitHubOAuth } from "./github/oauth.ts";
import { GitHubSignIn } from "./accounts/github-sign-in.ts";
import { SyncService, type SyncSettings } from "./sync/service.ts";
import { createLog, type Log } from "./log.ts";
import { Metrics } from "./metrics.ts";
import pkg from "../package.json" with { type: "json" };

export type { Log } from "./log.ts";

export const defaultLog: Log = createLog("text");

export const databasePath = (dataDir: string) => join(dataDir, "gitchat.db");

/**
 * Where a running server says how the CLI reaches it: DATA_DIR/control.json,
 * `{url, secret}`, 0600. The secret is new at each start; the CLI, run by
 * whoever may read the data directory, sends it as a bearer to hand work to
 * the server that owns the directory (`gitchat users`, `push`, `pull`), which
 * takes it as the operator's.
 */
export const controlPath = (dataDir: string) => join(dataDir, "control.json");

export type Control = { url: string; secret: string };

/** Writes the control file whole (a temporary file renamed into place), readable by this user only. */
export const writeControl = (dataDir: string, control: Control) => {
  const path = controlPath(dataDir);
  rmSync(`${path}.tmp`, { force: true });
  writeFileSync(`${path}.tmp`, JSON.stringify(control), { mode: 0o600 });
  renameSync(`${path}.tmp`, path);
};

/** The control file of the server that owns `dataDir`, or undefined when there is none or it cannot be read. */
export const readControl = (dataDir: string): Control | undefined => {
  try {
    const value = JSON.parse(readFileSync(controlPath(dataDir), "utf8")) as Partial<Control>;
    return typeof value.url === "string" && typeof value.secret === "string" ? { url: value.url, secret: value.secret } : undefined;
  } catch {
    return undefined;
  }
};

/**
 * The accounts of a data directory, for the CLI when no server owns it: the
 * lock and the index only (no channel is opened or indexed).
 */
export const openAccounts = (config: Config) => {
  checkWritable(config.dataDir, config.durability === "full");
  const lock = lockDataDir(config.dataDir);
  try {
    const db = openDatabase(databasePath(config.dataDir), { durable: config.durability === "full" });
    const publicUrl = config.publicUrl ?? `http://localhost:${config.port}`;
    const accounts = new AccountService(new AccountStore(db.sqlite), { publicUrl: () => publicUrl });
    return {
      accounts,
      close: () => {
        db.close();
        lock.release();
      },
    };
  } catch (error) {
    lock.release();
    throw error;
  }
};

export type OpenOptions = {
  now?: () => number;
  /** Tests pass a GitHub client tuned for speed. */
  github?: GitHub;
  sync?: Partial<Pick<SyncSettings, "debounceMs" | "maxBackoffMs">>;
  /** The data directory's lock, when the caller took it already (rebuild holds it across deleting the index). */
  lock?: DataDirLock;
  /** A progress line for indexing a channel (the CLI's, on a terminal). */
  progress?: (channel: Channel) => ProgressSink | undefined;
};

/**
 * Creates the data directory if needed, and throws a ReadOnlyStorageError
 * naming the first path gitchat must write and cannot (a read-only mount, no
 * permission) before anything is opened: one clear line instead of a failure
 * deep inside SQLite or git.
 */
const checkWritable = (dataDir: string, durable: boolean) => {
  try {
    if (!existsSync(dataDir)) makeDirectory(dataDir, durable, 0o700);
  } catch (error) {
    throw storageFailure(error, dirname(dataDir)) ?? error;
  }
  const db = databasePath(dataDir);
  const paths = [dataDir, db, `${db}-wal`, `${db}-shm`, join(dataDir, "repos")];
  for (const gitdir of gitdirsUnder(join(dataDir, "repos"))) paths.push(dirname(gitdir), ...writtenDirs(gitdir));
  const unwritable = firstUnwritable(paths);
  if (unwritable) throw unwritable;
};

/**
 * The server's signing key (git/signing-key.ts), made at the first start;
 * then its public half (never the private one) is logged, for GitHub's
 * "Verified" (see the README). The caller holds the data directory's lock.
 */
const signingKey = (config: Config, log: Log) => {
  const { key, created } = SigningKey.loadOrCreate(config.dataDir, config.durability === "full");
  if (created) {
    log(`made this server's commit signing key ${signingKeyPath(config.dataDir)}; its public key (${key.fingerprint}): ${key.publicKey}`, {
      fingerprint: key.fingerprint,
    });
  }
  return key;
};

/**
 * `gitchat signing-key`: the server's public key, as GitHub's "New SSH key"
 * form takes it (the committer's e-mail as its comment), and its fingerprint;
 * undefined before the first start made one. Reads only the key file.
 */
export const publicSigningKey = (config: Config) => {
  const key = SigningKey.read(config.dataDir);
  return key && { line: `${key.publicKey} ${config.committer.email}`, fingerprint: key.fingerprint };
};

export const openGitchat = async (config: Config, log: Log = defaultLog, options: OpenOptions = {}) => {
  if (!options.lock) checkWritable(config.dataDir, config.durability === "full");
  const lock = options.lock ?? lockDataDir(config.dataDir);
  try {
    const db = openDatabase(databasePath(config.dataDir), { durable: config.durability === "full" });
    if (db.fresh) log(`database ${databasePath(config.dataDir)} is new; indexing the git history`);
    const repositories = await RepositoryService.open(db, config.dataDir, config.defaultRepository, {
      packThreshold: config.packThreshold,
      durability: config.durability,
      onPackError: (error) => log(`packing failed: ${(error as Error).message}`, { level: "warn" }),
      signer: signingKey(config, log).signer(config.committer),
    });
    const { owner, name } = config.defaultRepository;
    const defaultRepository = repositories.resolve(`${owner}/${name}`).fullName;
    // Until the server listens (and knows its port), invite links point at the configured one.
    let publicUrl = config.publicUrl ?? `http://localhost:${config.port}`;
    const accountStore = new AccountStore(db.sqlite);
    const accounts = new AccountService(accountStore, { publicUrl: () => publicUrl, now: options.now });
    const hooks = new HookService(accountStore, accounts, { publicUrl: () => publicUrl, now: options.now });
    const channelAccess = new ChannelAccess(new ChannelAccessStore(db.sqlite), repositories, accounts, options.now);
    const metrics = new Metrics();
    const messages = new MessageService(db, repositories, {
      metrics,
      access: channelAccess,
      accountId: (login) => {
        try {
          return accounts.get(login).id;
        } catch (error) {
          if (error instanceof UnknownUserError) return undefined;
          throw error;
        }
      },
      author: config.author,
      emailHost: () => new URL(publicUrl).hostname,
      defaultRepository,
      now: options.now,
      progress: options.progress,
    });
    const unread = new UnreadService(db, channelAccess, options.now);
    const controlSecret = randomBytes(32).toString("base64url");
    for (const channel of repositories.list()) {
      const report = await messages.index(channel);
      if (report.indexed > 0) log(`${channel.fullName}: indexed ${report.indexed} message(s) from git`, { channel: channel.fullName, count: report.indexed });
      for (const problem of report.problems) log(`${channel.fullName}: ${problem}`, { level: "warn", channel: channel.fullName });
    }
    const github = config.github && (options.github ?? createGitHub({ token: config.github.token, apiUrl: config.github.apiUrl }));
    const githubSignIn = config.githubSignIn
      ? new GitHubSignIn(accounts, createGitHubOAuth(config.githubSignIn), {
          allowedUsers: config.githubSignIn.allowedUsers,
          repository: github ? { owner, name, github } : undefined,
        })
      : undefined;
    const sync = config.github && github
      ? new SyncService(
          db,
          repositories,
          messages,
          github,
          { token: config.github.token, gitUrl: config.github.gitUrl, intervalMs: config.github.syncInterval * 1000, ...options.sync },
          log,
          metrics,
        )
      : undefined;
    if (sync) metrics.readUnpushed(() => sync.unpushedByChannel());
    const shutdown = new AbortController();
    const app = createApp({
      shutdown: shutdown.signal,
      messages,
      unread,
      accounts,
      hooks,
      author: config.author,
      controlSecret,
      repositories,
      channelAccess,
      health: new HealthService(db, repositories),
      sync,
      log,
      version: pkg.version,
      defaultRepository,
      access: { accessToken: config.accessToken, corsOrigins: config.corsOrigins, rateLimit: config.rateLimit, trustProxy: config.trustProxy },
      githubWebhookSecret: config.github?.webhookSecret,
      githubSignIn,
      publicUrl: () => publicUrl,
      metrics,
    });
    const close = async () => {
      rmSync(controlPath(config.dataDir), { force: true });
      await messages.settled();
      await sync?.stop();
      await repositories.close();
      db.close();
      lock.release();
    };
    /** The server listens at `url` (on `port`): without PUBLIC_URL, invite links point there; the CLI finds it there. */
    const listening = (url: string, port: number) => {
      publicUrl = config.publicUrl ?? `http://localhost:${port}`;
      writeControl(config.dataDir, { url, secret: controlSecret });
    };
    /** Ends every live stream (at shutdown: they would otherwise hold the server open). */
    const closeStreams = () => shutdown.abort();
    return { config, db, repositories, channelAccess, messages, unread, accounts, hooks, sync, app, close, listening, closeStreams };
  } catch (error) {
    lock.release();
    throw error;
  }
};

export type Gitchat = Awaited<ReturnType<typeof openGitchat>>;

/** Deletes the SQLite index, so that the next open rebuilds it from git. */
export const dropDatabase = (dataDir: string) => {
  for (const suffix of ["", "-wal", "-shm"]) rmSync(`${databasePath(dataDir)}${suffix}`, { force: true });
};

/**
 * `gitchat verify`: each channel's report (messages/consistency.ts), in
 * order. Read-only: the index is opened read-only and the repositories for
 * reading, no channel is created, nothing is indexed or packed, and no file
 * is written; so it takes no lock.
 */
export const verifyChannels = async (
  config: Config,
  progressFor: ((what: string, unit?: string) => ProgressSink | undefined) | undefined,
  report: (report: RepositoryReport) => void,
) => {
  const db = openDatabase(databasePath(config.dataDir), { readonly: true });
  try {
    for (const repository of await RepositoryService.inspect(db, config.dataDir)) report(await verifyRepository(db, repository, progressFor));
  } finally {
    db.close();
  }
};

/**
 * `gitchat export`: hands each message of a channel (oldest first, from
 * `since`) to `write`, reading the index read-only, so that it runs beside a
 * server as `verify` does.
 */
export const exportChannel = async (
  config: Config,
  fullName: string,
  since: string | undefined,
  write: (message: MessageView & { history?: MessageVersion[] }) => void,
  options: { history?: boolean } = {},
) => {
  const db = openDatabase(databasePath(config.dataDir), { readonly: true });
  try {
    const repository = exportedChannel(db, fullName);
    // An edited message's versions: its edits from the index, its text as sent from git (read-only, beside a server).
    const store = options.history ? await ChannelStore.open(gitdirFor(config.dataDir, repository.owner, repository.name), { readOnly: true }) : undefined;
    let count = 0;
    for (const row of channelRows(db, repository.id, since)) {
      const message = toMessageView(row);
      write(store && row.edited_at !== null ? { ...message, history: await versionsOf(db, store, repository.id, row) } : message);
      count++;
    }
    return count;
  } finally {
    db.close();
  }
};

/**
 * What importing one channel did: `source`, its name in the export (a Slack
 * channel's name, a Mattermost team/channel); `imported` messages new here
 * (`replies` of them in a thread), `already` here before, new `edits` and
 * `reactions`; the rest as the tally says (messages/imported.ts).
 */
export type ImportReport = { source: string; channel: string; imported: number; already: number; replies: number; edits: number; reactions: number } & Pick<
  ImportTally,
  "skipped" | "cut" | "unthreaded" | "unlisted" | "tones"
>;

/** Messages committed at a time on import: large commits, in time order. */
const IMPORT_BATCH = 1_000;

/** An export's channels, by the name `--channel` maps, each with the gitchat channel it goes into unless mapped, and its files. */
type ImportSource<C> = { channels: C[]; nameOf(channel: C): string; defaultFullName(channel: C): string; messages(channel: C, tally: ImportTally): Iterable<NewMessage> };

/**
 * Each channel of an export into a gitchat channel (`mapping` from its name
 * in the export to "owner/name"), made when missing. The whole export was
 * checked before this is called. Holds the data directory's lock: no server may run.
 */
const importChannels = async <C>(
  config: Config,
  file: string,
  source: ImportSource<C>,
  mapping: Map<string, string>,
  progressFor?: (what: string) => ProgressSink | undefined,
): Promise<ImportReport[]> => {
  for (const name of mapping.keys()) {
    if (!source.channels.some((c) => source.nameOf(c) === name)) throw new InvalidInputError(`${file} has no channel ${name} (--channel ${name}=...)`);
  }
  const gitchat = await openGitchat(config, () => {});
  try {
    const reports: ImportReport[] = [];
    for (const from of source.channels) {
      const name = source.nameOf(from);
      const fullName = mapping.get(name) ?? source.defaultFullName(from);
      const [channelOwner, channelName] = fullName.split("/") as [string, string];
      const channel = gitchat.repositories.list().find((c) => c.fullName.toLowerCase() === fullName.toLowerCase()) ?? (await gitchat.repositories.create(channelOwner, channelName));
      const tally = emptyTally();
      const progress = progressFor?.(`${name} -> ${channel.fullName}: importing`);
      const added = { message: 0, reply: 0, edit: 0, react: 0 };
      let batch: NewMessage[] = [];
      const flush = async () => {
        for (const file of await gitchat.messages.importMessages(channel, batch)) {
          if (file.target === undefined) added.message++;
          if (file.reply_to !== undefined) added.reply++;
          if (file.type === "edit") added.edit++;
          if (file.type === "react") added.react++;
        }
        batch = [];
        progress?.update(tally.messages, undefined);
      };
      try {
        for (const message of source.messages(from, tally)) {
          batch.push(message);
          if (batch.length >= IMPORT_BATCH) await flush();
        }
        await flush();
      } finally {
        progress?.end();
      }
      await channel.store.idle();
      const { skipped, cut, unthreaded, unlisted, tones } = tally;
      reports.push({
        source: name,
        channel: channel.fullName,
        imported: added.message,
        already: tally.messages - added.message,
        replies: added.reply,
        edits: added.edit,
        reactions: added.react,
        ...{ skipped, cut, unthreaded, unlisted, tones },
      });
    }
    return reports;
  } finally {
    await gitchat.close();
  }
};

/**
 * `gitchat import slack`: each channel of a Slack export into a gitchat
 * channel (`mapping` from a Slack channel's name to "owner/name", else
 * `owner/<its name>`, owner the default channel's).
 */
export const importSlack = (config: Config, file: string, mapping: Map<string, string>, progressFor?: (what: string) => ProgressSink | undefined) => {
  const slack = SlackExport.open(file, new Uint8Array(readFileSync(file)));
  const owner = config.defaultRepository.owner;
  return importChannels(
    config,
    file,
    { channels: slack.channels, nameOf: (c) => c.name, defaultFullName: (c) => `${owner}/${c.name}`, messages: (c, tally) => slack.messages(c, tally) },
    mapping,
    (what) => progressFor?.(`#${what}`),
  );
};

/**
 * `gitchat import mattermost`: each channel of a Mattermost bulk export
 * into the gitchat channel `team/channel` (or as `mapping` says, by
 * "team/channel"). Also says how many direct messages were left out.
 */
export const importMattermost = async (
  config: Config,
  file: string,
  mapping: Map<string, string>,
  progressFor?: (what: string) => ProgressSink | undefined,
): Promise<{ reports: ImportReport[]; direct: number }> => {
  const mattermost = MattermostExport.open(file, readFileSync(file, "utf8"));
  const name = (c: MattermostChannel) => `${c.team}/${c.name}`;
  const reports = await importChannels(
    config,
    file,
    { channels: mattermost.channels, nameOf: name, defaultFullName: name, messages: (c, tally) => mattermost.messages(c, tally) },
    mapping,
    progressFor,
  );
  return { reports, direct: mattermost.direct };
};

/** Throws the first damage found in a repository of the data directory (read-only; the index is read if it can be). */
const refuseDamagedRepositories = async (dataDir: string) => {
  let db: ReturnType<typeof openDatabase> | undefined;
  try {
    db = openDatabase(databasePath(dataDir), { readonly: true });
  } catch {
    // No index, or a damaged one: the repositories are checked without what it recorded.
  }
  try {
    const damaged = (await RepositoryService.inspect(db, dataDir)).find((r) => r.damage);
    if (damaged) throw new DamagedStoreError(damaged.damage!);
  } finally {
    db?.close();
  }
};

/**
 * `gitchat rebuild`: recreates the index from git, holding the data
 * directory's lock throughout. An index that reads back whole is deleted; one
 * that cannot be opened or read (a damaged file) is moved aside, never
 * deleted, and `movedAside` names where it went.
 */
export const rebuildGitchat = async (config: Config, log: Log = defaultLog, options: Pick<OpenOptions, "progress"> = {}) => {
  checkWritable(config.dataDir, config.durability === "full");
  const lock = lockDataDir(config.dataDir);
  let movedAside: string | undefined;
  // Accounts are not in git: they are carried from the old index to the new one.
  let accounts: AccountTables | undefined;
  // Nor is who sees a private channel: carried too, or each would come back public.
  let channelAccess: NamedChannelAccess[] | undefined;
  // Nor how far each person has read each channel: carried, or every channel would be unread again.
  let readPlaces: NamedReadPlace[] | undefined;
  try {
    const path = databasePath(config.dataDir);
    // A damaged repository first: the index may hold the only copy of what git lost, and `repair` needs it.
    await refuseDamagedRepositories(config.dataDir);
    if (existsSync(path)) {
      try {
        checkDatabaseFile(path);
        accounts = readAccountTables(path);
        channelAccess = readChannelAccess(path);
        readPlaces = readReadPlaces(path);
        dropDatabase(config.dataDir);
      } catch {
        movedAside = moveDatabaseAside(path);
        try {
          accounts = readAccountTables(movedAside);
        } catch {
          log(`the accounts in the damaged index could not be read: add people again with gitchat users add (the index is kept at ${movedAside})`);
        }
        try {
          channelAccess = readChannelAccess(movedAside);
        } catch {
          log(`who sees which private channel could not be read from the damaged index: every channel is public until an admin makes it private again (PATCH /repositories/{owner}/{name}; the index is kept at ${movedAside})`);
        }
        try {
          readPlaces = readReadPlaces(movedAside);
        } catch {
          log(`how far each person had read each channel could not be read from the damaged index: channels show as unread again (the index is kept at ${movedAside})`);
        }
      }
    }
  } catch (error) {
    lock.release();
    throw error;
  }
  const gitchat = await openGitchat(config, log, { lock, ...options });
  if (accounts) gitchat.accounts.restore(accounts);
  if (channelAccess) gitchat.channelAccess.restore(channelAccess);
  if (readPlaces) gitchat.unread.restore(readPlaces);
  return { gitchat, movedAside };
};

export const makePrivate = (path: string) => {
  if (existsSync(path)) chmodSync(path, 0o700);
};

/**
 * `gitchat repair`: with the data directory's lock (never beside a server),
 * repairs every channel's repository (see repositories/repair.ts), moves an
 * index that cannot be read aside, then opens the directory as a server
 * would, which re-runs every start-up check and indexes what is missing.
 * Returns one line per channel, and one for the index when it was moved.
 */
export const repairGitchat = async (config: Config) => {
  checkWritable(config.dataDir, config.durability === "full");
  const lock = lockDataDir(config.dataDir);
  const lines: string[] = [];
  try {
    const path = databasePath(config.dataDir);
    let db: ReturnType<typeof openDatabase> | undefined;
    try {
      db = openDatabase(path);
    } catch (error) {
      if (!(error instanceof DatabaseDamagedError)) throw error;
    }
    try {
      for (const { name, actions } of await repairRepositories(config.dataDir, db, signingKey(config, (line) => lines.push(line)).signer(config.committer))) {
        lines.push(`${name}: ${actions.length > 0 ? actions.join("; ") : "consistent"}`);
      }
    } finally {
      db?.close();
    }
    if (!db) lines.push(`the index ${path} could not be read: moved it aside to ${moveDatabaseAside(path)} and rebuilt it from git`);
  } catch (error) {
    lock.release();
    throw error;
  }
  const gitchat = await openGitchat(config, () => {}, { lock });
  await gitchat.close();
  return lines;
};

/**
 * Whether another process (a server) holds the data directory's lock now.
 * Takes the lock and drops it at once when it is free; a directory that does
 * not exist is held by no one.
 */
export const dataDirInUse = (dataDir: string) => {
  if (!existsSync(dataDir)) return false;
  try {
    lockDataDir(dataDir).release();
    return false;
  } catch (error) {
    if (error instanceof DataDirLockedError) return true;
    throw error;
  }
};

/**
 * `gitchat tail` with no server: a channel's messages from the index, read
 * like `verify` reads it (read-only, no lock, nothing written), so a server
 * may start beside it. With `after`: what arrived since that cursor;
 * otherwise the newest `limit`. `latest` is the cursor to follow from, read
 * before the messages (nothing that arrives after it can be missed). Each
 * call opens the index afresh: a reader of a file with no `-wal` beside it
 * is told the file cannot change, which stops being true once a server or a
 * `gitchat send` writes it.
 */
export const readIndex = (config: Config, repository: string, query: { after?: number; limit: number }): { messages: MessageView[]; latest: number } => {
  const db = openDatabase(databasePath(config.dataDir), { readonly: true });
  try {
    const { owner, name } = parseFullName(repository);
    const channel = db.findRepository(owner, name);
    if (!channel) throw unknownRepository(owner, name);
    const latest = db.latestCursor();
    return { messages: db.listMessages({ repositoryId: channel.id, ...query }).map(toMessageView), latest };
  } finally {
    db.close();
  }
};
