/**
 * Unread: how far each person has read each channel, kept on the server so
 * that it follows them from browser to browser. A reader is an account (by
 * login), or the operator (the open local mode, the shared ACCESS_TOKEN
 * login: one person, one state). Counts cover only the channels the reader
 * sees, so a private channel's count never reaches anyone outside it.
 */
import { InvalidInputError, NotFoundError } from "../errors.ts";
import type { MessageDatabase } from "../db/database.ts";
import { ReadStateStore, type NamedReadPlace, type OwnMessages } from "../db/read-state.ts";
import type { ChannelAccess, Viewer } from "../repositories/access.ts";
import { firstIdAt, isMessageId } from "./layout.ts";

/**
 * Counts stop here (a page shows "99+"): the sidebar asks every 5 seconds, and
 * a count costs up to this many rows per channel, twice (bench/unread.ts).
 */
export const UNREAD_CAP = 100;

/** Who reads: the caller's identity, and the name they write under (the operator's own messages are known by it). */
export type Reader = { viewer: Viewer; name: string };

export type ChannelUnread = {
  repository: string;
  /** Messages after `lastRead`, not the reader's own, at most UNREAD_CAP. */
  unread: number;
  /** Of the newest UNREAD_CAP of those, how many mention the reader (`@login`; for the operator, `@` and their name). */
  mentions: number;
  /** The newest message the reader has read; null when they never marked the channel read (see `countFrom`). */
  lastRead: string | null;
};

const keyOf = (viewer: Viewer) => ("account" in viewer ? viewer.account.login : "");
/**
 * Where counting starts in a channel the reader never marked read: an account
 * starts with what came after it was made (a newcomer is not greeted by the
 * whole history as unread); the operator, with everything.
 */
const countFrom = (viewer: Viewer, lastRead: string | null) =>
  lastRead ?? ("account" in viewer ? firstIdAt(viewer.account.createdAt) : null);

/** The name that mentions the reader: `@login`, or the operator's name. */
export const mentionOf = (reader: Reader) => ("account" in reader.viewer ? reader.viewer.account.login : reader.name);

const ownOf = (reader: Reader): OwnMessages => ("account" in reader.viewer ? { authorId: reader.viewer.account.id } : { name: reader.name });

export class UnreadService {
  private readonly store: ReadStateStore;

  constructor(
    private readonly db: MessageDatabase,
    private readonly access: ChannelAccess,
    private readonly now: () => number = Date.now,
  ) {
    this.store = new ReadStateStore(db.sqlite);
  }

  /** Every channel the reader sees, with its unread count, in the order of the channel list. */
  counts(reader: Reader): ChannelUnread[] {
    const places = this.store.allLastRead(keyOf(reader.viewer));
    return this.access.list(reader.viewer).map((channel) => this.count(reader, channel.id, channel.fullName, places.get(channel.id) ?? null));
  }

  private count(reader: Reader, channelId: number, repository: string, lastRead: string | null): ChannelUnread {
    const from = countFrom(reader.viewer, lastRead);
    const own = ownOf(reader);
    const unread = this.store.unreadCount(channelId, from, own, UNREAD_CAP);
    const mentions = unread === 0 ? 0 : this.store.unreadCount(channelId, from, own, UNREAD_CAP, mentionOf(reader));
    return { repository, unread, mentions, lastRead };
  }

  /**
   * Where unread starts for the reader in `repository`: every message with a
   * larger id is unread (null: every message). A channel they do not see is unknown.
   */
  unreadAfter(viewer: Viewer, repository: string): string | null {
    return countFrom(viewer, this.store.lastRead(keyOf(viewer), this.access.resolve(viewer, repository).id));
  }

  /**
   * Marks the channel read up to the message `messageId` (which must be one
   * of its messages); the place only moves forward. Returns the channel's
   * count afterwards.
   */
  markRead(reader: Reader, repository: string, messageId: string): ChannelUnread {
    const channel = this.access.resolve(reader.viewer, repository);
    if (!isMessageId(messageId)) throw new InvalidInputError(`message_id must be a message id (a UUIDv7), not ${JSON.stringify(messageId)}`);
    if (!this.db.messagePlace(channel.id, messageId)) {
      throw new NotFoundError(`${channel.fullName} has no message ${messageId}: mark a channel read up to one of its messages`);
    }
    const key = keyOf(reader.viewer);
    this.store.markRead(key, channel.id, messageId, this.now());
    return this.count(reader, channel.id, channel.fullName, this.store.lastRead(key, channel.id));
  }

  /** Puts back read places carried from an old index (a rebuild); a channel that is gone is skipped. */
  restore(places: NamedReadPlace[]) {
    for (const place of places) {
      let channelId: number;
      try {
        channelId = this.access.resolve({ operator: true }, `${place.owner}/${place.name}`).id;
      } catch {
        continue;
      }
      this.store.markRead(place.login, channelId, place.lastRead, place.readAt);
    }
  }
}
