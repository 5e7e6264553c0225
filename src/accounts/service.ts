/**
 * Accounts: people and bots, invites, password sign-in, sessions and
 * personal API tokens. Who may do what to an account is decided here; the
 * HTTP layer only says who the caller is.
 *
 * Secrets (invite links, session ids, tokens) are random 256-bit values
 * shown once and stored only as their SHA-256; passwords as argon2id hashes
 * (Bun.password). A login names one account for ever: it is the stable id
 * (`local:LOGIN`) of its messages in git, so a removed account keeps it.
 */
import { createHash, randomBytes } from "node:crypto";
import type { AccountStore, AccountTables, Role, TokenRow, UserRow } from "../db/accounts.ts";
import {
  ForbiddenError,
  InvalidInputError,
  InviteUnusableError,
  LoginTakenError,
  NotFoundError,
  RateLimitedError,
  UnauthorizedError,
  UnknownUserError,
} from "../errors.ts";
import { checkAuthor } from "../messages/rules.ts";
import { RateLimiter } from "../rate-limit.ts";

export type { Role } from "../db/accounts.ts";
export const ROLES: readonly Role[] = ["member", "admin", "bot"];

export type Account = {
  login: string;
  name: string;
  role: Role;
  /** The stable id written into each message file: `local:LOGIN`, or `github:ID` for an account made by GitHub sign-in. */
  id: string;
  /** A GitHub account's commit e-mail, GitHub's no-reply `ID+LOGIN@users.noreply.github.com` (so GitHub shows their avatar); absent for a local one. */
  commitEmail?: string;
  createdAt: number;
};

/**
 * Who asks. An account, or the operator: the ACCESS_TOKEN bearer, the CLI,
 * the open local mode, all of whom may do what an admin does but have no
 * account of their own.
 */
export type Actor = { account: Account } | { operator: true };

/** A signed-in browser, as its owner may list and end it; `id` is public (a prefix of the stored hash, never the cookie). */
export type SessionInfo = { id: string; createdAt: number; lastSeenAt: number; userAgent: string; address: string; current: boolean };

export type PersonalToken = { id: string; label: string; createdAt: number; lastUsedAt: number | null };

/** Where a sign-in came from, recorded with its session. */
export type Client = { address: string; userAgent: string };

export const INVITE_HOURS = 24;
export const SESSION_IDLE_DAYS = 30;
const HOUR_MS = 3_600_000;
const DAY_MS = 24 * HOUR_MS;
/** A session's or token's last use is written at most this often (not on every request). */
const TOUCH_EVERY_MS = 60_000;

/** GitHub's rule for user names: letters, digits and single hyphens, not at either end, 1 to 39 characters. */
const LOGIN = /^[a-z0-9](?:[a-z0-9]|-(?=[a-z0-9])){0,38}$/i;
export const LOGIN_RULE = "a login is 1 to 39 letters, digits or single hyphens, not starting or ending with a hyphen (as on GitHub)";
export const MIN_PASSWORD = 10;
const MAX_PASSWORD = 1024;

export const checkLogin = (login: unknown): string => {
  if (typeof login !== "string" || !LOGIN.test(login)) {
    throw new InvalidInputError(`${JSON.stringify(login)} is not a valid login: ${LOGIN_RULE}`);
  }
  return login.toLowerCase();
};

const checkPassword = (password: string, login: string) => {
  if ([...password].length < MIN_PASSWORD) throw new InvalidInputError(`a password must be at least ${MIN_PASSWORD} characters long`);
  if (password.length > MAX_PASSWORD) throw new InvalidInputError(`a password must be at most ${MAX_PASSWORD} characters long`);
  if (password.trim().toLowerCase() === login) throw new InvalidInputError("a password must not be the login");
};

const hashSecret = (secret: string) => createHash("sha256").update(secret).digest();
const newSecret = () => randomBytes(32).toString("base64url");

/** A session's public id: the first 16 hex digits of its stored hash (which is itself only a hash of the cookie). */
const sessionPublicId = (idHash: Uint8Array) => Buffer.from(idHash).toString("hex").slice(0, 16);

const toAccount = (row: UserRow): Account =>
  row.github_id === null
    ? { login: row.login, name: row.name, role: row.role, id: `local:${row.login}`, createdAt: row.created_at }
    : {
        login: row.login,
        name: row.name,
        role: row.role,
        id: `github:${row.github_id}`,
        commitEmail: `${row.github_id}+${row.login}@users.noreply.github.com`,
        createdAt: row.created_at,
      };
const toToken = (row: TokenRow): PersonalToken => ({ id: row.id, label: row.label, createdAt: row.created_at, lastUsedAt: row.last_used_at });

const isAdmin = (actor: Actor) => "operator" in actor || actor.account.role === "admin";

export class AccountService {
  /** Password attempts per account and per address; guessing is limited far harder than talking. */
  private readonly loginsPerAccount: RateLimiter;
  private readonly loginsPerAddress: RateLimiter;
  private any: boolean | undefined;
  /** A hash to verify against when the login is unknown, so that the answer takes as long as for a known one. */
  private decoy: Promise<string> | undefined;

  constructor(
    private readonly store: AccountStore,
    private readonly options: {
      /** The server's address as people reach it (PUBLIC_URL): invite links point there. */
      publicUrl: () => string;
      now?: () => number;
      /** Password attempts a minute, per account and per address. */
      loginsPerMinute?: number;
    },
  ) {
    this.loginsPerAccount = new RateLimiter(options.loginsPerMinute ?? 10);
    this.loginsPerAddress = new RateLimiter(options.loginsPerMinute ?? 10);
  }

  private now() {
    return (this.options.now ?? Date.now)();
  }

  /**
   * True once the first account was added: from then on people sign in with
   * their own. Asked on every request, so known in memory after the first
   * look: only this process writes the index while it runs (the data
   * directory's lock), and an account, once added, is never deleted (a
   * removed one keeps its row).
   */
  hasAccounts() {
    return (this.any ??= this.store.hasUsers());
  }

  /** Stores the account tables an earlier index held (a rebuild carries them over). */
  restore(tables: AccountTables) {
    this.store.importAll(tables);
    this.any = undefined;
  }

  list(): Account[] {
    return this.store.listUsers().map(toAccount);
  }

  /** The account with this login; UnknownUserError when there is none (or it was removed). */
  get(login: string): Account {
    return toAccount(this.live(login));
  }

  private live(login: string): UserRow {
    const row = typeof login === "string" && LOGIN.test(login) ? this.store.findUser(login.toLowerCase()) : undefined;
    if (!row || row.removed_at !== null) throw new UnknownUserError(`there is no account ${JSON.stringify(login)}; \`gitchat users list\` lists them`);
    return row;
  }

  private requireAdmin(actor: Actor, what: string) {
    if (!isAdmin(actor)) throw new ForbiddenError(`only an admin may ${what}`);
  }

  /** Whether `actor` is the account `login` or an admin; ForbiddenError otherwise. */
  private requireSelfOrAdmin(actor: Actor, login: string, what: string) {
    if (!isAdmin(actor) && ("operator" in actor || actor.account.login !== login)) {
      throw new ForbiddenError(`only ${login} or an admin may ${what}`);
    }
  }

  /**
   * Adds a person (an invite link, valid INVITE_HOURS, used once) or a bot
   * (no invite: a bot has no password, only the tokens made for it).
   */
  add(actor: Actor, input: { login: string; name?: string; role?: Role }): { account: Account; inviteUrl?: string } {
    this.requireAdmin(actor, "add people");
    const login = checkLogin(input.login);
    const role = input.role ?? "member";
    if (!ROLES.includes(role)) throw new InvalidInputError(`role must be one of ${ROLES.join(", ")}, not ${JSON.stringify(role)}`);
    const name = checkAuthor(input.name ?? login);
    const existing = this.store.findUser(login);
    if (existing) {
      throw new LoginTakenError(
        existing.removed_at === null
          ? `there is already an account ${login}`
          : `${login} belonged to a removed account, and stays the id of its messages: choose another login`,
      );
    }
    const now = this.now();
    this.store.insertUser({ login, name, role, created_at: now });
    // A bot does not turn accounts on (see AccountStore.hasUsers).
    if (role !== "bot") this.any = true;
    const account = this.get(login);
    return role === "bot" ? { account } : { account, inviteUrl: this.invite(login, now) };
  }

  /**
   * A new invite link for a person (an earlier invite that expired, or a
   * forgotten password: accepting it sets a new one and ends their sessions).
   * Their unused invites stop working.
   */
  reinvite(actor: Actor, login: string): string {
    this.requireAdmin(actor, "invite people");
    const account = this.get(login);
    if (account.role === "bot") throw new InvalidInputError(`${account.login} is a bot: a bot signs in with tokens only`);
    this.store.dropUnusedInvites(account.login);
    return this.invite(account.login, this.now());
  }

  private invite(login: string, now: number) {
    const secret = newSecret();
    this.store.insertInvite({ secret_hash: hashSecret(secret), login, created_at: now, expires_at: now + INVITE_HOURS * HOUR_MS });
    return `${this.options.publicUrl()}/invite/${secret}`;
  }

  /** The account an invite is for, if it can still be used; the error says why not. */
  invitee(secret: string): Account {
    const invite = this.store.findInvite(hashSecret(secret));
    if (!invite) throw new NotFoundError("this invite link is not known here: check that it was copied whole, or ask an admin for a new one");
    if (invite.used_at !== null) throw new InviteUnusableError("this invite link was used already: sign in, or ask an admin for a new one");
    if (invite.expires_at <= this.now()) {
      throw new InviteUnusableError(`this invite link is older than ${INVITE_HOURS} hours: ask an admin for a new one`);
    }
    return this.get(invite.login);
  }

  /** Sets the invited person's password and signs them in: the invite is then used up. */
  async acceptInvite(secret: string, password: string, client: Client): Promise<{ account: Account; session: string }> {
    const account = this.invitee(secret);
    checkPassword(password, account.login);
    const hash = await Bun.password.hash(password, "argon2id");
    // Checked again after the (slow) hash: two tabs posting one link, only one wins.
    if (!this.store.useInvite(hashSecret(secret), this.now())) throw new InviteUnusableError("this invite link was used already: sign in");
    this.store.setPassword(account.login, hash);
    return { account, session: this.startSession(account.login, client) };
  }

  /**
   * Signs in the GitHub user `user`, whom the caller found allowed: their
   * account (found by GitHub's id, which survives a rename on GitHub), made
   * at the first sign-in with their GitHub login as its login, a member. A
   * removed account stays removed; a login already taken here is refused
   * rather than joined (it may be someone else's).
   */
  signInWithGitHub(user: { id: number; login: string; name: string | null }, client: Client): { account: Account; session: string } {
    let row = this.store.findUserByGitHubId(user.id);
    if (row?.removed_at != null) throw new ForbiddenError(`the account of GitHub user ${user.login} was removed from this gitchat: ask an admin`);
    if (!row) {
      const login = checkLogin(user.login);
      if (this.store.findUser(login)) {
        throw new LoginTakenError(`this gitchat already has an account ${login} that is not GitHub's ${user.login}: sign in with its password, or ask an admin`);
      }
      let name: string;
      try {
        name = checkAuthor(user.name ?? login);
      } catch {
        name = login; // A GitHub name our rules refuse (e.g. with < or >): the login instead, which the person may change.
      }
      this.store.insertUser({ login, name, role: "member", created_at: this.now(), github_id: user.id });
      this.any = true;
      row = this.store.findUser(login)!;
    }
    return { account: toAccount(row), session: this.startSession(row.login, client) };
  }

  /** Password sign-in, limited per account and per address. */
  async login(login: string, password: string, client: Client): Promise<{ account: Account; session: string }> {
    const key = typeof login === "string" ? login.toLowerCase() : "";
    for (const verdict of [this.loginsPerAddress.take(`ip:${client.address}`), this.loginsPerAccount.take(`login:${key}`)]) {
      if (!verdict.ok) throw new RateLimitedError(`too many sign-in attempts: wait ${verdict.retryAfter} s`, verdict.retryAfter);
    }
    const row = LOGIN.test(key) ? this.store.findUser(key) : undefined;
    const hash = row && row.removed_at === null ? row.password_hash : null;
    const ok = await Bun.password.verify(password, hash ?? (await (this.decoy ??= Bun.password.hash(newSecret(), "argon2id"))));
    if (!row || hash === null || !ok) throw new UnauthorizedError("wrong login or password");
    return { account: toAccount(row), session: this.startSession(row.login, client) };
  }

  private startSession(login: string, client: Client) {
    const id = newSecret();
    const now = this.now();
    this.store.insertSession({
      id_hash: hashSecret(id),
      login,
      created_at: now,
      last_seen_at: now,
      user_agent: client.userAgent.slice(0, 300),
      address: client.address,
    });
    return id;
  }

  /** The account a session id signs in, or undefined (unknown, ended, idle for SESSION_IDLE_DAYS). */
  sessionAccount(id: string): Account | undefined {
    const hash = hashSecret(id);
    const session = this.store.findSession(hash);
    if (!session) return undefined;
    const now = this.now();
    if (now - session.last_seen_at > SESSION_IDLE_DAYS * DAY_MS) {
      this.store.endSession(hash);
      return undefined;
    }
    const user = this.store.findUser(session.login);
    if (!user || user.removed_at !== null) return undefined;
    if (now - session.last_seen_at > TOUCH_EVERY_MS) this.store.touchSession(hash, now);
    return toAccount(user);
  }

  logout(id: string) {
    this.store.endSession(hashSecret(id));
  }

  /** The caller's sessions, most recently used first; `current` marks the one whose id (the cookie) is `currentId`. */
  listSessions(actor: Actor, currentId?: string): SessionInfo[] {
    if ("operator" in actor) return [];
    const current = currentId === undefined ? undefined : sessionPublicId(hashSecret(currentId));
    return this.store.listSessions(actor.account.login).map((s) => ({
      id: sessionPublicId(s.id_hash),
      createdAt: s.created_at,
      lastSeenAt: s.last_seen_at,
      userAgent: s.user_agent,
      address: s.address,
      current: sessionPublicId(s.id_hash) === current,
    }));
  }

  /** Ends one of the caller's sessions by its public id; NotFoundError when they have none by that id. */
  endSession(actor: Actor, id: string) {
    const session = "operator" in actor ? undefined : this.store.listSessions(actor.account.login).find((s) => sessionPublicId(s.id_hash) === id);
    if (!session) throw new NotFoundError(`there is no session ${JSON.stringify(id)} of yours`);
    this.store.endSession(session.id_hash);
  }

  /** A new personal API token for `login`, shown this once: admins for anyone, people for themselves. */
  createToken(actor: Actor, login: string, label = ""): { id: string; token: string } {
    const account = this.get(login);
    this.requireSelfOrAdmin(actor, account.login, "make tokens for this account");
    if ([...label].length > 100 || /[\u0000-\u001f\u007f]/.test(label)) {
      throw new InvalidInputError("a token's label must be at most 100 characters, without control characters");
    }
    const id = randomBytes(6).toString("hex");
    const token = `gitchat_${id}_${newSecret()}`;
    this.store.insertToken({ id, hash: hashSecret(token), login: account.login, label, created_at: this.now() });
    return { id, token };
  }

  /** The caller's own tokens, never their secrets. */
  listTokens(actor: Actor): PersonalToken[] {
    return "operator" in actor ? [] : this.store.listTokens(actor.account.login).map(toToken);
  }

  /** Revokes a token: its owner or an admin. Another person's token is "not found" to a member (its id tells them nothing). */
  revokeToken(actor: Actor, id: string) {
    const token = typeof id === "string" ? this.store.findToken(id) : undefined;
    if (!token || (!isAdmin(actor) && ("operator" in actor || actor.account.login !== token.login))) {
      throw new NotFoundError(`there is no token ${JSON.stringify(id)} of yours; GET /tokens lists them`);
    }
    this.store.deleteToken(token.id);
  }

  /** The account a personal token signs in, or undefined (unknown or revoked). */
  tokenAccount(token: string): Account | undefined {
    const row = this.store.findTokenByHash(hashSecret(token));
    if (!row) return undefined;
    const user = this.store.findUser(row.login);
    if (!user || user.removed_at !== null) return undefined;
    const now = this.now();
    if (row.last_used_at === null || now - row.last_used_at > TOUCH_EVERY_MS) this.store.touchToken(row.id, now);
    return toAccount(user);
  }

  /** Removes an account: its sessions and tokens end at once; its messages keep its name and id. */
  remove(actor: Actor, login: string) {
    this.requireAdmin(actor, "remove people");
    const account = this.get(login);
    if (account.role === "admin" && this.list().filter((a) => a.role === "admin").length === 1 && "account" in actor) {
      throw new ForbiddenError(`${account.login} is the only admin: make someone else admin first`);
    }
    this.store.removeUser(account.login, this.now());
  }

  /** Makes a person a member or an admin. A bot stays a bot, and a person never becomes one. */
  setRole(actor: Actor, login: string, role: Role) {
    this.requireAdmin(actor, "change roles");
    const account = this.get(login);
    if (role !== "member" && role !== "admin") throw new InvalidInputError(`role must be member or admin, not ${JSON.stringify(role)}`);
    if (account.role === "bot") throw new InvalidInputError(`${account.login} is a bot: a bot's role cannot change`);
    this.store.updateUser(account.login, { role });
    return this.get(account.login);
  }

  setName(actor: Actor, login: string, name: string) {
    const account = this.get(login);
    this.requireSelfOrAdmin(actor, account.login, "rename this account");
    this.store.updateUser(account.login, { name: checkAuthor(name) });
    return this.get(account.login);
  }

  /**
   * Changes a person's password (their own needs the current one) and ends
   * every session made with the old one; the caller gets a new session.
   */
  async setPassword(actor: Actor, login: string, input: { current?: string; password: string }, client: Client) {
    const row = this.live(login);
    this.requireSelfOrAdmin(actor, row.login, "change this password");
    if (row.role === "bot") throw new InvalidInputError(`${row.login} is a bot: a bot signs in with tokens only`);
    const self = "account" in actor && actor.account.login === row.login;
    if (self && (row.password_hash === null || !(await Bun.password.verify(input.current ?? "", row.password_hash)))) {
      throw new UnauthorizedError("the current password is wrong");
    }
    checkPassword(input.password, row.login);
    this.store.setPassword(row.login, await Bun.password.hash(input.password, "argon2id"));
    return self ? this.startSession(row.login, client) : undefined;
  }
}
