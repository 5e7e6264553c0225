import { Elysia, t } from "elysia";
import { toRepositoryView, type Channel, type RepositoryService } from "../../repositories/service.ts";
import { ErrorBody, Repository } from "../schemas.ts";

const view = async (channel: Channel) => ({ ...toRepositoryView(channel), head: (await channel.store.head()) ?? null });

export const repositoryRoutes = (repositories: RepositoryService) =>
  new Elysia({ name: "repositories" })
    .get("/repositories", () => Promise.all(repositories.list().map(view)), {
      response: { 200: t.Array(Repository) },
      detail: { summary: "List channels" },
    })
    .post(
      "/repositories",
      async ({ body, set }) => {
        const channel = await repositories.create(body.owner, body.name);
        set.status = 201;
        return view(channel);
      },
      {
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
    );
