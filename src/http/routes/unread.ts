/** Unread counts and read places: GET /unread, PUT /repositories/{owner}/{name}/read. */
import { Elysia, t } from "elysia";
import type { ChannelUnread as Unread, UnreadService } from "../../messages/unread.ts";
import type { AuthPlugin, Identity } from "../auth.ts";
import { ChannelUnread, ErrorBody, FullNameParams } from "../schemas.ts";

const toJson = (u: Unread) => ({ repository: u.repository, unread: u.unread, last_read: u.lastRead, mentions: u.mentions });
/** The reader a caller is: their identity, and the name their own messages carry. */
export const unreadReader = (identity: Identity) => ({ viewer: identity.actor, name: identity.name });

export const unreadRoutes = (unread: UnreadService, auth: AuthPlugin) =>
  new Elysia({ name: "unread" })
    .use(auth)
    .get(
      "/unread",
      ({ identity }) => {
        const channels = unread.counts(unreadReader(identity!)).map(toJson);
        return { channels, total: channels.reduce((sum, c) => sum + c.unread, 0) };
      },
      {
        auth: "member",
        response: { 200: t.Object({ channels: t.Array(ChannelUnread), total: t.Integer({ minimum: 0 }) }) },
        detail: {
          summary: "Unread counts",
          description:
            "Each channel the caller sees, with how many messages came after the place they read up to (their own messages do not count). " +
            "Kept per account on the server, so the same in every browser; in the open local mode and for ACCESS_TOKEN, one shared place.",
        },
      },
    )
    .put(
      "/repositories/:owner/:name/read",
      ({ params, body, identity }) => toJson(unread.markRead(unreadReader(identity!), `${params.owner}/${params.name}`, body.message_id)),
      {
        auth: "member",
        params: FullNameParams,
        parse: "json",
        body: t.Object({ message_id: t.String({ error: "message_id is required: the id of the newest message read" }) }),
        response: { 200: ChannelUnread, 400: ErrorBody, 404: ErrorBody },
        detail: {
          summary: "Mark a channel read",
          description:
            "Up to and including the message `message_id` (one of this channel's). The place only moves forward: an older message changes nothing. " +
            "400 for an id that is not a message id; 404 for a message this channel does not have.",
        },
      },
    );
