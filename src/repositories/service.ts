/**
 * Channels: each is a repository row in SQLite and a bare git repository under
 * `<data>/repos/<owner>/<name>.git`. The git repository also records the
 * channel's name and creation time in its config, so a lost database can be
 * rebuilt from the data directory alone.
 */
import { existsSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { ConflictError, DamagedStoreError } from "../errors.ts";
import type { MessageDatabase, RepositoryRow } from "../db/database.ts";
import { describePackDamage, firstUnwritable, inspectBranch, inspectPacks, writtenDirs } from "../git/integrity.ts";
import { ChannelStore, type CommitSigner, type StoreOptions } from "../git/store.ts";
import { checkName, checkOwner, parseFullName, unknownRepository } from "./names.ts";

export type Channel = {
  id: number;
  owner: string;
  name: string;
  fullName: string;
  createdAt: string;
  store: ChannelStore;
};

export type RepositoryView = { id: number; name: string; owner: string; full_name: string; created_at: string };

export const toRepositoryView = (c: Channel): RepositoryView => ({
  id: c.id,
  name: c.name,
  owner: c.owner,
  full_name: c.fullName,
  created_at: c.createdAt,
});

/** A channel's repository as `gitchat verify` sees it: opened for reading only, or the damage that stops it being read. */
export type InspectedRepository = {
  fullName: string;
  gitdir: string;
  row: RepositoryRow | undefined;
  store: ChannelStore | undefined;
  damage: string | undefined;
};

const damaged = (fullName: string, gitdir: string, what: string, indexed?: string | null) =>
  new DamagedStoreError(
    `channel ${fullName} (${gitdir}): ${what}; the index last knew commit ${indexed ?? "(none)"}. ` +
      "Nothing was written: stop gitchat and run `gitchat repair`",
  );

/**
 * The checks that a channel's repository is whole enough to use, run at
 * start-up (which refuses to start on damage) and by `gitchat verify` and
 * `gitchat rebuild` (which report it): the repository exists if the index
 * knew a commit of it, its packs are whole, and its branch reads back and
 * contains the last indexed commit. `open` opens the store once the packs
 * passed; nothing here writes. No store and no damage: the repository does
 * not exist, and the index knew no commit of it.
 */
const checkRepository = async (
  fullName: string,
  gitdir: string,
  indexed: string | null | undefined,
  open: () => Promise<ChannelStore>,
): Promise<{ store: ChannelStore | undefined; damage: DamagedStoreError | undefined }> => {
  // A repository that held commits and is gone is not made again, empty, under the index.
  if (!existsSync(join(gitdir, "HEAD"))) return { store: undefined, damage: indexed ? damaged(fullName, gitdir, "the repository is missing", indexed) : undefined };
  const [pack] = inspectPacks(gitdir);
  if (pack) return { store: undefined, damage: damaged(fullName, gitdir, describePackDamage(pack), indexed) };
  const store = await open();
  const problem = await inspectBranch(store, indexed);
  return { store, damage: problem ? damaged(fullName, gitdir, problem, indexed) : undefined };
};

/** Where the repository of channel owner/name lives under a data directory (names are case-insensitive, as on GitHub). */
export const gitdirFor = (dataDir: string, owner: string, name: string) =>
  join(dataDir, "repos", owner.toLowerCase(), `${name.toLowerCase()}.git`);

/** Every channel repository under a data directory's `repos/`. */
export const gitdirsUnder = (reposDir: string) => {
  if (!existsSync(reposDir)) return [];
  return readdirSync(reposDir).flatMap((owner) =>
    readdirSync(join(reposDir, owner))
      .filter((n) => n.endsWith(".git"))
      .map((n) => join(reposDir, owner, n)),
  );
};

/** The key a channel is found by: names are case-insensitive (ASCII only, see names.ts), as SQLite's NOCASE compares them. */
const nameKey = (owner: string, name: string) => `${owner.toLowerCase()}/${name.toLowerCase()}`;

export class RepositoryService {
  private readonly channels = new Map<number, Channel>();
  /** The same channels by nameKey: every send resolves its channel, and a query per send was 3% of its time. */
  private readonly byName = new Map<string, Channel>();
  private creating: Promise<unknown> = Promise.resolve();

  private constructor(
    private readonly db: MessageDatabase,
    private readonly reposDir: string,
    private readonly storeOptions: StoreOptions & { signer: CommitSigner },
  ) {}

  /**
   * Opens every channel the database knows and every one found on disk that
   * it does not (after the database was lost), then makes sure the default exists.
   * A damaged repository (see git/integrity.ts) stops it with a DamagedStoreError
   * that names the channel, its directory and `gitchat repair`.
   */
  static async open(
    db: MessageDatabase,
    dataDir: string,
    defaultRepository: { owner: string; name: string },
    storeOptions: StoreOptions & { signer: CommitSigner },
  ) {
    const service = new RepositoryService(db, join(dataDir, "repos"), storeOptions);
    for (const row of db.listRepositories()) {
      const fullName = `${row.owner}/${row.name}`;
      const gitdir = service.gitdirFor(row.owner, row.name);
      const { store, damage } = await checkRepository(fullName, gitdir, row.indexed_commit, async () => (await service.attach(row)).store);
      if (damage) throw damage;
      // A channel whose repository was never written (nor is on disk) gets it now.
      if (!store) await service.attach(row);
    }
    const attached = new Set(service.list().map((c) => c.store.gitdir));
    for (const gitdir of gitdirsUnder(service.reposDir)) {
      if (attached.has(gitdir)) continue;
      service.checkPacks(gitdir, gitdir, undefined);
      const store = await ChannelStore.open(gitdir, storeOptions);
      const owner = await store.getConfig("gitchat.owner");
      const name = await store.getConfig("gitchat.name");
      const createdAt = (await store.getConfig("gitchat.createdAt")) ?? new Date().toISOString();
      if (!owner || !name || db.findRepository(owner, name)) continue;
      const problem = await inspectBranch(store, undefined);
      if (problem) throw damaged(`${owner}/${name}`, gitdir, problem);
      const row = db.insertRepository(owner, name, createdAt);
      service.add({ ...service.describe(row), store });
    }
    checkOwner(defaultRepository.owner);
    checkName(defaultRepository.name);
    if (!db.findRepository(defaultRepository.owner, defaultRepository.name)) {
      await service.create(defaultRepository.owner, defaultRepository.name);
    }
    return service;
  }

  private checkPacks(fullName: string, gitdir: string, indexed: string | null | undefined) {
    const [first] = inspectPacks(gitdir);
    if (first) throw damaged(fullName, gitdir, describePackDamage(first), indexed);
  }

  /**
   * The repositories of a data directory for reading only (`gitchat verify`):
   * never creates, writes or indexes anything. Each comes with the damage
   * found by the start-up checks, if any, instead of an exception.
   */
  static async inspect(db: MessageDatabase | undefined, dataDir: string): Promise<InspectedRepository[]> {
    const found: InspectedRepository[] = [];
    const rows = db?.listRepositories() ?? [];
    for (const row of rows) {
      const fullName = `${row.owner}/${row.name}`;
      const gitdir = gitdirFor(dataDir, row.owner, row.name);
      found.push({ fullName, gitdir, row, ...(await RepositoryService.inspectOne(fullName, gitdir, row.indexed_commit)) });
    }
    const known = new Set(found.map((r) => r.gitdir));
    for (const gitdir of gitdirsUnder(join(dataDir, "repos"))) {
      if (!known.has(gitdir)) found.push({ fullName: gitdir, gitdir, row: undefined, ...(await RepositoryService.inspectOne(gitdir, gitdir, null)) });
    }
    return found;
  }

  private static async inspectOne(fullName: string, gitdir: string, indexed: string | null) {
    const { store, damage } = await checkRepository(fullName, gitdir, indexed, () => ChannelStore.open(gitdir, { readOnly: true }));
    if (!store && !damage) return { store: undefined, damage: `${gitdir} is missing or not a git repository` };
    return { store: damage ? undefined : store, damage: damage?.message };
  }

  /**
   * What stops the channels being written now, for /health: a directory that
   * cannot be written, damage `packDamage` finds in a channel's packs (see
   * HealthService, which decides how often packs are looked at), a branch
   * that moved or vanished under this server. Empty when all is well.
   */
  health(packDamage: (channel: Channel) => string[]): string[] {
    const problems: string[] = [];
    const unwritable = firstUnwritable([join(this.reposDir, ".."), this.reposDir, ...this.list().flatMap((c) => writtenDirs(c.store.gitdir))]);
    if (unwritable) problems.push(unwritable.message);
    for (const channel of this.list()) {
      problems.push(...packDamage(channel));
      try {
        channel.store.checkHeadUnchanged();
      } catch (error) {
        problems.push(`channel ${channel.fullName}: ${(error as Error).message}`);
      }
    }
    return problems;
  }

  private gitdirFor(owner: string, name: string) {
    // GitHub names are case-insensitive, and so is this path: Foo/Bar and foo/bar are one channel.
    return gitdirFor(join(this.reposDir, ".."), owner, name);
  }

  private describe(row: RepositoryRow) {
    return { id: row.id, owner: row.owner, name: row.name, fullName: `${row.owner}/${row.name}`, createdAt: row.created_at };
  }

  private async attach(row: RepositoryRow) {
    const store = await this.openStore(row.owner, row.name, row.created_at);
    const channel = { ...this.describe(row), store };
    this.add(channel);
    return channel;
  }

  private add(channel: Channel) {
    this.channels.set(channel.id, channel);
    this.byName.set(nameKey(channel.owner, channel.name), channel);
  }

  /** Opens (or creates) a channel's git repository and records in it which channel it is. */
  private async openStore(owner: string, name: string, createdAt: string) {
    const store = await ChannelStore.open(this.gitdirFor(owner, name), this.storeOptions);
    if ((await store.getConfig("gitchat.name")) === undefined) {
      await store.setConfig("gitchat.owner", owner);
      await store.setConfig("gitchat.name", name);
      await store.setConfig("gitchat.createdAt", createdAt);
    }
    return store;
  }

  /** The commit a channel's `main` points at, or undefined while it is empty. */
  head(channel: Channel): Promise<string | undefined> {
    return channel.store.head();
  }

  list(): Channel[] {
    return [...this.channels.values()];
  }

  /**
   * Creates run one at a time, so that two requests for one name get one 201
   * and one 409. `record` runs in the transaction that inserts the channel's
   * row, before anyone can find it (who may see it: repositories/access.ts).
   */
  create(owner: string, name: string, record?: (channelId: number) => void): Promise<Channel> {
    const run = this.creating.then(() => this.createNow(owner, name, record));
    this.creating = run.catch(() => undefined);
    return run;
  }

  private async createNow(owner: string, name: string, record?: (channelId: number) => void): Promise<Channel> {
    checkOwner(owner);
    checkName(name);
    const existing = this.db.findRepository(owner, name);
    if (existing) throw new ConflictError(`repository ${existing.owner}/${existing.name} already exists`);
    const createdAt = new Date().toISOString();
    // The git repository first: a crash after it leaves a channel that the next start finds on disk.
    const store = await this.openStore(owner, name, createdAt);
    const row = this.db.sqlite.transaction(() => {
      const inserted = this.db.insertRepository(owner, name, createdAt);
      record?.(inserted.id);
      return inserted;
    })();
    const channel = { ...this.describe(row), store };
    this.add(channel);
    return channel;
  }

  /** The channel named "owner/name" (any letter case), or the 404 that says it does not exist. */
  resolve(fullName: string): Channel {
    const { owner, name } = parseFullName(fullName);
    const channel = this.byName.get(nameKey(owner, name));
    if (!channel) throw unknownRepository(owner, name);
    return channel;
  }

  async close() {
    await Promise.all(this.list().map((c) => c.store.idle()));
  }
}
