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
import type { MessageService } from "../../messages/service.ts";
import type { Channel, RepositoryService } from "../../repositories/service.ts";
import type { SyncService } from "../../sync/service.ts";
import { arrivalsFragment, appended, channelList, channelListVersion, chatPage, messageItem, notFoundPage, olderFragment, type ChannelItem } from "../../../views/page.ts";
import { html } from "../../../views/html.ts";
import { errorResponse, htmlResponse } from "../errors.ts";
import { SendHeaders } from "../schemas.ts";
import type { StreamLimiter } from "../security.ts";
import { authorOf, type AuthPlugin } from "../auth.ts";

const PAGE_SIZE = 50;

const ASSETS: Record<string, { body: string; type: string }> = {
  "htmx.min.js": { body: htmxJs, type: "text/javascript; charset=utf-8" },
  "sse.js": { body: sseJs, type: "text/javascript; charset=utf-8" },
  "app.js": { body: appJs, type: "text/javascript; charset=utf-8" },
  "theme.js": { body: themeJs, type: "text/javascript; charset=utf-8" },
  "app.css": { body: appCss, type: "text/css; charset=utf-8" },
};

const ChannelParams = t.Object({
  owner: t.String({ error: "owner must be a GitHub account name" }),
  name: t.String({ error: "name must be a repository name" }),
});

export const pageRoutes = (auth: AuthPlugin, deps: {
  messages: MessageService;
  repositories: RepositoryService;
  sync?: SyncService;
  defaultRepository: string;
  streams: StreamLimiter;
}) => {
  const { messages, repositories, sync } = deps;

  const channelItem = async (c: Channel): Promise<ChannelItem> => {
    const state = sync ? await sync.view(c) : undefined;
    return {
      fullName: c.fullName,
      owner: c.owner,
      name: c.name,
      sync: { enabled: Boolean(state), unpushed: state?.unpushed ?? 0, last_error: state?.last_error ?? null },
    };
  };
  const channelItems = () => Promise.all(repositories.list().map(channelItem));
  const find = (owner: string, name: string) => repositories.resolve(`${owner}/${name}`);

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
    .get("/c/:owner/:name", async ({ params, identity }) => {
      let channel: Channel;
      try {
        channel = find(params.owner, params.name);
      } catch {
        return htmlResponse(notFoundPage(`There is no channel ${params.owner}/${params.name}. Add it from the sidebar of any channel.`), 404);
      }
      const cursor = messages.latestCursor();
      const page = messages.list({ repository: channel.fullName, limit: PAGE_SIZE + 1 });
      const hasOlder = page.length > PAGE_SIZE;
      return htmlResponse(
        chatPage({
          channel: await channelItem(channel),
          channels: await channelItems(),
          messages: hasOlder ? page.slice(1) : page,
          hasOlder,
          cursor,
          syncEnabled: Boolean(sync),
          viewer: identity && identity.via !== "open" ? identity.name : undefined,
          links: {
            settings: identity?.account !== undefined,
            members: identity !== undefined && identity.via !== "open" && identity.role === "admin",
          },
        }),
      );
    }, { auth: "member", params: ChannelParams, detail: { hide: true } })
    .get("/c/:owner/:name/messages", ({ params, query }) => {
      const channel = find(params.owner, params.name);
      if (query.after !== undefined) {
        const arrived = messages.list({ repository: channel.fullName, after: query.after, limit: 500 });
        const next = Math.max(query.after, ...arrived.map((m) => m.cursor));
        return htmlResponse(arrivalsFragment(channel, arrived, next));
      }
      const older = messages.list({ repository: channel.fullName, before: query.before, limit: PAGE_SIZE + 1 });
      const hasOlder = older.length > PAGE_SIZE;
      return htmlResponse(olderFragment(channel, hasOlder ? older.slice(1) : older, hasOlder));
    }, {
      auth: "member",
      params: ChannelParams,
      query: t.Object({
        after: t.Optional(t.Integer({ minimum: 0, maximum: Number.MAX_SAFE_INTEGER, error: "after must be a cursor" })),
        before: t.Optional(t.String({ error: "before must be a message id" })),
      }),
      detail: { hide: true },
    })
    .post("/c/:owner/:name/messages", async ({ params, body, headers, identity }) => {
      const channel = find(params.owner, params.name);
      const { message, replayed } = await messages.send({
        content: body.content,
        repository: channel.fullName,
        author: authorOf(identity),
        // The page names each message once and sends the same key on its retries.
        idempotencyKey: headers["idempotency-key"],
      });
      return htmlResponse(appended([message]), replayed ? 200 : 201);
    }, {
      auth: "member",
      messageLimit: true,
      params: ChannelParams,
      headers: SendHeaders,
      parse: "json",
      body: t.Object({ content: t.String({ error: "content is required" }) }),
      detail: { hide: true },
    })
    .get("/c/:owner/:name/events", ({ params, query, request, identity }) => {
      const channel = find(params.owner, params.name);
      // A HEAD gets the headers of a stream, never a stream that no one will read.
      if (request.method === "HEAD") return new Response(null, { headers: { "content-type": "text/event-stream; charset=utf-8" } });
      const release = deps.streams.acquire(identity?.clientKey ?? "local");
      if (!release) {
        return errorResponse(429, "too_many_streams", "too many live streams open from here; close some tabs", { "retry-after": "10" });
      }
      const lastEventId = Number(request.headers.get("last-event-id"));
      let cursor = Number.isSafeInteger(lastEventId) && lastEventId > 0 ? lastEventId : (query.after ?? messages.latestCursor());
      const encoder = new TextEncoder();
      let stop = () => {};
      const stream = new ReadableStream<Uint8Array>({
        start(controller) {
          const push = () => {
            try {
              for (const m of messages.list({ repository: channel.fullName, after: cursor, limit: 500 })) {
                const data = messageItem(m).value.split("\n").map((line) => `data: ${line}`).join("\n");
                controller.enqueue(encoder.encode(`id: ${m.cursor}\nevent: message\n${data}\n\n`));
                cursor = m.cursor;
              }
            } catch {
              // The stream closed under us: stop listening; the browser reconnects with Last-Event-ID.
              stop();
            }
          };
          const unsubscribe = messages.subscribe((id) => id === channel.id && push());
          // A comment now and then keeps proxies from closing an idle stream.
          const ping = setInterval(() => {
            try {
              controller.enqueue(encoder.encode(": ping\n\n"));
            } catch {
              stop();
            }
          }, 15_000);
          stop = () => {
            unsubscribe();
            clearInterval(ping);
            release();
          };
          request.signal.addEventListener("abort", () => {
            stop();
            try {
              controller.close();
            } catch {}
          });
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
    .get("/ui/channels", async ({ query }) => {
      const items = await channelItems();
      const current = query.current ?? "";
      // Nothing changed: no swap, so keyboard focus in the list stays where it is.
      if (query.version === channelListVersion(items, current)) return new Response(null, { status: 204 });
      return htmlResponse(channelList(items, current));
    }, {
      auth: "member",
      query: t.Object({ current: t.Optional(t.String()), version: t.Optional(t.String()) }),
      detail: { hide: true },
    })
    .post("/ui/repositories", async ({ body, headers }) => {
      const [owner = "", name = ""] = body.repository.trim().split("/");
      const channel = await repositories.create(owner, name);
      await sync?.attach(channel);
      const current = new URL(headers["hx-current-url"] ?? "http://x/").pathname.split("/").slice(2, 4).join("/");
      return htmlResponse(channelList(await channelItems(), current));
    }, {
      auth: "member",
      parse: "json",
      body: t.Object({ repository: t.String({ error: "repository must be owner/name" }) }),
      detail: { hide: true },
    })
    .post("/ui/push", async () => {
      if (!sync) return htmlResponse(html`GitHub sync is off.`);
      const reports = await sync.pushAll();
      const failed = reports.filter((r) => !r.success);
      return htmlResponse(
        failed.length === 0
          ? html`Pushed: all ${reports.length} channel(s) in sync.`
          : html`<span class="error">${failed.map((r) => `${r.repository}: ${r.message}`).join("; ")}</span>`,
      );
    }, { auth: "member", detail: { hide: true } });
};
