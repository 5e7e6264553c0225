/**
 * Who sees a channel: the one check every reader and writer of a channel
 * goes through (messages.list and send, the channel lists, the page, live
 * streams, push and pull reports).
 *
 * A channel is public (every account sees it) or private: seen by its
 * creator, the members an admin or the creator chose, and admins. The
 * operator (the open local mode, ACCESS_TOKEN, the CLI's control secret)
 * sees every channel, as an admin does. To anyone else a private channel
 * does not exist: the same 404 as an unknown name, and absent from every
 * list and search.
 *
 * Whether a channel is private is this server's fact, kept in its index
 * (db/channel-access.ts), not in git: a server syncing the same repository
 * decides its own. The index is the only copy, so a rebuild carries it over.
 */
import type { AccountService, Actor } from "../accounts/service.ts";
import type { ChannelAccessStore, NamedChannelAccess } from "../db/channel-access.ts";
import { ChannelPublicError, CreatorStaysError, ForbiddenError, NotFoundError, UnknownUserError } from "../errors.ts";
import { parseFullName } from "./names.ts";
import { unknownRepository } from "./names.ts";
import type { Channel, RepositoryService } from "./service.ts";

/** Who asks to see a channel: as the accounts service knows callers. */
export type Viewer = Actor;

type Access = { private: boolean; creator: string | null; members: Set<string> };

/** A channel's members as its API and page show them. */
export type ChannelMembers = {
  private: boolean;
  /** The account that created it; null for a channel made by the operator or before private channels. */
  creator: string | null;
  /** Who sees it: for a private channel its creator and chosen members, for a public one every account (admins see every channel). */
  members: { login: string; name: string; role: string }[];
  /** Whether the viewer may add and remove its members. */
  canManage: boolean;
  /** Whether the viewer may make it private or public (an admin). */
  canChangeVisibility: boolean;
};

export class ChannelAccess {
  /** Every channel's row, in memory: a check runs on every request, and only this process writes the index. */
  private readonly byChannel = new Map<number, Access>();
  private readonly listeners = new Set<(channelId: number) => void>();

  constructor(
    private readonly store: ChannelAccessStore,
    private readonly repositories: RepositoryService,
    private readonly accounts: AccountService,
    private readonly now: () => number = Date.now,
  ) {
    this.load();
  }

  private load() {
    this.byChannel.clear();
    for (const row of this.store.all()) this.byChannel.set(row.repository_id, { private: row.private === 1, creator: row.creator, members: new Set() });
    for (const row of this.store.members()) this.byChannel.get(row.repository_id)?.members.add(row.login.toLowerCase());
  }

  /**
   * What `viewer` may see, decided with their account as it is now (not as
   * it was when a live stream opened): a removed account sees no private
   * channel, a demoted admin only those they are in.
   */
  private seer(viewer: Viewer): (channel: Channel) => boolean {
    // Asked on every send and read: no account lookup while no channel is private.
    if ("operator" in viewer || !this.anyPrivate()) return () => true;
    let login: string | undefined;
    let admin = false;
    try {
      const account = this.accounts.get(viewer.account.login);
      login = account.login;
      admin = account.role === "admin";
    } catch (error) {
      if (!(error instanceof UnknownUserError)) throw error;
    }
    if (admin) return () => true;
    // A removed account sees no channel (only a live stream opened before the removal still asks).
    if (login === undefined) return () => false;
    return (channel) => {
      const access = this.byChannel.get(channel.id);
      return !access?.private || access.creator === login || access.members.has(login);
    };
  }

  private anyPrivate() {
    for (const access of this.byChannel.values()) if (access.private) return true;
    return false;
  }

  isPrivate(channel: Channel) {
    return this.byChannel.get(channel.id)?.private ?? false;
  }

  canSee(viewer: Viewer, channel: Channel) {
    // A public channel needs no account lookup (25 us here, on every send).
    return !this.isPrivate(channel) || this.seer(viewer)(channel);
  }

  /** The channel named "owner/name" if `viewer` may see it; otherwise the very 404 of a channel that does not exist. */
  resolve(viewer: Viewer, fullName: string): Channel {
    const channel = this.repositories.resolve(fullName);
    if (!this.canSee(viewer, channel)) {
      const { owner, name } = parseFullName(fullName);
      throw unknownRepository(owner, name);
    }
    return channel;
  }

  /** The channels `viewer` sees. */
  list(viewer: Viewer): Channel[] {
    const sees = this.seer(viewer);
    return this.repositories.list().filter(sees);
  }

  /** Of reports naming their channel (push and pull), those about a channel `viewer` sees. */
  keepVisible<T extends { repository: string }>(viewer: Viewer, reports: T[]): T[] {
    const seen = new Set(this.list(viewer).map((c) => c.fullName));
    return reports.filter((r) => seen.has(r.repository));
  }

  /** The ids of the channels `viewer` sees, for a query across channels; undefined when they see every one. */
  visibleIds(viewer: Viewer): number[] | undefined {
    const all = this.repositories.list();
    const seen = this.list(viewer);
    return seen.length === all.length ? undefined : seen.map((c) => c.id);
  }

  /** Creates a channel, public or private, recording its creator (the caller's account; none for the operator) with it. */
  create(viewer: Viewer, owner: string, name: string, isPrivate: boolean): Promise<Channel> {
    const creator = "account" in viewer ? viewer.account.login : null;
    return this.repositories.create(owner, name, (id) => {
      this.store.set(id, isPrivate, creator);
      this.byChannel.set(id, { private: isPrivate, creator, members: new Set() });
    });
  }

  members(viewer: Viewer, fullName: string): ChannelMembers {
    const channel = this.resolve(viewer, fullName);
    const access = this.byChannel.get(channel.id);
    const accounts = this.accounts.list();
    const members = access?.private ? accounts.filter((a) => a.login === access.creator || access.members.has(a.login)) : accounts;
    return {
      private: access?.private ?? false,
      creator: access?.creator ?? null,
      members: members.map((a) => ({ login: a.login, name: a.name, role: a.role })),
      canManage: Boolean(access?.private) && this.manages(viewer, access!),
      canChangeVisibility: this.isAdmin(viewer),
    };
  }

  /** Whether `viewer` acts as an admin: an admin account, or the operator. */
  isAdmin(viewer: Viewer) {
    if ("operator" in viewer) return true;
    try {
      return this.accounts.get(viewer.account.login).role === "admin";
    } catch {
      return false;
    }
  }

  private manages(viewer: Viewer, access: Access) {
    return this.isAdmin(viewer) || ("account" in viewer && viewer.account.login === access.creator);
  }

  /** A private channel the viewer sees, and its access; ChannelPublicError for a public one. */
  private privateChannel(viewer: Viewer, fullName: string) {
    const channel = this.resolve(viewer, fullName);
    const access = this.byChannel.get(channel.id);
    if (!access?.private) {
      throw new ChannelPublicError(`channel ${channel.fullName} is public: every account sees it. An admin can make it private first (PATCH /repositories/${channel.fullName})`);
    }
    return { channel, access };
  }

  /** Adds an account to a private channel (admins and the channel's creator; a bot by admins only). Adding a member again changes nothing. */
  addMember(viewer: Viewer, fullName: string, login: string): ChannelMembers {
    const { channel, access } = this.privateChannel(viewer, fullName);
    if (!this.manages(viewer, access)) throw new ForbiddenError(`only an admin or the creator of ${channel.fullName} may choose its members`);
    const account = this.accounts.get(login);
    // A bot's token may be held by a script or a service: letting it read a private channel is an admin's decision.
    if (account.role === "bot" && !this.isAdmin(viewer)) throw new ForbiddenError(`only an admin may add a bot (${account.login}) to a private channel`);
    if (account.login !== access.creator && !access.members.has(account.login)) {
      this.store.addMember(channel.id, account.login, this.now());
      access.members.add(account.login);
      this.changed(channel.id);
    }
    return this.members(viewer, channel.fullName);
  }

  /**
   * Removes an account from a private channel (admins and the creator; and
   * anyone leaving it themselves). Their open live streams of it end at once.
   */
  removeMember(viewer: Viewer, fullName: string, login: string): ChannelMembers {
    const { channel, access } = this.privateChannel(viewer, fullName);
    const key = typeof login === "string" ? login.toLowerCase() : "";
    const self = "account" in viewer && viewer.account.login === key;
    if (!self && !this.manages(viewer, access)) throw new ForbiddenError(`only an admin or the creator of ${channel.fullName} may choose its members`);
    if (key === access.creator) throw new CreatorStaysError(`${key} created ${channel.fullName} and stays one of its members`);
    if (!access.members.has(key)) throw new NotFoundError(`${JSON.stringify(login)} is not a member of ${channel.fullName}; GET /repositories/${channel.fullName}/members lists them`);
    this.store.removeMember(channel.id, key);
    access.members.delete(key);
    this.changed(channel.id);
    // Someone who just left no longer sees the channel: they get its public shape, not its members.
    return this.canSee(viewer, channel) ? this.members(viewer, channel.fullName) : { private: true, creator: null, members: [], canManage: false, canChangeVisibility: false };
  }

  /** Makes a channel private or public (admins only). Its creator and members are kept either way. */
  setPrivate(viewer: Viewer, fullName: string, isPrivate: boolean): Channel {
    if (!this.isAdmin(viewer)) throw new ForbiddenError("only an admin may make a channel private or public");
    const channel = this.resolve(viewer, fullName);
    const access = this.byChannel.get(channel.id);
    this.store.set(channel.id, isPrivate);
    if (access) access.private = isPrivate;
    else this.byChannel.set(channel.id, { private: isPrivate, creator: null, members: new Set() });
    this.changed(channel.id);
    return channel;
  }

  /** Calls `listener` with a channel's id whenever who sees it changes (a live stream then checks its viewer again). */
  onChange(listener: (channelId: number) => void) {
    this.listeners.add(listener);
    return () => void this.listeners.delete(listener);
  }

  private changed(channelId: number) {
    for (const listener of this.listeners) listener(channelId);
  }

  /** The access rows a previous index held, by channel name (a rebuild carries them over); channels no longer here are skipped. */
  restore(channels: NamedChannelAccess[]) {
    for (const named of channels) {
      let channel: Channel;
      try {
        channel = this.repositories.resolve(`${named.owner}/${named.name}`);
      } catch {
        continue;
      }
      this.store.set(channel.id, named.private, named.creator);
      for (const member of named.members) this.store.addMember(channel.id, member.login, member.added_at);
    }
    this.load();
  }
}
