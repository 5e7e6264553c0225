/**
 * The account tables of the index's database (the migrations that make them
 * are in database.ts): people and bots, invites, sessions, personal API
 * tokens, and incoming webhooks (each posting as its own bot). Statements only; the rules (who may do what, expiry, hashing) are
 * the accounts service's. Secrets arrive here already hashed.
 */
import { Database } from "bun:sqlite";

export type Role = "member" | "admin" | "bot";

export type UserRow = {
  login: string;
  name: string;
  role: Role;
  password_hash: string | null;
  /** A GitHub account's numeric id: set when the account was made by "Sign in with GitHub". */
  github_id: number | null;
  created_at: number;
  removed_at: number | null;
};

export type InviteRow = { secret_hash: Uint8Array; login: string; created_at: number; expires_at: number; used_at: number | null };

export type SessionRow = {
  id_hash: Uint8Array;
  login: string;
  created_at: number;
  last_seen_at: number;
  user_agent: string;
  address: string;
};

export type TokenRow = { id: string; hash: Uint8Array; login: string; label: string; created_at: number; last_used_at: number | null };

/** An incoming webhook: it posts into `repository` (owner/name) as the bot account `login`. */
export type HookRow = { id: string; secret_hash: Uint8Array; repository: string; name: string; login: string; created_at: number };

/** Every row of the account tables: what a rebuild of the index carries over (git holds no account). */
export type AccountTables = { users: UserRow[]; invites: InviteRow[]; sessions: SessionRow[]; tokens: TokenRow[]; hooks: HookRow[] };

/** In the order a rebuild stores them (users first: the others name one). */
const TABLES = ["users", "invites", "sessions", "tokens", "hooks"] as const;

/**
 * The account tables of the index at `path`, read-only; empty when it has
 * none (an index from before accounts). Throws when the file cannot be read.
 */
export const readAccountTables = (path: string): AccountTables => {
  const db = new Database(path, { readonly: true });
  try {
    const present = new Set(db.query<{ name: string }, []>("SELECT name FROM sqlite_master WHERE type = 'table'").all().map((r) => r.name));
    const rows = (table: (typeof TABLES)[number]) => (present.has(table) ? db.query(`SELECT * FROM ${table}`).all() : []);
    return {
      users: rows("users") as UserRow[],
      invites: rows("invites") as InviteRow[],
      sessions: rows("sessions") as SessionRow[],
      tokens: rows("tokens") as TokenRow[],
      hooks: rows("hooks") as HookRow[],
    };
  } finally {
    db.close();
  }
};

export class AccountStore {
  constructor(private readonly sqlite: Database) {}

  /** Stores `tables` as they were (into an index that holds no account yet: a rebuild's), in one transaction. */
  importAll(tables: AccountTables) {
    this.sqlite.transaction(() => {
      for (const table of TABLES) {
        for (const row of tables[table]) {
          const columns = Object.keys(row);
          this.sqlite.run(
            `INSERT INTO ${table} (${columns.join(", ")}) VALUES (${columns.map(() => "?").join(", ")})`,
            Object.values(row) as (string | number | null | Uint8Array)[],
          );
        }
      }
    })();
  }

  /**
   * Whether any person's account exists (removed ones count: accounts were
   * turned on). Bots do not count: a bot, or an incoming webhook's, signs
   * nobody in to the page, so making one leaves the open local mode and the
   * shared-name login as they were.
   */
  hasUsers() {
    return this.sqlite.query<{ one: number }, []>("SELECT 1 AS one FROM users WHERE role != 'bot' LIMIT 1").get() !== null;
  }

  /** The account with this login in any letter case, removed or not. */
  findUser(login: string): UserRow | undefined {
    return this.sqlite.query<UserRow, [string]>("SELECT * FROM users WHERE login = ?").get(login) ?? undefined;
  }

  listUsers(): UserRow[] {
    return this.sqlite.query<UserRow, []>("SELECT * FROM users WHERE removed_at IS NULL ORDER BY login").all();
  }

  insertUser(user: Pick<UserRow, "login" | "name" | "role" | "created_at"> & { github_id?: number }) {
    this.sqlite.run("INSERT INTO users (login, name, role, created_at, github_id) VALUES (?, ?, ?, ?, ?)", [
      user.login, user.name, user.role, user.created_at, user.github_id ?? null,
    ]);
  }

  /** The account a GitHub user id signed up, removed or not. */
  findUserByGitHubId(id: number): UserRow | undefined {
    return this.sqlite.query<UserRow, [number]>("SELECT * FROM users WHERE github_id = ?").get(id) ?? undefined;
  }

  updateUser(login: string, change: Partial<Pick<UserRow, "name" | "role" | "password_hash" | "removed_at">>) {
    for (const [column, value] of Object.entries(change)) {
      // Column names come from the type above, never from a request.
      this.sqlite.run(`UPDATE users SET ${column} = ? WHERE login = ?`, [value, login]);
    }
  }

  /** Removes an account: marks it, and ends its sessions, tokens and unused invites in the same transaction. */
  removeUser(login: string, at: number) {
    this.sqlite.transaction(() => {
      this.sqlite.run("UPDATE users SET removed_at = ?, password_hash = NULL WHERE login = ?", [at, login]);
      this.endSessionsOf(login);
      this.sqlite.run("DELETE FROM tokens WHERE login = ?", [login]);
      this.sqlite.run("DELETE FROM invites WHERE login = ?", [login]);
    })();
  }

  insertInvite(invite: Omit<InviteRow, "used_at">) {
    this.sqlite.run("INSERT INTO invites (secret_hash, login, created_at, expires_at) VALUES (?, ?, ?, ?)", [
      invite.secret_hash, invite.login, invite.created_at, invite.expires_at,
    ]);
  }

  /** Drops the invites of `login` not used yet (a new one replaces them). */
  dropUnusedInvites(login: string) {
    this.sqlite.run("DELETE FROM invites WHERE login = ? AND used_at IS NULL", [login]);
  }

  findInvite(secretHash: Uint8Array): InviteRow | undefined {
    return this.sqlite.query<InviteRow, [Uint8Array]>("SELECT * FROM invites WHERE secret_hash = ?").get(secretHash) ?? undefined;
  }

  /** Marks an invite used, only if it was not: false when another request used it first. */
  useInvite(secretHash: Uint8Array, at: number) {
    return this.sqlite.run("UPDATE invites SET used_at = ? WHERE secret_hash = ? AND used_at IS NULL", [at, secretHash]).changes === 1;
  }

  insertSession(session: SessionRow) {
    this.sqlite.run(
      "INSERT INTO sessions (id_hash, login, created_at, last_seen_at, user_agent, address) VALUES (?, ?, ?, ?, ?, ?)",
      [session.id_hash, session.login, session.created_at, session.last_seen_at, session.user_agent, session.address],
    );
  }

  findSession(idHash: Uint8Array): SessionRow | undefined {
    return this.sqlite.query<SessionRow, [Uint8Array]>("SELECT * FROM sessions WHERE id_hash = ?").get(idHash) ?? undefined;
  }

  touchSession(idHash: Uint8Array, at: number) {
    this.sqlite.run("UPDATE sessions SET last_seen_at = ? WHERE id_hash = ?", [at, idHash]);
  }

  endSession(idHash: Uint8Array) {
    this.sqlite.run("DELETE FROM sessions WHERE id_hash = ?", [idHash]);
  }

  listSessions(login: string): SessionRow[] {
    return this.sqlite.query<SessionRow, [string]>("SELECT * FROM sessions WHERE login = ? ORDER BY last_seen_at DESC").all(login);
  }

  endSessionsOf(login: string) {
    this.sqlite.run("DELETE FROM sessions WHERE login = ?", [login]);
  }

  /** Sets a password and ends every session made with the old one, in one transaction. */
  setPassword(login: string, hash: string) {
    this.sqlite.transaction(() => {
      this.sqlite.run("UPDATE users SET password_hash = ? WHERE login = ?", [hash, login]);
      this.endSessionsOf(login);
    })();
  }

  insertToken(token: Omit<TokenRow, "last_used_at">) {
    this.sqlite.run("INSERT INTO tokens (id, hash, login, label, created_at) VALUES (?, ?, ?, ?, ?)", [
      token.id, token.hash, token.login, token.label, token.created_at,
    ]);
  }

  findTokenByHash(hash: Uint8Array): TokenRow | undefined {
    return this.sqlite.query<TokenRow, [Uint8Array]>("SELECT * FROM tokens WHERE hash = ?").get(hash) ?? undefined;
  }

  findToken(id: string): TokenRow | undefined {
    return this.sqlite.query<TokenRow, [string]>("SELECT * FROM tokens WHERE id = ?").get(id) ?? undefined;
  }

  listTokens(login: string): TokenRow[] {
    return this.sqlite.query<TokenRow, [string]>("SELECT * FROM tokens WHERE login = ? ORDER BY created_at, id").all(login);
  }

  touchToken(id: string, at: number) {
    this.sqlite.run("UPDATE tokens SET last_used_at = ? WHERE id = ?", [at, id]);
  }

  deleteToken(id: string) {
    this.sqlite.run("DELETE FROM tokens WHERE id = ?", [id]);
  }

  insertHook(hook: HookRow) {
    this.sqlite.run("INSERT INTO hooks (id, secret_hash, repository, name, login, created_at) VALUES (?, ?, ?, ?, ?, ?)", [
      hook.id, hook.secret_hash, hook.repository, hook.name, hook.login, hook.created_at,
    ]);
  }

  listHooks(): HookRow[] {
    return this.sqlite.query<HookRow, []>("SELECT * FROM hooks ORDER BY created_at, id").all();
  }

  findHook(id: string): HookRow | undefined {
    return this.sqlite.query<HookRow, [string]>("SELECT * FROM hooks WHERE id = ?").get(id) ?? undefined;
  }

  findHookBySecret(secretHash: Uint8Array): HookRow | undefined {
    return this.sqlite.query<HookRow, [Uint8Array]>("SELECT * FROM hooks WHERE secret_hash = ?").get(secretHash) ?? undefined;
  }

  /** Removes a hook and its bot account in one transaction (the account keeps its row, as every removed one does). */
  removeHook(id: string, login: string, at: number) {
    this.sqlite.transaction(() => {
      this.sqlite.run("DELETE FROM hooks WHERE id = ?", [id]);
      this.removeUser(login, at);
    })();
  }
}
