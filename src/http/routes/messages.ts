import { Elysia, t } from "elysia";
import { DEFAULT_LIMIT, MAX_LIMIT, type MessageService } from "../../messages/service.ts";
import { ErrorBody, Message, MessageHistory, SendHeaders } from "../schemas.ts";
import { authorOf, type AuthPlugin } from "../auth.ts";

const MessageParams = t.Object({ id: t.String({ description: "A message id (UUIDv7)" }) });
const ReactionParams = t.Object({
  id: t.String({ description: "A message id (UUIDv7)" }),
  emoji: t.String({ description: "One emoji (URL-encoded), or a :shortcode:" }),
});
const ReactionResponses = { 200: Message, 400: ErrorBody, 404: ErrorBody, 409: ErrorBody, 503: ErrorBody, 507: ErrorBody };
const REACTION_NOTE =
  "Each reaction and its removal is a new file in git naming the message. Giving a reaction you already gave, or taking back one you did not, " +
  "changes nothing. Answers the message with its `reactions`.";

export const messageRoutes = (messages: MessageService, auth: AuthPlugin) =>
  new Elysia({ name: "messages" })
    .use(auth)
    .get(
      "/messages",
      ({ query, set, identity }) => {
        // Read before the query: nothing that arrives after it can be hidden behind it.
        const latest = messages.latestCursor();
        const list = messages.list({ ...query, viewer: identity!.actor });
        const next = query.after === undefined ? latest : Math.max(query.after, ...list.map((m) => m.cursor));
        set.headers["x-next-cursor"] = String(next);
        return list;
      },
      {
        auth: "member",
        query: t.Object({
          repository: t.Optional(t.String({ description: "owner/name; all channels when absent", error: "repository must be \"owner/name\"" })),
          after: t.Optional(
            t.Integer({
              minimum: 0,
              maximum: Number.MAX_SAFE_INTEGER,
              description: "Only what arrived after this cursor, in arrival order",
              error: "after must be a cursor: a whole number from an earlier answer's x-next-cursor or a message's cursor",
            }),
          ),
          before: t.Optional(t.String({ description: "A message id: only older messages", error: "before must be a message id" })),
          limit: t.Optional(
            t.Integer({
              minimum: 1,
              maximum: MAX_LIMIT,
              default: DEFAULT_LIMIT,
              error: `limit must be a whole number from 1 to ${MAX_LIMIT}`,
            }),
          ),
          q: t.Optional(
            t.String({
              maxLength: 500,
              description:
                "Search: the newest messages matching every word, \"quoted phrase\" and operator: " +
                "`from:LOGIN_OR_NAME` (an account's login, or an author's name), `in:owner/name` (or `in:name` when one channel you see has that name), " +
                "`before:YYYY-MM-DD` (sent before that day, UTC), `after:YYYY-MM-DD` (sent after that day, UTC), " +
                "`has:link`, `has:code`, `has:file` (attachments: none yet). Operator names in any letter case; another `word:` is searched as text. " +
                "A value an operator cannot take (before:notadate, in:unknown) is a 400 `invalid_input` naming the operator.",
              error: "q must be at most 500 characters",
            }),
          ),
          thread: t.Optional(t.String({ description: "A message id: the replies in its thread, in time order", error: "thread must be a message id" })),
        }),
        response: { 200: t.Array(Message), 400: ErrorBody, 404: ErrorBody },
        detail: {
          summary: "List messages",
          description:
            "The newest `limit` messages of the channel in time order (replies are in their threads: `thread`), or with `after` " +
            "everything that arrived since that cursor: new messages and replies, and each changed message again, as it is now. " +
            "The `x-next-cursor` header holds the cursor to poll with next.",
        },
      },
    )
    .post(
      "/messages",
      async ({ body, headers, set, identity }) => {
        const { message, replayed } = await messages.send({
          ...body,
          viewer: identity!.actor,
          author: authorOf(identity),
          idempotencyKey: headers["idempotency-key"],
        });
        set.status = replayed ? 200 : 201;
        return message;
      },
      {
        auth: "member",
        messageLimit: true,
        // Our app-wide parser (size cap, clear errors) reads the body; naming
        // "json" here is what puts the body schema into the OpenAPI document.
        parse: "json",
        body: t.Object({
          content: t.String({ description: "1 to 10,000 characters, not blank", error: "content is required and must be a string" }),
          repository: t.Optional(
            t.String({ description: "owner/name; the default channel when absent", error: "repository must be a string \"owner/name\"" }),
          ),
          type: t.Optional(t.String({ description: "Defaults to \"message\"; \"code\" shows as a code block", error: "type must be a string" })),
          language: t.Optional(t.String({ description: "For type \"code\": its language, such as ts or python", error: "language must be a string" })),
          reply_to: t.Optional(
            t.String({ description: "A message id of the same channel: this message is a reply in its thread", error: "reply_to must be a message id" }),
          ),
        }),
        headers: SendHeaders,
        response: {
          200: Message,
          201: Message,
          400: ErrorBody,
          404: ErrorBody,
          413: ErrorBody,
          415: ErrorBody,
          422: ErrorBody,
          503: ErrorBody,
          507: ErrorBody,
        },
        detail: {
          summary: "Send a message",
          description:
            "Answers 201 once the message is committed to git and indexed; `git_hash` is that commit. " +
            "With an `Idempotency-Key` already used in this channel (within 24 hours) for the same message, answers 200 with that message instead. " +
            "507 `disk_full`: the data directory's disk is full; 503 `storage_read_only`: it cannot be written. " +
            "After a 5xx or a timeout, send again with the same key: you get the original message, never a duplicate.",
        },
      },
    )
    .patch(
      "/messages/:id",
      ({ params, body, identity }) => messages.edit({ viewer: identity!.actor, author: authorOf(identity), id: params.id, content: body.content }),
      {
        auth: "member",
        messageLimit: true,
        parse: "json",
        params: MessageParams,
        body: t.Object({ content: t.String({ description: "The new text: 1 to 10,000 characters, not blank", error: "content is required and must be a string" }) }),
        response: { 200: Message, 400: ErrorBody, 403: ErrorBody, 404: ErrorBody, 409: ErrorBody, 413: ErrorBody, 415: ErrorBody, 503: ErrorBody, 507: ErrorBody },
        detail: {
          summary: "Edit a message",
          description:
            "Its author (or an admin) replaces its text. The edit is a new file in git naming the message (the message's own file is never rewritten); " +
            "answers the message as it is now, with `edited_at`. 403 for someone else's message; 409 `message_deleted` for a deleted one.",
        },
      },
    )
    .delete(
      "/messages/:id",
      async ({ params, identity }) => {
        const message = await messages.remove({ viewer: identity!.actor, author: authorOf(identity), id: params.id });
        return { id: message.id, deleted: message.deleted };
      },
      {
        auth: "member",
        messageLimit: true,
        params: MessageParams,
        response: { 200: t.Object({ id: t.String(), deleted: t.Boolean() }), 400: ErrorBody, 403: ErrorBody, 404: ErrorBody, 503: ErrorBody, 507: ErrorBody },
        detail: {
          summary: "Delete a message",
          description:
            "Its author (or an admin) deletes it: it stays in the list as deleted, with its author and time, and its text is gone from the index, " +
            "the page and the API. git's history still holds the text until that history is rewritten. Deleting it again changes nothing.",
        },
      },
    )
    .get("/messages/:id/history", ({ params, identity }) => messages.history({ viewer: identity!.actor, id: params.id }), {
      auth: "member",
      params: MessageParams,
      response: { 200: MessageHistory, 400: ErrorBody, 404: ErrorBody },
      detail: { summary: "A message's versions", description: "The text as sent and after each edit, each with its author, time and commit." },
    })
    .put(
      "/messages/:id/reactions/:emoji",
      ({ params, identity }) => messages.react({ viewer: identity!.actor, author: authorOf(identity), id: params.id, emoji: params.emoji, on: true }),
      { auth: "member", messageLimit: true, params: ReactionParams, response: ReactionResponses, detail: { summary: "React to a message", description: REACTION_NOTE } },
    )
    .delete(
      "/messages/:id/reactions/:emoji",
      ({ params, identity }) => messages.react({ viewer: identity!.actor, author: authorOf(identity), id: params.id, emoji: params.emoji, on: false }),
      { auth: "member", messageLimit: true, params: ReactionParams, response: ReactionResponses, detail: { summary: "Take back a reaction", description: REACTION_NOTE } },
    );
