import type { AuthPlugin } from "../auth.ts";
import { Elysia, t } from "elysia";
import { toRepositoryView, type Channel, type RepositoryService } from "../../repositories/service.ts";
import type { SyncService } from "../../sync/service.ts";
import type { ChannelAccess, ChannelMembers } from "../../repositories/access.ts";
import { ChannelMembersBody, ErrorBody, FullNameParams, Repository } from "../schemas.ts";

const SYNC_OFF = {
  enabled: false,
  remote: null,
  unpushed: 0,
  last_push_at: null,
  last_pull_at: null,
  last_error: null,
  last_error_at: null,
};

const MemberParams = t.Object({
  owner: t.String({ error: "owner must be a GitHub account name" }),
  name: t.String({ error: "name must be a repository name" }),
  login: t.String({ error: "login must be an account's login" }),
});

const membersView = (m: ChannelMembers) => ({ private: m.private, creator: m.creator, members: m.members });

export const repositoryRoutes = (repositories: RepositoryService, access: ChannelAccess, auth: AuthPlugin, sync: SyncService | undefined) => {
  const view = async (channel: Channel) => ({
    ...toRepositoryView(channel),
    private: access.isPrivate(channel),
    head: (await repositories.head(channel)) ?? null,
    sync: sync ? await sync.view(channel) : SYNC_OFF,
  });
  return (
  new Elysia({ name: "repositories" })
    .use(auth)
    .get("/repositories", ({ identity }) => Promise.all(access.list(identity!.actor).map(view)), {
      auth: "member",
      response: { 200: t.Array(Repository) },
      detail: { summary: "List channels", description: "The channels the caller sees: every public one, and the private ones they are in (admins: all)." },
    })
    .post(
      "/repositories",
      async ({ body, set, identity }) => {
        const channel = await access.create(identity!.actor, body.owner, body.name, body.private ?? false);
        // Sets up the GitHub repository and pulls its history; a failure shows in `sync.last_error`.
        await sync?.attach(channel);
        set.status = 201;
        return view(channel);
      },
      {
        auth: "member",
        // Our app-wide parser (size cap, clear errors) reads the body; naming
        // "json" here is what puts the body schema into the OpenAPI document.
        parse: "json",
        body: t.Object({
          owner: t.String({ error: "owner is required and must be a string" }),
          name: t.String({ error: "name is required and must be a string" }),
          private: t.Optional(
            t.Boolean({ description: "Seen only by its creator, the members they or an admin add, and admins", error: "private must be true or false" }),
          ),
        }),
        response: { 201: Repository, 400: ErrorBody, 409: ErrorBody, 413: ErrorBody, 415: ErrorBody },
        detail: { summary: "Create a channel", description: "409 when it exists (names are case-insensitive, as on GitHub)." },
      },
    )
    .patch(
      "/repositories/:owner/:name",
      ({ params, body, identity }) => view(access.setPrivate(identity!.actor, `${params.owner}/${params.name}`, body.private)),
      {
        auth: "admin",
        params: FullNameParams,
        parse: "json",
        body: t.Object({ private: t.Boolean({ error: "private is required and must be true or false" }) }),
        response: { 200: Repository, 400: ErrorBody, 403: ErrorBody, 404: ErrorBody },
        detail: {
          summary: "Make a channel private or public",
          description: "Admins only. Its creator and members are kept; those who no longer see it stop receiving its live stream at once.",
        },
      },
    )
    .get(
      "/repositories/:owner/:name/members",
      ({ params, identity }) => membersView(access.members(identity!.actor, `${params.owner}/${params.name}`)),
      {
        auth: "member",
        params: FullNameParams,
        response: { 200: ChannelMembersBody, 404: ErrorBody },
        detail: { summary: "Who sees a channel", description: "A private channel's creator and members; for a public one, every account. 404 to whoever does not see it." },
      },
    )
    .put(
      "/repositories/:owner/:name/members/:login",
      ({ params, identity }) => membersView(access.addMember(identity!.actor, `${params.owner}/${params.name}`, params.login)),
      {
        auth: "member",
        params: MemberParams,
        response: { 200: ChannelMembersBody, 403: ErrorBody, 404: ErrorBody, 409: ErrorBody },
        detail: {
          summary: "Add a member to a private channel",
          description:
            "Admins and the channel's creator; a bot only by an admin. 404 `unknown_user` for a login with no account; 409 `channel_public` for a public channel. Adding a member again changes nothing.",
        },
      },
    )
    .delete(
      "/repositories/:owner/:name/members/:login",
      ({ params, identity }) => membersView(access.removeMember(identity!.actor, `${params.owner}/${params.name}`, params.login)),
      {
        auth: "member",
        params: MemberParams,
        response: { 200: ChannelMembersBody, 403: ErrorBody, 404: ErrorBody, 409: ErrorBody },
        detail: {
          summary: "Remove a member from a private channel",
          description:
            "Admins and the channel's creator, or the member themselves (leaving). 409 `creator_stays` for its creator; 404 for someone not in it. " +
            "Their live streams of the channel end at once.",
        },
      },
    ));
};
