import { Elysia, t } from "elysia";
import { DEFAULT_LIMIT, MAX_LIMIT, type AttachmentFile, type MessageService } from "../../messages/service.ts";
import { isImageType } from "../../messages/rules.ts";
import { ErrorBody, Message, SendHeaders, UploadedFiles } from "../schemas.ts";
import { authorOf, type AuthPlugin } from "../auth.ts";
import { fileInputs } from "../body.ts";

/** A name as RFC 5987 spells it in `filename*`: percent-encoded UTF-8, `'()*` included. */
const rfc5987 = (name: string) => encodeURIComponent(name).replace(/['()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);

/**
 * How a message's file is served: its own type, never sniffed; an image
 * (PNG, JPEG, GIF, WebP) inline, anything else (SVG and HTML included) only
 * as a download; and under a policy that runs nothing, should a browser
 * render it all the same.
 */
export const attachmentHeaders = (file: AttachmentFile): Record<string, string> => {
  const inline = isImageType(file.type);
  // The name as sent for browsers that read RFC 6266's filename*, a plain ASCII one for the rest.
  const ascii = file.name.replace(/[^\x20-\x7e]|["\\]/g, "_");
  return {
    "content-type": file.type,
    "content-length": String(file.bytes.byteLength),
    "x-content-type-options": "nosniff",
    "content-disposition": `${inline ? "inline" : "attachment"}; filename="${ascii}"; filename*=UTF-8''${rfc5987(file.name)}`,
    "content-security-policy": "default-src 'none'; sandbox",
    // A message file is never rewritten: what this address serves never changes.
    "cache-control": "private, max-age=86400, immutable",
  };
};

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
            t.String({ maxLength: 500, description: "Full-text search, newest matches first", error: "q must be at most 500 characters" }),
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
        const { file, ...fields } = body;
        const { message, replayed } = await messages.send({
          ...fields,
          files: await fileInputs(file),
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
        // "json" and "formdata" here is what puts the body schema into the OpenAPI document.
        parse: ["json", "formdata"],
        body: t.Object({
          content: t.String({
            description: "1 to 10,000 characters, not blank; may be empty (or left out, in a multipart body) when the message has files",
            error: "content is required and must be a string",
          }),
          repository: t.Optional(
            t.String({ description: "owner/name; the default channel when absent", error: "repository must be a string \"owner/name\"" }),
          ),
          type: t.Optional(t.String({ description: "Defaults to \"message\"", error: "type must be a string" })),
          file: UploadedFiles,
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
            "After a 5xx or a timeout, send again with the same key: you get the original message, never a duplicate. " +
            "With files, send `multipart/form-data`: `content`, optional `repository`, and one `file` part per file (up to 10; images " +
            "image/png, jpeg, gif or webp up to 10 MB, other files up to 25 MB, 30 MB in all); they are committed beside the message and " +
            "listed in its `attachments`. An empty, oversized or misnamed file is a 400 (413 past 30 MB) and stores nothing.",
        },
      },
    )
    .get(
      "/messages/:id/attachments/:index",
      async ({ params, identity }) => {
        const file = await messages.attachment({ viewer: identity!.actor, id: params.id, index: params.index });
        return new Response(new Blob([file.bytes as Uint8Array<ArrayBuffer>]), { headers: attachmentHeaders(file) });
      },
      {
        auth: "member",
        params: t.Object({
          id: t.String({ description: "The message's id" }),
          index: t.Integer({ minimum: 0, maximum: 999, description: "The file's place in the message's `attachments`", error: "index must be a whole number from 0" }),
        }),
        detail: {
          // Written out here (not as `response`), so that the document says the bytes are the file's own type, not JSON.
          responses: {
            200: { description: "The file's bytes, as its type", content: { "*/*": { schema: { type: "string", format: "binary" } } } },
            404: { description: "No such file, or in a channel the caller does not see", content: { "application/json": { schema: ErrorBody } } },
          },
          summary: "Get a message's file",
          description:
            "The bytes of a file attached to a message, from git, to whoever sees its channel (404 otherwise, as for a file that does not exist). " +
            "Served as its type with `x-content-type-options: nosniff`; an image (PNG, JPEG, GIF, WebP) inline, any other file with " +
            "`content-disposition: attachment`.",
        },
      },
    );
