/** The OpenAPI document served at /openapi.json is kept true to the routes the app really has. */
import { test, expect, describe, beforeAll, afterAll } from "bun:test";
import { call, openTestGitchat } from "../support/app.ts";
import type { Gitchat } from "../../src/gitchat.ts";
import pkg from "../../package.json" with { type: "json" };

type Schema = {
  $ref?: string;
  type?: string;
  required?: string[];
  properties?: Record<string, Schema>;
  items?: Schema;
};
type Parameter = { name: string; in: string; required?: boolean; schema?: Schema };
type Operation = {
  parameters?: Parameter[];
  requestBody?: { required?: boolean; content?: Record<string, { schema?: Schema }> };
  responses?: Record<string, { content?: Record<string, { schema?: Schema }> }>;
};
type Document = {
  openapi: string;
  info: { title: string; version: string };
  paths: Record<string, Record<string, Operation>>;
  components?: { schemas?: Record<string, Schema> };
};

const HTTP_METHODS = new Set(["get", "put", "post", "delete", "options", "head", "patch", "trace"]);

/** Elysia writes `/a/:id`, OpenAPI `/a/{id}`. */
const toOpenApiPath = (path: string) => path.replace(/:([A-Za-z0-9_]+)/g, "{$1}");

const key = (method: string, path: string) => `${method.toUpperCase()} ${path}`;

describe("the OpenAPI document", () => {
  let gitchat: Gitchat;
  let doc: Document;
  beforeAll(async () => {
    gitchat = await openTestGitchat();
    const answer = await call(gitchat, "GET", "/openapi.json");
    expect(answer.status).toBe(200);
    expect(answer.headers.get("content-type")).toContain("application/json");
    doc = answer.body as Document;
  });
  afterAll(async () => {
    await gitchat.close();
  });

  /** Follows a `#/components/schemas/...` reference, if the document uses one. */
  const resolve = (schema: Schema | undefined): Schema | undefined => {
    if (!schema?.$ref) return schema;
    const name = schema.$ref.replace(/^#\/components\/schemas\//, "");
    return resolve(doc.components?.schemas?.[name]);
  };

  const operation = (method: string, path: string) => {
    const op = doc.paths[path]?.[method];
    expect(op).toBeDefined();
    return op!;
  };

  const jsonSchema = (content: Record<string, { schema?: Schema }> | undefined) => resolve(content?.["application/json"]?.schema);

  const appRoutes = () =>
    gitchat.app.routes
      // The JSON API; the page's routes (/, /c/..., /ui/..., /assets/..., /favicon.ico, /invite/..., /settings, /members, GET /login, /login/github..., /logout) are for browsers, not part of it.
      .filter(
        (route) =>
          !route.path.startsWith("/openapi") &&
          !/^\/($|c\/|ui\/|assets\/|favicon\.ico$|invite\/|logout$|settings($|\/)|members($|\/)|login\/github)/.test(route.path) &&
          !(route.method === "GET" && route.path === "/login"),
      )
      .map((route) => key(route.method, toOpenApiPath(route.path)));

  const documentedOperations = () =>
    Object.entries(doc.paths).flatMap(([path, methods]) =>
      Object.keys(methods)
        .filter((method) => HTTP_METHODS.has(method))
        .map((method) => key(method, path)),
    );

  test("/openapi.json serves an OpenAPI 3 document named for gitchat and its version", () => {
    expect(doc.openapi).toMatch(/^3\.\d+\.\d+$/);
    expect(doc.info.title).toBe("gitchat");
    expect(doc.info.version).toBe(pkg.version);
  });

  test("every route the app answers is documented with its method", () => {
    const routes = appRoutes();
    expect(routes.length).toBeGreaterThan(0);
    const documented = new Set(documentedOperations());
    expect(routes.filter((route) => !documented.has(route))).toEqual([]);
  });

  test("every documented operation is a route the app answers", () => {
    const routes = new Set(appRoutes());
    expect(documentedOperations().filter((op) => !routes.has(op))).toEqual([]);
  });

  test("the core API is among the documented operations", () => {
    expect(documentedOperations()).toEqual(
      expect.arrayContaining(["GET /messages", "POST /messages", "GET /repositories", "POST /repositories", "GET /health"]),
    );
  });

  test("the documented body of POST /messages requires content and offers repository, type, language and reply_to", () => {
    const body = operation("post", "/messages").requestBody;
    expect(body?.required).toBe(true);
    const schema = jsonSchema(body?.content);
    expect(schema).toBeDefined();
    expect(schema?.required).toEqual(["content"]);
    expect(resolve(schema?.properties?.content)?.type).toBe("string");
    expect(Object.keys(schema?.properties ?? {}).sort()).toEqual(["content", "language", "reply_to", "repository", "type"]);
  });

  test("the documented body of POST /repositories requires owner and name", () => {
    const schema = jsonSchema(operation("post", "/repositories").requestBody?.content);
    expect(schema).toBeDefined();
    expect([...(schema?.required ?? [])].sort()).toEqual(["name", "owner"]);
  });

  test("GET /messages documents its query parameters repository, after, before, limit, q and thread", () => {
    const parameters = operation("get", "/messages").parameters ?? [];
    const query = parameters.filter((p) => p.in === "query");
    expect(query.map((p) => p.name).sort()).toEqual(["after", "before", "limit", "q", "repository", "thread"]);
    expect(query.filter((p) => p.required)).toEqual([]);
  });

  test("the documented answer of POST /messages has exactly the fields a sent message comes back with", async () => {
    const sent = await call(gitchat, "POST", "/messages", { content: "as documented" });
    expect(sent.status).toBe(201);
    const schema = jsonSchema(operation("post", "/messages").responses?.["201"]?.content);
    expect([...(schema?.required ?? [])].sort()).toEqual(Object.keys(sent.body).sort());
    expect(Object.keys(schema?.properties ?? {}).sort()).toEqual(Object.keys(sent.body).sort());
  });

  test("the documented answer of GET /repositories has exactly the fields a listed channel comes back with", async () => {
    const listed = await call(gitchat, "GET", "/repositories");
    const schema = jsonSchema(operation("get", "/repositories").responses?.["200"]?.content);
    expect(schema?.type).toBe("array");
    const item = resolve(schema?.items);
    expect(Object.keys(item?.properties ?? {}).sort()).toEqual(Object.keys(listed.body[0]).sort());
  });

  test("every documented error answer has the {error: {code, message}} shape", () => {
    const errors = Object.entries(doc.paths).flatMap(([path, methods]) =>
      Object.entries(methods).flatMap(([method, op]) =>
        Object.entries(op.responses ?? {})
          .filter(([status]) => /^4\d\d$/.test(status))
          .map(([status, response]) => ({ where: `${method.toUpperCase()} ${path} ${status}`, schema: jsonSchema(response.content) })),
      ),
    );
    expect(errors.length).toBeGreaterThan(0);
    for (const { where, schema } of errors) {
      const error = resolve(schema?.properties?.error);
      expect({ where, required: schema?.required, fields: error?.required }).toEqual({
        where,
        required: ["error"],
        fields: ["code", "message"],
      });
    }
  });
});
