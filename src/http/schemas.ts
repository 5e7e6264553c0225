/** The shapes of the JSON API, shared by the routes and the OpenAPI document. */
import { t } from "elysia";
import { IDEMPOTENCY_KEY, IDEMPOTENCY_KEY_HOURS, IDEMPOTENCY_KEY_RULE } from "../messages/service.ts";

export const ErrorBody = t.Object(
  { error: t.Object({ code: t.String(), message: t.String() }) },
  { description: "What was wrong and what to do" },
);

/** The optional Idempotency-Key header of a send (the message rules check it too). */
export const SendHeaders = t.Object({
  "idempotency-key": t.Optional(
    t.String({
      pattern: IDEMPOTENCY_KEY.source,
      description:
        "Your name for this message, 1 to 255 printable ASCII characters (a random UUID is good). Sent again with the same key to the " +
        `same channel within ${IDEMPOTENCY_KEY_HOURS} hours, it answers 200 with the message the key first sent, never a second copy; ` +
        "a different message under a used key is refused with 422",
      error: IDEMPOTENCY_KEY_RULE,
    }),
  ),
});

/** The `file` parts of a message sent as multipart/form-data (issue 12). */
export const UploadedFiles = t.Optional(
  t.Files({
    description:
      "multipart/form-data only: the message's files, one `file` part each, up to 10: images (image/png, image/jpeg, image/gif, image/webp) up to 10 MB, " +
      "other files up to 25 MB, 30 MB in all. Each is committed to git beside the message",
  }),
);

export const Attachment = t.Object({
  name: t.String({ description: "The file's name as sent" }),
  type: t.String({ description: "Its MIME type; image/png, image/jpeg, image/gif and image/webp are shown inline" }),
  size: t.Integer({ description: "Bytes" }),
  url: t.String({ description: "Where it is served (GET): /messages/{id}/attachments/{index}" }),
  width: t.Optional(t.Integer({ description: "An image's width in pixels, when its header gives it" })),
  height: t.Optional(t.Integer({ description: "An image's height in pixels, when its header gives it" })),
});

export const Message = t.Object({
  id: t.String({ description: "UUIDv7, sortable by time" }),
  content: t.String(),
  timestamp: t.String({ format: "date-time" }),
  git_hash: t.String({ description: "The commit that holds this message" }),
  repository: t.String({ description: "owner/name" }),
  author: t.String({ description: "The author's display name when they sent it" }),
  author_id: t.Union([t.String(), t.Null()], {
    description: "The author's account, `local:LOGIN`; null for a message from before accounts or from the open local mode",
  }),
  bot: t.Boolean({ description: "true when a bot account wrote it: a bot's token, or an incoming webhook (POST /hooks/{secret})" }),
  verified: t.Boolean({
    description:
      "Whether its commit proves who wrote it: signed by a key that the channel's .gitchat/signers/ lists, or history from before signing began. " +
      "false for a commit pushed around gitchat (with plain git), which nobody can prove",
  }),
  type: t.String(),
  language: t.Union([t.String(), t.Null()], { description: "A code message's language (type \"code\"), for highlighting" }),
  cursor: t.Integer({ description: "Arrival order at this server; pass as `after` to poll. A change to a message (an edit, a delete, a reaction) arrives again with a new cursor" }),
  edited_at: t.Union([t.String({ format: "date-time" }), t.Null()], { description: "When its text was last edited; `content` is the text now" }),
  deleted: t.Boolean({ description: "Deleted by its author or an admin: `content` is empty. git's history still holds the text until it is rewritten" }),
  reply_to: t.Union([t.String(), t.Null()], { description: "The message whose thread it is in; null for a message of the channel itself" }),
  reply_count: t.Integer({ description: "Replies in its thread (deleted ones not counted)" }),
  reactions: t.Array(
    t.Object({
      emoji: t.String(),
      count: t.Integer(),
      users: t.Array(t.String(), { description: "Who gave it, by name" }),
      user_ids: t.Array(t.String(), { description: "Who gave it, by account id (`local:LOGIN`), or `name:NAME` for someone with no account" }),
    }),
  ),
  attachments: t.Array(Attachment, { description: "Its files, in the order sent; empty for a message without any (and for a deleted one)" }),
});

export const MessageHistory = t.Object({
  id: t.String(),
  deleted: t.Boolean(),
  versions: t.Array(
    t.Object({
      content: t.Union([t.String(), t.Null()], { description: "null once the message is deleted" }),
      author: t.String(),
      at: t.String({ format: "date-time" }),
      git_hash: t.String({ description: "The commit that holds this version" }),
    }),
    { description: "The text as sent, then each edit, oldest first" },
  ),
});

export const Repository = t.Object({
  id: t.Integer(),
  name: t.String(),
  owner: t.String(),
  full_name: t.String(),
  created_at: t.String({ format: "date-time" }),
  private: t.Boolean({ description: "Seen only by its creator, its members and admins (this server's setting, not GitHub's)" }),
  head: t.Union([t.String(), t.Null()], { description: "The commit `main` points at; null while empty" }),
  sync: t.Object(
    {
      enabled: t.Boolean({ description: "false when GITHUB_TOKEN is not set" }),
      remote: t.Union([t.String(), t.Null()], { description: "owner/name on GitHub" }),
      unpushed: t.Integer({ description: "Commits GitHub does not have yet (at most 10,000 counted)" }),
      last_push_at: t.Union([t.String(), t.Null()]),
      last_pull_at: t.Union([t.String(), t.Null()]),
      last_error: t.Union([t.String(), t.Null()]),
      last_error_at: t.Union([t.String(), t.Null()]),
    },
    { description: "How this channel stands with its GitHub repository" },
  ),
});

export const ChannelMembersBody = t.Object({
  private: t.Boolean(),
  creator: t.Union([t.String(), t.Null()], { description: "The login that created it; null when the operator did, or before private channels" }),
  members: t.Array(t.Object({ login: t.String(), name: t.String(), role: t.String() }), {
    description: "Who sees it besides admins: a private channel's creator and members; every account for a public one",
  }),
});

export const SyncReport = t.Object({
  success: t.Boolean(),
  message: t.String(),
  repositories: t.Array(
    t.Object({ repository: t.String(), success: t.Boolean(), pushed: t.Integer(), message: t.String() }),
  ),
});

export const Health = t.Object({
  status: t.Union([t.Literal("ok"), t.Literal("degraded")]),
  database: t.Object({ ok: t.Boolean(), messages: t.Integer(), error: t.Optional(t.String()) }),
  git: t.Object({ ok: t.Boolean(), repositories: t.Integer(), error: t.Optional(t.String()) }),
});

const Role = t.Union([t.Literal("member"), t.Literal("admin"), t.Literal("bot")]);

export const Me = t.Object({
  login: t.String(),
  name: t.String({ description: "The display name messages are written under" }),
  role: Role,
  id: t.String({ description: "The stable id in message files: local:LOGIN" }),
});

export const Caller = t.Object({
  login: t.Union([t.String(), t.Null()], { description: "null for the operator (ACCESS_TOKEN, the CLI, the open local mode)" }),
  name: t.String({ description: "The name messages are written under" }),
  role: Role,
  id: t.Union([t.String(), t.Null()], { description: "local:LOGIN; null without an account" }),
});

export const User = t.Object({
  login: t.String(),
  name: t.String(),
  role: Role,
  created_at: t.String({ format: "date-time" }),
});

export const NewUser = t.Object({
  login: t.String(),
  name: t.String(),
  role: Role,
  invite_url: t.Union([t.String(), t.Null()], { description: "One-time link, valid 24 hours, to set a password; null for a bot" }),
});

export const Token = t.Object({
  id: t.String(),
  label: t.String(),
  created_at: t.String({ format: "date-time" }),
  last_used_at: t.Union([t.String({ format: "date-time" }), t.Null()]),
});

export const NewToken = t.Object({
  id: t.String(),
  token: t.String({ description: "Send as Authorization: Bearer <token>. Shown this once; only its hash is kept" }),
});

export const Session = t.Object({
  id: t.String({ description: "Public id of the session (never its cookie)" }),
  created_at: t.String({ format: "date-time" }),
  last_seen_at: t.String({ format: "date-time", description: "Updated at most once a minute" }),
  user_agent: t.String(),
  address: t.String(),
  current: t.Boolean({ description: "The session this request came with" }),
});

/** A channel's unread count for the caller (GET /unread, PUT /repositories/{owner}/{name}/read). */
export const ChannelUnread = t.Object({
  repository: t.String({ description: "owner/name" }),
  unread: t.Integer({
    minimum: 0,
    description: "Messages after `last_read`, not counting the caller's own; counting stops at 100 (100 means 100 or more)",
  }),
  last_read: t.Union([t.String(), t.Null()], {
    description: "The id of the newest message the caller has read here; null when they never marked it read (every message counts)",
  }),
  mentions: t.Integer({ minimum: 0, description: "Of the newest 100 unread messages, those that mention the caller: `@login` in their text" }),
});

/** A channel named in a path: /repositories/{owner}/{name}/... */
export const FullNameParams = t.Object({
  owner: t.String({ error: "owner must be a GitHub account name" }),
  name: t.String({ error: "name must be a repository name" }),
});
