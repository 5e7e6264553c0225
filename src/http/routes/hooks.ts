/**
 * Incoming webhooks: admins make, list and remove them; anyone holding a
 * hook's secret URL posts into its channel as its bot, in the shape Slack,
 * Mattermost and Rocket.Chat share: `{"text": "...", "username"?: "..."}` as
 * JSON, or the same JSON in the form field `payload` (Slack's form shape).
 * The answer is Slack's: 200 with the body `ok`.
 *
 * The secret in the path is the hook's only credential, so its route is
 * public (auth.ts) and exempt from the cross-site rule (security.ts), as
 * GitHub's webhook is: senders are programs, not browsers.
 */
import { Elysia, t } from "elysia";
import type { HookService, Hook } from "../../accounts/hooks.ts";
import { InvalidInputError, InvalidJsonError, RateLimitedError } from "../../errors.ts";
import type { MessageService } from "../../messages/service.ts";
import type { RateLimiter } from "../../rate-limit.ts";
import type { RepositoryService } from "../../repositories/service.ts";
import type { AuthPlugin } from "../auth.ts";
import { parseJson } from "../body.ts";
import { ErrorBody } from "../schemas.ts";

const HookInfo = t.Object({
  id: t.String(),
  repository: t.String({ description: "owner/name: the channel it posts into" }),
  name: t.String({ description: "Its bot's display name" }),
  login: t.String({ description: "Its bot account's login (`hook-<id>`): the author id of its messages is `local:<login>`" }),
  created_at: t.String({ format: "date-time" }),
});

const toInfo = (hook: Hook) => ({
  id: hook.id,
  repository: hook.repository,
  name: hook.name,
  login: hook.login,
  created_at: new Date(hook.createdAt).toISOString(),
});

/** What gitchat reads of a hook's payload; Slack's other fields (attachments, blocks, channel, icon_emoji, icon_url, ...) pass unread. */
const HookPayload = t.Object(
  {
    text: t.Optional(t.String({ description: "The message, 1 to 10,000 characters; Markdown as the page shows it", error: "text must be a string" })),
    username: t.Optional(
      t.String({ description: "A display name for this message only; the author id stays the hook's bot", error: "username must be a string" }),
    ),
    payload: t.Optional(t.String({ description: "The same JSON as a form field (`payload=...`, Slack's form shape)", error: "payload must be a string" })),
  },
  { additionalProperties: true },
);

const IGNORED = "attachments, blocks, channel and icons are ignored";

/** The text and display name of a payload, as JSON or as Slack's `payload=` form field; a 400 that says what is wrong otherwise. */
export const readHookPayload = (body: unknown): { text: string; username?: string } => {
  let value = body;
  const form = value as { payload?: unknown } | null;
  if (form !== null && typeof form === "object" && typeof form.payload === "string") {
    value = parseJson(new TextEncoder().encode(form.payload));
  }
  if (value === null || typeof value !== "object" || Array.isArray(value)) {
    throw new InvalidJsonError('the payload must be a JSON object: {"text": "..."}');
  }
  const { text, username } = value as { text?: unknown; username?: unknown };
  if (typeof text !== "string" || text.trim() === "") {
    throw new InvalidInputError(`"text" is required and must not be blank: gitchat posts text only (${IGNORED})`);
  }
  if (username !== undefined && typeof username !== "string") throw new InvalidInputError('"username" must be a string');
  return username === undefined || username.trim() === "" ? { text } : { text, username };
};

export const hookRoutes = (
  deps: { hooks: HookService; messages: MessageService; repositories: RepositoryService; messageLimit: RateLimiter },
  auth: AuthPlugin,
) =>
  new Elysia({ name: "hooks" })
    .use(auth)
    .post(
      "/hooks",
      ({ body, identity, set }) => {
        const repository = deps.repositories.resolve(body.repository).fullName;
        const { hook, url } = deps.hooks.create(identity!.actor, { repository, name: body.name });
        set.status = 201;
        return { ...toInfo(hook), url };
      },
      {
        auth: "admin",
        parse: "json",
        body: t.Object({
          repository: t.String({ description: "owner/name of the channel it posts into", error: "repository is required: \"owner/name\"" }),
          name: t.String({ description: "Its bot's display name, 1 to 64 characters", error: "name is required and must be a string" }),
        }),
        response: { 201: t.Composite([HookInfo, t.Object({ url: t.String({ description: "POST here; it holds the secret, shown this once" }) })]), 400: ErrorBody, 401: ErrorBody, 403: ErrorBody, 404: ErrorBody },
        detail: {
          summary: "Make an incoming webhook",
          description:
            "For a channel, with its own bot account. The URL holds the hook's secret and is shown this once (only its hash is kept): " +
            "whoever has it can post into that channel.",
        },
      },
    )
    .get("/hooks", ({ identity }) => deps.hooks.list(identity!.actor).map(toInfo), {
      auth: "admin",
      response: { 200: t.Array(HookInfo), 401: ErrorBody, 403: ErrorBody },
      detail: { summary: "List incoming webhooks", description: "Never their secrets." },
    })
    .delete(
      "/hooks/:id",
      ({ params, identity, set }) => {
        deps.hooks.remove(identity!.actor, params.id);
        set.status = 204;
      },
      {
        auth: "admin",
        params: t.Object({ id: t.String({ description: "A hook's id, as GET /hooks lists it" }) }),
        response: { 204: t.Void(), 401: ErrorBody, 403: ErrorBody, 404: ErrorBody },
        detail: { summary: "Remove an incoming webhook", description: "Its URL stops working at once and its bot account is removed; its messages stay." },
      },
    )
    .post(
      "/hooks/:secret",
      async ({ params, body, set }) => {
        const { hook, bot } = deps.hooks.open(params.secret);
        const payload = readHookPayload(body);
        // Counted per hook, as a person's messages are counted per person.
        const verdict = deps.messageLimit.take(`hook:${hook.id}`);
        if (!verdict.ok) throw new RateLimitedError(`too many messages from this webhook: wait ${verdict.retryAfter} s and send again`, verdict.retryAfter);
        await deps.messages.send({
          // An admin made this hook for this channel: it posts there whoever may see the channel.
          viewer: { operator: true },
          content: payload.text,
          repository: hook.repository,
          // `username` changes the name shown for this message, never who it is from.
          author: { name: payload.username ?? bot.name, id: bot.id, bot: true },
        });
        set.headers["content-type"] = "text/plain; charset=utf-8";
        return "ok";
      },
      {
        auth: "public",
        parse: "json",
        params: t.Object({ secret: t.String({ description: "The hook's secret, from the URL POST /hooks gave" }) }),
        body: HookPayload,
        response: { 200: t.String({ description: "`ok`, as Slack answers" }), 400: ErrorBody, 404: ErrorBody, 413: ErrorBody, 415: ErrorBody, 429: ErrorBody },
        detail: {
          summary: "Post through an incoming webhook",
          description:
            'Slack\'s shape: `{"text": "...", "username"?: "..."}` as JSON, or that JSON in the form field `payload` ' +
            "(application/x-www-form-urlencoded). The message is the hook's bot's (`bot: true`); `username` changes the name shown " +
            `for this message only, never its author id. ${IGNORED[0]!.toUpperCase()}${IGNORED.slice(1)}: a hook posts text into its own channel. ` +
            "404 for an unknown secret, 400 for blank text or a payload that is not JSON, 413 past 64 KiB; limited like messages (RATE_LIMIT a minute, per hook).",
        },
      },
    );
