/**
 * Channels: each is a repository row in SQLite and a bare git repository under
 * `<data>/repos/<owner>/<name>.git`. The git repository also records the
 * channel's name and creation time in its config, so a lost database can be
 * rebuilt from the data directory alone.
 */
import { existsSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { ConflictError, UnknownRepositoryError } from "../errors.ts";
import type { MessageDatabase, RepositoryRow } from "../db/database.ts";
import { ChannelStore, type StoreOptions } from "../git/store.ts";
import { checkName, checkOwner, parseFullName } from "./names.ts";

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

export class RepositoryService {
  private readonly channels = new Map<number, Channel>();
  private creating: Promise<unknown> = Promise.resolve();

  private constructor(
    private readonly db: MessageDatabase,
    private readonly reposDir: string,
    private readonly storeOptions: StoreOptions,
  ) {}

  /**
   * Opens every channel the database knows and every one found on disk that
   * it does not (after the database was lost), then makes sure the default exists.
   */
  static async open(
    db: MessageDatabase,
    dataDir: string,
    defaultRepository: { owner: string; name: string },
    storeOptions: StoreOptions = {},
  ) {
    const service = new RepositoryService(db, join(dataDir, "repos"), storeOptions);
    for (const row of db.listRepositories()) await service.attach(row);
    for (const gitdir of service.gitdirsOnDisk()) {
      const store = await ChannelStore.open(gitdir, storeOptions);
      const owner = await store.getConfig("gitchat.owner");
      const name = await store.getConfig("gitchat.name");
      const createdAt = (await store.getConfig("gitchat.createdAt")) ?? new Date().toISOString();
      if (!owner || !name || db.findRepository(owner, name)) continue;
      const row = db.insertRepository(owner, name, createdAt);
      service.channels.set(row.id, { ...service.describe(row), store });
    }
    checkOwner(defaultRepository.owner);
    checkName(defaultRepository.name);
    if (!db.findRepository(defaultRepository.owner, defaultRepository.name)) {
      await service.create(defaultRepository.owner, defaultRepository.name);
    }
    return service;
  }

  private gitdirsOnDisk() {
    if (!existsSync(this.reposDir)) return [];
    return readdirSync(this.reposDir).flatMap((owner) =>
      readdirSync(join(this.reposDir, owner))
        .filter((n) => n.endsWith(".git"))
        .map((n) => join(this.reposDir, owner, n)),
    );
  }

  private gitdirFor(owner: string, name: string) {
    // GitHub names are case-insensitive, and so is this path: Foo/Bar and foo/bar are one channel.
    return join(this.reposDir, owner.toLowerCase(), `${name.toLowerCase()}.git`);
  }

  private describe(row: RepositoryRow) {
    return { id: row.id, owner: row.owner, name: row.name, fullName: `${row.owner}/${row.name}`, createdAt: row.created_at };
  }

  private async attach(row: RepositoryRow) {
    const store = await this.openStore(row.owner, row.name, row.created_at);
    const channel = { ...this.describe(row), store };
    this.channels.set(row.id, channel);
    return channel;
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

  list(): Channel[] {
    return [...this.channels.values()];
  }

  /** Creates run one at a time, so that two requests for one name get one 201 and one 409. */
  create(owner: string, name: string): Promise<Channel> {
    const run = this.creating.then(() => this.createNow(owner, name));
    this.creating = run.catch(() => undefined);
    return run;
  }

  private async createNow(owner: string, name: string): Promise<Channel> {
    checkOwner(owner);
    checkName(name);
    const existing = this.db.findRepository(owner, name);
    if (existing) throw new ConflictError(`repository ${existing.owner}/${existing.name} already exists`);
    const createdAt = new Date().toISOString();
    // The git repository first: a crash after it leaves a channel that the next start finds on disk.
    const store = await this.openStore(owner, name, createdAt);
    const row = this.db.insertRepository(owner, name, createdAt);
    const channel = { ...this.describe(row), store };
    this.channels.set(row.id, channel);
    return channel;
  }

  /** The channel named "owner/name" (any letter case), or the 404 that says it does not exist. */
  resolve(fullName: string): Channel {
    const { owner, name } = parseFullName(fullName);
    const row = this.db.findRepository(owner, name);
    const channel = row && this.channels.get(row.id);
    if (!channel) {
      throw new UnknownRepositoryError(`repository ${owner}/${name} does not exist; create it with POST /repositories`);
    }
    return channel;
  }

  async close() {
    await Promise.all(this.list().map((c) => c.store.idle()));
  }
}
