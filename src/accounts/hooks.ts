/**
 * Incoming webhooks, in the convention Slack, Mattermost and Rocket.Chat
 * share: an admin makes one for a channel and gets a secret URL; whoever holds
 * that URL posts into that channel, and nowhere else, as the hook's own bot
 * account (`hook-<id>`, named as the hook), so its messages are marked as a
 * bot's and its commits name that bot. The secret is shown once and stored
 * only as its SHA-256; removing the hook removes its bot (whose messages keep
 * its name and id, as every removed account's do).
 */
import { createHash, randomBytes } from "node:crypto";
import type { AccountStore, HookRow } from "../db/accounts.ts";
import { ForbiddenError, NotFoundError } from "../errors.ts";
import { checkAuthor } from "../messages/rules.ts";
import type { Account, AccountService, Actor } from "./service.ts";

export type Hook = {
  id: string;
  /** The channel it posts into: owner/name. */
  repository: string;
  name: string;
  /** Its bot account's login. */
  login: string;
  createdAt: number;
};

const toHook = (row: HookRow): Hook => ({ id: row.id, repository: row.repository, name: row.name, login: row.login, createdAt: row.created_at });

const hashSecret = (secret: string) => createHash("sha256").update(secret).digest();

export class HookService {
  constructor(
    private readonly store: AccountStore,
    private readonly accounts: AccountService,
    private readonly options: {
      /** The server's address as people reach it (PUBLIC_URL): a hook's URL points there. */
      publicUrl: () => string;
      now?: () => number;
    },
  ) {}

  private requireAdmin(actor: Actor, what: string) {
    if ("account" in actor && actor.account.role !== "admin") throw new ForbiddenError(`only an admin may ${what}`);
  }

  /**
   * Makes a hook posting into `repository` (a channel's full name, which the
   * caller has resolved) as a new bot account named `name`. Its URL, which
   * holds the secret, is returned this once.
   */
  create(actor: Actor, input: { repository: string; name: string }): { hook: Hook; url: string } {
    this.requireAdmin(actor, "make incoming webhooks");
    const name = checkAuthor(input.name);
    const id = randomBytes(4).toString("hex");
    const { account } = this.accounts.add(actor, { login: `hook-${id}`, name, role: "bot" });
    const secret = randomBytes(32).toString("base64url");
    const row = { id, secret_hash: hashSecret(secret), repository: input.repository, name, login: account.login, created_at: (this.options.now ?? Date.now)() };
    this.store.insertHook(row);
    return { hook: toHook(row), url: `${this.options.publicUrl()}/hooks/${secret}` };
  }

  /** Every hook, never its secret. */
  list(actor: Actor): Hook[] {
    this.requireAdmin(actor, "list incoming webhooks");
    return this.store.listHooks().map(toHook);
  }

  /** Removes a hook: its URL stops working at once, and its bot account is removed. */
  remove(actor: Actor, id: string) {
    this.requireAdmin(actor, "remove incoming webhooks");
    const row = typeof id === "string" ? this.store.findHook(id) : undefined;
    if (!row) throw new NotFoundError(`there is no incoming webhook ${JSON.stringify(id)}; GET /hooks lists them`);
    this.store.removeHook(row.id, row.login, (this.options.now ?? Date.now)());
  }

  /** The hook a secret opens, and the bot it posts as; NotFoundError for a secret that is unknown (or whose hook was removed). */
  open(secret: string): { hook: Hook; bot: Account } {
    const row = this.store.findHookBySecret(hashSecret(secret));
    if (!row) throw new NotFoundError("there is no incoming webhook at this URL: check that it was copied whole, or ask an admin for a new one");
    let bot: Account;
    try {
      bot = this.accounts.get(row.login);
    } catch {
      // Its bot was removed by hand (DELETE /users/hook-...): the hook cannot post any more.
      throw new NotFoundError("this incoming webhook's bot account was removed: ask an admin for a new webhook");
    }
    return { hook: toHook(row), bot };
  }
}
