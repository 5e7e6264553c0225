import type { AuthPlugin } from "../auth.ts";
import { Elysia, t } from "elysia";
import { toRepositoryView, type Channel, type RepositoryService } from "../../repositories/service.ts";
import type { SyncService } from "../../sync/service.ts";
import { ErrorBody, Repository } from "../schemas.ts";

const SYNC_OFF = {
  enabled: false,
  remote: null,
  unpushed: 0,
  last_push_at: null,
  last_pull_at: null,
  last_error: null,
  last_error_at: null,
};

export const repositoryRoutes = (repositories: RepositoryService, auth: AuthPlugin, sync: SyncService | undefined) => {
  const view = async (channel: Channel) => ({
    ...toRepositoryView(channel),
    head: (await repositories.head(channel)) ?? null,
    sync: sync ? await sync.view(channel) : SYNC_OFF,
  });
  return (
  new Elysia({ name: "repositories" })
    .use(auth)
    .get("/repositories", () => Promise.all(repositories.list().map(view)), {
      auth: "member",
      response: { 200: t.Array(Repository) },
      detail: { summary: "List channels" },
    })
    .post(
      "/repositories",
      async ({ body, set }) => {
        const channel = await repositories.create(body.owner, body.name);
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
        }),
        response: { 201: Repository, 400: ErrorBody, 409: ErrorBody, 413: ErrorBody, 415: ErrorBody },
        detail: { summary: "Create a channel", description: "409 when it exists (names are case-insensitive, as on GitHub)." },
      },
    ));
};
