/**
 * Who sees a channel, as the index records it (the migration that makes these
 * tables is in database.ts): whether it is private, who created it, and its
 * members. Statements only; the rules are repositories/access.ts's.
 */
import { Database } from "bun:sqlite";

export type ChannelAccessRow = { repository_id: number; private: 0 | 1; creator: string | null };
export type ChannelMemberRow = { repository_id: number; login: string; added_at: number };

/** A channel's access by its name, not its row id: what a rebuild carries from the old index to the new one. */
export type NamedChannelAccess = { owner: string; name: string; private: boolean; creator: string | null; members: { login: string; added_at: number }[] };

/**
 * The access rows of the index at `path`, by channel name, read-only; empty
 * for an index from before private channels. Throws when the file cannot be read.
 */
export const readChannelAccess = (path: string): NamedChannelAccess[] => {
  const db = new Database(path, { readonly: true });
  try {
    const present = db.query<{ one: number }, []>("SELECT 1 AS one FROM sqlite_master WHERE type = 'table' AND name = 'channel_access'").get();
    if (!present) return [];
    const channels = db
      .query<ChannelAccessRow & { owner: string; name: string }, []>(
        "SELECT a.*, r.owner, r.name FROM channel_access a JOIN repositories r ON r.id = a.repository_id",
      )
      .all();
    const members = db.query<ChannelMemberRow, []>("SELECT * FROM channel_members").all();
    return channels.map((c) => ({
      owner: c.owner,
      name: c.name,
      private: c.private === 1,
      creator: c.creator,
      members: members.filter((m) => m.repository_id === c.repository_id).map((m) => ({ login: m.login, added_at: m.added_at })),
    }));
  } finally {
    db.close();
  }
};

export class ChannelAccessStore {
  constructor(private readonly sqlite: Database) {}

  all(): ChannelAccessRow[] {
    return this.sqlite.query<ChannelAccessRow, []>("SELECT * FROM channel_access").all();
  }

  members(): ChannelMemberRow[] {
    return this.sqlite.query<ChannelMemberRow, []>("SELECT * FROM channel_members ORDER BY login").all();
  }

  /** Records a channel's visibility and creator (the creator is kept as it was when `creator` is undefined). */
  set(repositoryId: number, isPrivate: boolean, creator?: string | null) {
    this.sqlite.run(
      `INSERT INTO channel_access (repository_id, private, creator) VALUES (?, ?, ?)
       ON CONFLICT (repository_id) DO UPDATE SET private = excluded.private${creator === undefined ? "" : ", creator = excluded.creator"}`,
      [repositoryId, isPrivate ? 1 : 0, creator ?? null],
    );
  }

  addMember(repositoryId: number, login: string, at: number) {
    this.sqlite.run("INSERT OR IGNORE INTO channel_members (repository_id, login, added_at) VALUES (?, ?, ?)", [repositoryId, login, at]);
  }

  removeMember(repositoryId: number, login: string) {
    this.sqlite.run("DELETE FROM channel_members WHERE repository_id = ? AND login = ?", [repositoryId, login]);
  }
}
