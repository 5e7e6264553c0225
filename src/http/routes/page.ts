/**
 * The chat page: server-rendered HTML and fragments for htmx, a stream of
 * server-sent events for instant delivery, and the page's own assets (served
 * from inside the binary, never from the file system or a CDN).
 */
import { Elysia, t } from "elysia";
import htmxJs from "htmx.org/dist/htmx.min.js" with { type: "text" };
import sseJs from "htmx-ext-sse/dist/sse.min.js" with { type: "text" };
import appJs from "../../../public/app.js" with { type: "text" };
import themeJs from "../../../public/theme.js" with { type: "text" };
import appCss from "../../../public/app.css" with { type: "text" };
import iconSvg from "../../../public/icon.svg" with { type: "text" };
import manifest from "../../../public/manifest.webmanifest" with { type: "text" };
import { actorOf, type MessageService, type MessageView } from "../../messages/service.ts";
import type { Channel } from "../../repositories/service.ts";
import type { ChannelAccess, Viewer } from "../../repositories/access.ts";
import type { SyncService } from "../../sync/service.ts";
import {
  arrivalsFragment,
  appended,
  channelList,
  channelListVersion,
  chatPage,
  mayChange,
  membersPage,
  membersPanel,
  messageEditor,
  messageItem,
  notFoundPage,
  olderFragment,
  windowFragment,
  threadFragment,
  type ChannelItem,
  type PageViewer,
} from "../../../views/page.ts";
import { channelPath } from "../../../views/paths.ts";
import { SEARCH_PAGE, searchHint, searchRefused, searchResults } from "../../../views/search.ts";
import { isBlankSearch, parseSearch } from "../../messages/search-query.ts";
import { AppError, ForbiddenError, MessageDeletedError, UnknownMessageError } from "../../errors.ts";
import { html } from "../../../views/html.ts";
import { errorResponse, htmlResponse } from "../errors.ts";
import { SendHeaders, UploadedFiles } from "../schemas.ts";
import { fileInputs } from "../body.ts";
import type { StreamLimiter } from "../security.ts";
import { withoutIdleTimeout } from "./sync.ts";
import { authorOf, type AuthPlugin, type Identity } from "../auth.ts";
import type { UnreadService } from "../../messages/unread.ts";
import { unreadReader } from "./unread.ts";

const PAGE_SIZE = 50;
/** Messages shown on each side of a message opened by its link. */
const WINDOW_SIDE = 25;
/** Replies a thread panel shows. */
const THREAD_SIZE = 500;

const ASSETS: Record<string, { body: string; type: string }> = {
  "htmx.min.js": { body: htmxJs, type: "text/javascript; charset=utf-8" },
  "sse.js": { body: sseJs, type: "text/javascript; charset=utf-8" },
  "app.js": { body: appJs, type: "text/javascript; charset=utf-8" },
  "theme.js": { body: themeJs, type: "text/javascript; charset=utf-8" },
  "app.css": { body: appCss, type: "text/css; charset=utf-8" },
  "icon.svg": { body: iconSvg, type: "image/svg+xml" },
  "manifest.webmanifest": { body: manifest, type: "application/manifest+json" },
};

const MemberForm = t.Object({ login: t.String({ error: "login is required: an account's login" }) });

/** The reader as the views need them: mentions name a login (the name written under, for the operator). */
const readerOf = (identity: Identity): PageViewer => ({
  login: (identity.account?.login ?? identity.name).toLowerCase(),
  admin: identity.role === "admin",
  actor: actorOf({ author: identity.name, author_id: identity.account?.id ?? null }),
});

const ChannelParams = t.Object({
  owner: t.String({ error: "owner must be a GitHub account name" }),
  name: t.String({ error: "name must be a repository name" }),
});

const MessageParams = t.Object({
  owner: t.String({ error: "owner must be a GitHub account name" }),
  name: t.String({ error: "name must be a repository name" }),
  id: t.String({ error: "id must be a message id" }),
});

export const pageRoutes = (auth: AuthPlugin, deps: {
  messages: MessageService;
  unread: UnreadService;
  /** Every channel the page reaches, it reaches through this: only those the caller sees. */
  channelAccess: ChannelAccess;
  sync?: SyncService;
  defaultRepository: string;
  streams: StreamLimiter;
  shutdown?: AbortSignal;
}) => {
  const { messages, channelAccess: access, sync } = deps;

  const channelItem = async (c: Channel, counts = { unread: 0, mentions: 0 }): Promise<ChannelItem> => {
    const state = sync ? await sync.view(c) : undefined;
    return {
      fullName: c.fullName,
      owner: c.owner,
      name: c.name,
      private: access.isPrivate(c),
      sync: { enabled: Boolean(state), unpushed: state?.unpushed ?? 0, last_error: state?.last_error ?? null },
      unread: counts.unread,
      mentions: counts.mentions,
    };
  };
  /** The channels the caller sees, each with its unread count. */
  const channelItems = (identity: Identity) => {
    const counts = new Map(deps.unread.counts(unreadReader(identity)).map((u) => [u.repository, u]));
    return Promise.all(access.list(identity.actor).map((c) => channelItem(c, counts.get(c.fullName))));
  };
  /** The channel, if the caller sees it: a private one they are not in is as unknown as a name that names nothing. */
  const find = (viewer: Viewer, owner: string, name: string) => access.resolve(viewer, `${owner}/${name}`);
  /** `find` for a whole page: the not-found page instead of the API's error. */
  const findForPage = (viewer: Viewer, params: { owner: string; name: string }): Channel | Response => {
    try {
      return find(viewer, params.owner, params.name);
    } catch {
      return htmlResponse(notFoundPage(`There is no channel ${params.owner}/${params.name}. Add it from the sidebar of any channel.`), 404);
    }
  };

  /** The message `id` of the channel in the path (a message of another channel is as unknown here as one that does not exist). */
  const messageIn = (identity: Identity, params: { owner: string; name: string; id: string }) => {
    const channel = find(identity.actor, params.owner, params.name);
    const message = messages.get({ viewer: identity.actor, id: params.id });
    if (message.repository !== channel.fullName) throw new UnknownMessageError(`there is no message ${params.id} in ${channel.fullName}`);
    return { channel, message };
  };
  /**
   * A message as the page shows it; a reply with its thread's reply count as
   * it is now (a reply's arrival does not repeat its parent's).
   */
  const itemOf = (identity: Identity, reader: PageViewer) => (m: MessageView) => {
    if (!m.reply_to) return messageItem(m, reader);
    let count: number | undefined;
    try {
      count = messages.get({ viewer: identity.actor, id: m.reply_to }).reply_count;
    } catch {
      // The parent is not one the reader sees (any more): no count to show.
    }
    return messageItem(m, reader, "m-", count);
  };

  /**
   * Changes who sees a channel from its members page (a member added or
   * removed, the channel made private or public): htmx gets the panel back
   * (with the error inline, under the error's status), a plain form post is
   * sent back to the page, or shown it again with the error.
   */
  const changeAccess = (viewer: Viewer, params: { owner: string; name: string }, headers: Record<string, string | undefined>, change: () => void) => {
    const channel = find(viewer, params.owner, params.name);
    let error: AppError | undefined;
    try {
      change();
    } catch (thrown) {
      if (!(thrown instanceof AppError) || thrown.status >= 500) throw thrown;
      error = thrown;
    }
    // Someone who left the channel no longer sees it: back to the chat.
    const htmx = headers["hx-request"] === "true";
    if (!access.canSee(viewer, channel)) return new Response(null, htmx ? { headers: { "hx-redirect": "/" } } : { status: 303, headers: { location: "/" } });
    const members = access.members(viewer, channel.fullName);
    const status = error?.status ?? 200;
    if (htmx) return htmlResponse(membersPanel(channel, members, error?.message), status);
    if (error) return htmlResponse(membersPage(channel, members, error.message), status);
    return new Response(null, { status: 303, headers: { location: `${channelPath(channel)}/members` } });
  };

  return new Elysia({ name: "page" })
    .use(auth)
    .get("/", ({ redirect }) => {
      const [owner, name] = deps.defaultRepository.split("/");
      return redirect(`/c/${owner}/${name}`, 302);
    }, { auth: "member", detail: { hide: true } })
    .get("/assets/:file", ({ params }) => {
      const asset = Object.hasOwn(ASSETS, params.file) ? ASSETS[params.file] : undefined;
      if (!asset) return new Response("not found", { status: 404, headers: { "content-type": "text/plain; charset=utf-8" } });
      return new Response(asset.body, { headers: { "content-type": asset.type, "cache-control": "public, max-age=300" } });
    }, { auth: "public", params: t.Object({ file: t.String() }), detail: { hide: true } })
    // Browsers ask for /favicon.ico whatever the page says: the icon is an SVG asset.
    .get("/favicon.ico", ({ redirect }) => redirect("/assets/icon.svg", 301), { auth: "public", detail: { hide: true } })
    .get("/c/:owner/:name", async ({ params, identity }) => {
      const channel = findForPage(identity!.actor, params);
      if (channel instanceof Response) return channel;
      const cursor = messages.latestCursor();
      const page = messages.list({ viewer: identity!.actor, repository: channel.fullName, limit: PAGE_SIZE + 1 });
      const hasOlder = page.length > PAGE_SIZE;
      return htmlResponse(
        chatPage({
          channel: await channelItem(channel),
          channels: await channelItems(identity!),
          messages: hasOlder ? page.slice(1) : page,
          hasOlder,
          cursor,
          syncEnabled: Boolean(sync),
          viewer: identity && identity.via !== "open" ? identity.name : undefined,
          reader: readerOf(identity!),
          links: {
            settings: identity?.account !== undefined,
            members: identity !== undefined && identity.via !== "open" && identity.role === "admin",
          },
          reading: {
            unreadAfter: deps.unread.unreadAfter(identity!.actor, channel.fullName),
            me: readerOf(identity!).actor,
          },
        }),
      );
    }, { auth: "member", params: ChannelParams, detail: { hide: true } })
    .get("/c/:owner/:name/messages", ({ params, query, identity }) => {
      const viewer = identity!.actor;
      const channel = find(viewer, params.owner, params.name);
      // A link to a message (#m-<id>) that the page does not hold: the messages around it, then newer ones as the reader scrolls down.
      if (query.around !== undefined) {
        return htmlResponse(windowFragment(channel, messages.around({ viewer, repository: channel.fullName, id: query.around, count: WINDOW_SIDE }), readerOf(identity!)));
      }
      if (query.newer !== undefined) {
        return htmlResponse(windowFragment(channel, messages.newer({ viewer, repository: channel.fullName, after: query.newer, limit: PAGE_SIZE }), readerOf(identity!)));
      }
      if (query.after !== undefined) {
        const arrived = messages.list({ viewer, repository: channel.fullName, after: query.after, limit: 500 });
        const next = Math.max(query.after, ...arrived.map((m) => m.cursor));
        return htmlResponse(arrivalsFragment(channel, arrived.map(itemOf(identity!, readerOf(identity!))), next));
      }
      const older = messages.list({ viewer, repository: channel.fullName, before: query.before, limit: PAGE_SIZE + 1 });
      const hasOlder = older.length > PAGE_SIZE;
      return htmlResponse(olderFragment(channel, hasOlder ? older.slice(1) : older, hasOlder, readerOf(identity!)));
    }, {
      auth: "member",
      params: ChannelParams,
      query: t.Object({
        after: t.Optional(t.Integer({ minimum: 0, maximum: Number.MAX_SAFE_INTEGER, error: "after must be a cursor" })),
        before: t.Optional(t.String({ error: "before must be a message id" })),
        around: t.Optional(t.String({ error: "around must be a message id" })),
        newer: t.Optional(t.String({ error: "newer must be a message id" })),
      }),
      detail: { hide: true },
    })
    .post("/c/:owner/:name/messages", async ({ params, body, headers, identity }) => {
      const channel = find(identity!.actor, params.owner, params.name);
      const { message, replayed } = await messages.send({
        viewer: identity!.actor,
        content: body.content,
        repository: channel.fullName,
        reply_to: body.reply_to || undefined,
        files: await fileInputs(body.file),
        author: authorOf(identity),
        // The page names each message once and sends the same key on its retries.
        idempotencyKey: headers["idempotency-key"],
      });
      return htmlResponse(appended([itemOf(identity!, readerOf(identity!))(message)]), replayed ? 200 : 201);
    }, {
      auth: "member",
      messageLimit: true,
      params: ChannelParams,
      headers: SendHeaders,
      // The composer sends multipart/form-data (a message may carry files); a plain form or JSON works too.
      parse: ["json", "formdata"],
      body: t.Object({
        content: t.String({ error: "content is required" }),
        reply_to: t.Optional(t.String({ error: "reply_to must be the id of the message replied to" })),
        file: UploadedFiles,
      }),
      detail: { hide: true },
    })
    .get("/c/:owner/:name/events", ({ params, query, request, identity }) => {
      const viewer = identity!.actor;
      const channel = find(viewer, params.owner, params.name);
      // A HEAD gets the headers of a stream, never a stream that no one will read.
      if (request.method === "HEAD") return new Response(null, { headers: { "content-type": "text/event-stream; charset=utf-8" } });
      const release = deps.streams.acquire(identity?.clientKey ?? "local");
      if (!release) {
        return errorResponse(429, "too_many_streams", "too many live streams open from here; close some tabs", { "retry-after": "10" });
      }
      const lastEventId = Number(request.headers.get("last-event-id"));
      let cursor = Number.isSafeInteger(lastEventId) && lastEventId > 0 ? lastEventId : (query.after ?? messages.latestCursor());
      const item = itemOf(identity!, readerOf(identity!));
      const encoder = new TextEncoder();
      let stop = () => {};
      const stream = new ReadableStream<Uint8Array>({
        start(controller) {
          const push = () => {
            try {
              // Asks who sees the channel each time: someone removed from it gets nothing more (see `revoked` below).
              for (const m of messages.list({ viewer, repository: channel.fullName, after: cursor, limit: 500 })) {
                const data = item(m).value.split("\n").map((line) => `data: ${line}`).join("\n");
                controller.enqueue(encoder.encode(`id: ${m.cursor}\nevent: message\n${data}\n\n`));
                cursor = m.cursor;
              }
            } catch {
              // The stream closed under us, or the viewer no longer sees the channel: stop listening and end it
              // (the browser reconnects with Last-Event-ID, and a viewer who lost the channel gets a 404).
              stop();
              try {
                controller.close();
              } catch {}
            }
          };
          const unsubscribe = messages.subscribe((id) => id === channel.id && push());
          // Who sees the channel changed: checked now, not at its next message.
          const revoked = access.onChange((id) => id === channel.id && !access.canSee(viewer, channel) && push());
          // A comment now and then keeps proxies from closing an idle stream.
          const ping = setInterval(() => {
            try {
              controller.enqueue(encoder.encode(": ping\n\n"));
            } catch {
              stop();
            }
          }, 15_000);
          stop = () => {
            deps.shutdown?.removeEventListener("abort", end);
            unsubscribe();
            revoked();
            clearInterval(ping);
            release();
          };
          const end = () => {
            stop();
            try {
              controller.close();
            } catch {}
          };
          request.signal.addEventListener("abort", end);
          // A stream never ends by itself: at shutdown it is closed, and the browser reconnects to the next server.
          deps.shutdown?.addEventListener("abort", end);
          controller.enqueue(encoder.encode("retry: 2000\n\n"));
          push();
        },
        cancel() {
          stop();
        },
      });
      return new Response(stream, {
        headers: { "content-type": "text/event-stream; charset=utf-8", "cache-control": "no-store", "x-accel-buffering": "no" },
      });
    }, {
      auth: "member",
      params: ChannelParams,
      query: t.Object({ after: t.Optional(t.Integer({ minimum: 0, maximum: Number.MAX_SAFE_INTEGER, error: "after must be a cursor" })) }),
      detail: { hide: true },
    })
    // A message's actions, from its menu: each answers the message as it is now
    // (the page puts it in the place of the one shown), or a 4xx that changed nothing.
    // Each change is a commit, and counts against RATE_LIMIT as a message does (as in the API).
    .get("/c/:owner/:name/messages/:id/edit", ({ params, identity }) => {
      const { channel, message } = messageIn(identity!, params);
      if (!mayChange(readerOf(identity!), message)) throw new ForbiddenError("only its author or an admin may edit this message");
      if (message.deleted) throw new MessageDeletedError("this message was deleted: it can no longer be edited");
      return htmlResponse(messageEditor(channelPath(channel), message));
    }, { auth: "member", params: MessageParams, detail: { hide: true } })
    .post("/c/:owner/:name/messages/:id/edit", async ({ params, body, identity }) => {
      const { message } = messageIn(identity!, params);
      const edited = await messages.edit({ viewer: identity!.actor, author: authorOf(identity), id: message.id, content: body.content });
      return htmlResponse(messageItem(edited, readerOf(identity!)));
    }, { auth: "member", messageLimit: true, params: MessageParams, parse: "json", body: t.Object({ content: t.String({ error: "content is required: the new text" }) }), detail: { hide: true } })
    .post("/c/:owner/:name/messages/:id/delete", async ({ params, identity }) => {
      const { message } = messageIn(identity!, params);
      const deleted = await messages.remove({ viewer: identity!.actor, author: authorOf(identity), id: message.id });
      return htmlResponse(messageItem(deleted, readerOf(identity!)));
    }, { auth: "member", messageLimit: true, params: MessageParams, detail: { hide: true } })
    .post("/c/:owner/:name/messages/:id/reactions", async ({ params, body, identity }) => {
      const { message } = messageIn(identity!, params);
      const on = body.on === true || body.on === "true";
      const reacted = await messages.react({ viewer: identity!.actor, author: authorOf(identity), id: message.id, emoji: body.emoji.trim(), on });
      return htmlResponse(messageItem(reacted, readerOf(identity!)));
    }, {
      auth: "member",
      messageLimit: true,
      params: MessageParams,
      parse: "json",
      body: t.Object({
        emoji: t.String({ error: "emoji is required: an emoji, or a :shortcode:" }),
        on: t.Union([t.Literal("true"), t.Literal("false"), t.Boolean()], { error: "on must be true (add the reaction) or false (take it back)" }),
      }),
      detail: { hide: true },
    })
    .get("/c/:owner/:name/threads/:id", ({ params, identity }) => {
      const { message } = messageIn(identity!, params);
      const viewer = identity!.actor;
      // A reply's thread is its parent's.
      const parent = message.reply_to ? messages.get({ viewer, id: message.reply_to }) : message;
      const replies = messages.list({ viewer, thread: parent.id, limit: THREAD_SIZE });
      return htmlResponse(threadFragment(parent, replies, readerOf(identity!)));
    }, { auth: "member", params: MessageParams, detail: { hide: true } })
    .get("/c/:owner/:name/members", ({ params, identity }) => {
      const viewer = identity!.actor;
      const channel = findForPage(viewer, params);
      if (channel instanceof Response) return channel;
      return htmlResponse(membersPage(channel, access.members(viewer, channel.fullName)));
    }, { auth: "member", params: ChannelParams, detail: { hide: true } })
    .post("/c/:owner/:name/members", ({ params, body, identity, headers }) =>
      changeAccess(identity!.actor, params, headers, () => access.addMember(identity!.actor, `${params.owner}/${params.name}`, body.login.trim())), {
      auth: "member",
      params: ChannelParams,
      parse: "json",
      body: MemberForm,
      detail: { hide: true },
    })
    .post("/c/:owner/:name/members/remove", ({ params, body, identity, headers }) =>
      changeAccess(identity!.actor, params, headers, () => access.removeMember(identity!.actor, `${params.owner}/${params.name}`, body.login.trim())), {
      auth: "member",
      params: ChannelParams,
      parse: "json",
      body: MemberForm,
      detail: { hide: true },
    })
    .post("/c/:owner/:name/visibility", ({ params, body, identity, headers }) =>
      changeAccess(identity!.actor, params, headers, () => access.setPrivate(identity!.actor, `${params.owner}/${params.name}`, body.private === true || body.private === "true")), {
      auth: "admin",
      params: ChannelParams,
      parse: "json",
      body: t.Object({ private: t.Union([t.Literal("true"), t.Literal("false"), t.Boolean()], { error: "private must be true or false" }) }),
      detail: { hide: true },
    })
    .get("/ui/search", ({ query, identity }) => {
      // The same search as GET /messages?q= (every channel the caller sees), shown newest first.
      const q = query.q ?? "";
      let found, terms;
      try {
        const search = parseSearch(q);
        // A blank search would list the newest messages: here it asks for nothing.
        if (isBlankSearch(search)) return htmlResponse(searchHint);
        terms = search.terms;
        found = messages.list({ viewer: identity!.actor, q, before: query.before, limit: SEARCH_PAGE + 1 });
      } catch (error) {
        if (!(error instanceof AppError) || error.status >= 500) throw error;
        return htmlResponse(searchRefused(error.message), error.status);
      }
      const more = found.length > SEARCH_PAGE;
      const results = (more ? found.slice(1) : found).reverse();
      return htmlResponse(searchResults({ q, results, terms, more, first: query.before === undefined }));
    }, {
      auth: "member",
      query: t.Object({
        // Optional so that who may ask is checked before what was asked (a missing q is a blank search).
        q: t.Optional(t.String({ maxLength: 500, error: "q is the search: at most 500 characters" })),
        before: t.Optional(t.String({ error: "before must be a message id" })),
      }),
      detail: { hide: true },
    })
    .get("/ui/channels", async ({ query, identity }) => {
      const items = await channelItems(identity!);
      const current = query.current ?? "";
      // Nothing changed: no swap, so keyboard focus in the list stays where it is.
      if (query.version === channelListVersion(items, current)) return new Response(null, { status: 204 });
      return htmlResponse(channelList(items, current));
    }, {
      auth: "member",
      query: t.Object({ current: t.Optional(t.String()), version: t.Optional(t.String()) }),
      detail: { hide: true },
    })
    .post("/ui/repositories", async ({ body, headers, identity }) => {
      const [owner = "", name = ""] = body.repository.trim().split("/");
      // The form's checkbox is sent as "on" when ticked, and not at all otherwise.
      const channel = await access.create(identity!.actor, owner, name, body.private === "on" || body.private === true);
      await sync?.attach(channel);
      const current = new URL(headers["hx-current-url"] ?? "http://x/").pathname.split("/").slice(2, 4).join("/");
      return htmlResponse(channelList(await channelItems(identity!), current));
    }, {
      auth: "member",
      parse: "json",
      body: t.Object({ repository: t.String({ error: "repository must be owner/name" }), private: t.Optional(t.Union([t.Literal("on"), t.Boolean()], { error: "private must be \"on\" or a boolean" })) }),
      detail: { hide: true },
    })
    .post("/ui/push", async ({ request, server, identity }) => {
      if (!sync) return htmlResponse(html`GitHub sync is off.`);
      withoutIdleTimeout(request, server);
      const reports = access.keepVisible(identity!.actor, await sync.pushAll());
      const failed = reports.filter((r) => !r.success);
      return htmlResponse(
        failed.length === 0
          ? html`Pushed: all ${reports.length} channel(s) in sync.`
          : html`<span class="error">${failed.map((r) => `${r.repository}: ${r.message}`).join("; ")}</span>`,
      );
    }, { auth: "member", detail: { hide: true } });
};
