import { Elysia, t } from "elysia";
import { DEFAULT_LIMIT, MAX_LIMIT, type MessageService } from "../../messages/service.ts";
import { ErrorBody, Message, SendHeaders } from "../schemas.ts";
import { authorOf, type AuthPlugin } from "../auth.ts";

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
        }),
        response: { 200: t.Array(Message), 400: ErrorBody, 404: ErrorBody },
        detail: {
          summary: "List messages",
          description:
            "The newest `limit` messages in time order, or with `after` what arrived since that cursor. " +
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
          type: t.Optional(t.String({ description: "Defaults to \"message\"", error: "type must be a string" })),
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
    );
