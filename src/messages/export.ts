/**
 * A channel's messages for an export, oldest first, a page at a time: what
 * `gitchat export` writes, as JSON lines, a Markdown transcript or a page.
 * Read-only, from the index (one snapshot a page), so it runs beside a server.
 */
import type { MessageDatabase } from "../db/database.ts";
import { UnknownRepositoryError } from "../errors.ts";
import { toMessageView, type MessageView } from "./service.ts";

/** Rows read at a time: the export holds one page, however long the channel. */
const PAGE = 1_000;

/** Every message of `fullName` ("owner/name") sent at or after `since` (an ISO time), in time order. */
export function* channelMessages(db: MessageDatabase, fullName: string, since?: string, page = PAGE): Generator<MessageView> {
  const repository = db.listRepositories().find((r) => `${r.owner}/${r.name}` === fullName);
  if (!repository) throw new UnknownRepositoryError(`there is no channel ${fullName} in this data directory`);
  let after: string | undefined;
  for (;;) {
    const rows = db.messagesInOrder(repository.id, { after, since }, page);
    for (const row of rows) yield toMessageView(row);
    if (rows.length < page) return;
    after = rows.at(-1)!.id;
  }
}
