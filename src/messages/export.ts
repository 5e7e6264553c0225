/**
 * A channel's messages for an export, oldest first, a page at a time: what
 * `gitchat export` writes, as JSON lines, a Markdown transcript or a page.
 * Read-only, from the index (one snapshot a page), so it runs beside a server.
 */
import type { MessageDatabase, MessageRow } from "../db/database.ts";
import { UnknownRepositoryError } from "../errors.ts";
import { toMessageView, type MessageView } from "./service.ts";

/** Rows read at a time: the export holds one page, however long the channel. */
const PAGE = 1_000;

/** The channel `fullName` ("owner/name") as the index holds it; an UnknownRepositoryError when it holds none. */
export const exportedChannel = (db: MessageDatabase, fullName: string) => {
  const repository = db.listRepositories().find((r) => `${r.owner}/${r.name}` === fullName);
  if (!repository) throw new UnknownRepositoryError(`there is no channel ${fullName} in this data directory`);
  return repository;
};

/** Every message of the channel `repositoryId` sent at or after `since` (an ISO time), in time order, as the index holds it. */
export function* channelRows(db: MessageDatabase, repositoryId: number, since?: string, page = PAGE): Generator<MessageRow> {
  let after: string | undefined;
  for (;;) {
    const rows = db.messagesInOrder(repositoryId, { after, since }, page);
    yield* rows;
    if (rows.length < page) return;
    after = rows.at(-1)!.id;
  }
}

/** Every message of `fullName` ("owner/name") sent at or after `since` (an ISO time), in time order. */
export function* channelMessages(db: MessageDatabase, fullName: string, since?: string, page = PAGE): Generator<MessageView> {
  for (const row of channelRows(db, exportedChannel(db, fullName).id, since, page)) yield toMessageView(row);
}
