/**
 * Cuts the few response schemas that gitchat's GitHub stand-in answers with out of
 * GitHub's official OpenAPI description (the npm package `@octokit/openapi`, ~400 MB
 * unpacked, far too big to commit) into test/support/github-openapi.json.
 *
 *   cd /tmp && npm pack @octokit/openapi && tar xzf octokit-openapi-*.tgz
 *   bun scripts/cut-github-openapi.ts /tmp/package/generated/api.github.com.json
 *
 * The output is a self-contained JSON Schema (draft 2020-12) document: each operation's
 * JSON response schemas, plus every component schema they reach under `$defs`, with
 * `$ref`s rewritten from `#/components/schemas/X` to `#/$defs/X`. OpenAPI 3.0 is not
 * JSON Schema, so the cut also translates: `nullable: true` becomes a type union,
 * boolean `exclusiveMinimum`/`exclusiveMaximum` become numbers, and keywords that
 * only annotate for OpenAPI (`example`, `discriminator`, `x-*`, ...) are dropped.
 * A discriminator only chooses among `oneOf` branches, which `oneOf` alone still checks.
 * A response the description gives no JSON body (e.g. 204) is listed under the
 * operation's `noBody`, so the stand-in can check that it sends none there.
 */
import { createHash } from "node:crypto";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";

/** The operations gitchat calls, and the component schemas it checks on their own. */
const OPERATIONS = [
  ["get", "/user"],
  ["get", "/repos/{owner}/{repo}"],
  ["post", "/user/repos"],
  ["get", "/repos/{owner}/{repo}/collaborators/{username}"],
] as const;
const EXTRA_SCHEMAS = ["basic-error", "validation-error"];

/** OpenAPI annotations with no JSON Schema 2020-12 meaning (ajv's strict mode rejects them). */
const DROPPED_KEYWORDS = new Set(["example", "discriminator", "xml", "externalDocs"]);
/** Keywords whose value maps names to schemas: the names are data, not keywords. */
const SCHEMA_MAPS = new Set(["properties", "patternProperties", "$defs", "definitions", "dependentSchemas"]);

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type JsonObject = { [key: string]: Json };

const isObject = (value: Json | undefined): value is JsonObject =>
  typeof value === "object" && value !== null && !Array.isArray(value);

const fail = (message: string): never => {
  console.error(`cut-github-openapi: ${message}`);
  process.exit(1);
};

const input = process.argv[2];
const output = process.argv[3] ?? join(import.meta.dir, "..", "test", "support", "github-openapi.json");
if (!input) fail("usage: bun scripts/cut-github-openapi.ts <api.github.com.json> [output.json]");

const raw = readFileSync(input!);
const spec = JSON.parse(raw.toString("utf8")) as JsonObject;
if (typeof spec.openapi !== "string" || !spec.openapi.startsWith("3.0.")) {
  fail(`expected an OpenAPI 3.0 description, found openapi: ${JSON.stringify(spec.openapi)}`);
}
const components = spec.components as JsonObject;
const componentSchemas = components.schemas as JsonObject;
const componentResponses = components.responses as JsonObject;

const reached = new Set<string>();
const pending: string[] = [];

const refName = (ref: string): string => {
  const prefix = "#/components/schemas/";
  if (!ref.startsWith(prefix)) return fail(`unexpected $ref ${ref}`);
  const name = ref.slice(prefix.length);
  if (!(name in componentSchemas)) return fail(`dangling $ref ${ref}`);
  if (!reached.has(name)) {
    reached.add(name);
    pending.push(name);
  }
  return name;
};

/** One OpenAPI 3.0 schema object, translated to JSON Schema 2020-12. */
const translate = (schema: Json): Json => {
  if (Array.isArray(schema)) return schema.map(translate);
  if (!isObject(schema)) return schema;
  const out: JsonObject = {};
  for (const [key, value] of Object.entries(schema)) {
    if (DROPPED_KEYWORDS.has(key) || key.startsWith("x-") || key === "nullable") continue;
    if (key === "$ref") out.$ref = `#/$defs/${refName(value as string)}`;
    else if (SCHEMA_MAPS.has(key) && isObject(value)) {
      out[key] = Object.fromEntries(Object.entries(value).map(([name, sub]) => [name, translate(sub)]));
    } else out[key] = translate(value);
  }
  // OpenAPI 3.0: `minimum: 5, exclusiveMinimum: true`; 2020-12: `exclusiveMinimum: 5`.
  for (const [flag, bound] of [["exclusiveMinimum", "minimum"], ["exclusiveMaximum", "maximum"]] as const) {
    if (typeof out[flag] !== "boolean") continue;
    if (out[flag] === true && typeof out[bound] === "number") {
      out[flag] = out[bound];
      delete out[bound];
    } else delete out[flag];
  }
  if (schema.nullable !== true) return out;
  if (Array.isArray(out.enum) && !out.enum.includes(null)) out.enum = [...out.enum, null];
  if (typeof out.type === "string") return { ...out, type: [out.type, "null"] };
  if (Array.isArray(out.type)) return out.type.includes("null") ? out : { ...out, type: [...out.type, "null"] };
  // No type to widen (allOf/oneOf/$ref): null is one more alternative.
  return { anyOf: [out, { type: "null" }] };
};

/** The JSON schema of a response, following a `$ref` into components/responses. */
const responseSchema = (response: Json): Json | undefined => {
  let resolved = response;
  if (isObject(resolved) && typeof resolved.$ref === "string") {
    const name = resolved.$ref.replace("#/components/responses/", "");
    resolved = componentResponses[name] ?? fail(`dangling response $ref ${resolved.$ref}`);
  }
  if (!isObject(resolved) || !isObject(resolved.content)) return undefined;
  const json = resolved.content["application/json"];
  return isObject(json) && json.schema !== undefined ? translate(json.schema) : undefined;
};

const operations: JsonObject = {};
for (const [method, path] of OPERATIONS) {
  const pathItem = (spec.paths as JsonObject)[path];
  const operation = isObject(pathItem) ? pathItem[method] : undefined;
  if (!isObject(operation)) fail(`no ${method.toUpperCase()} ${path} in the description`);
  const { operationId, responses } = operation as JsonObject;
  const cut: JsonObject = {};
  const noBody: string[] = [];
  for (const [status, response] of Object.entries(responses as JsonObject)) {
    const schema = responseSchema(response);
    if (schema !== undefined) cut[status] = schema;
    else if (isObject(response) && !isObject(response.content) && response.$ref === undefined) noBody.push(status);
  }
  operations[`${method.toUpperCase()} ${path}`] = { operationId: operationId ?? null, responses: cut, ...(noBody.length ? { noBody } : {}) };
}
for (const name of EXTRA_SCHEMAS) refName(`#/components/schemas/${name}`);

const defs: JsonObject = {};
for (let name = pending.shift(); name !== undefined; name = pending.shift()) {
  defs[name] = translate(componentSchemas[name]!);
}

const packageJson = join(dirname(input!), "..", "package.json");
const packageVersion = existsSync(packageJson)
  ? (JSON.parse(readFileSync(packageJson, "utf8")) as { version?: string }).version ?? null
  : null;
const info = spec.info as JsonObject;

const document = {
  $schema: "https://json-schema.org/draft/2020-12/schema",
  $comment:
    "Generated by scripts/cut-github-openapi.ts from GitHub's official OpenAPI description; do not edit, run the script again.",
  source: {
    package: "@octokit/openapi",
    packageVersion,
    file: input!.split("/").slice(-2).join("/"),
    sha256: createHash("sha256").update(raw).digest("hex"),
    openapi: spec.openapi,
    infoVersion: info.version ?? null,
  },
  operations,
  $defs: Object.fromEntries(Object.keys(defs).sort().map((name) => [name, defs[name]!])),
};

const text = `${JSON.stringify(document, null, 2)}\n`;
writeFileSync(output, text);
console.log(
  `wrote ${output}: ${Object.keys(operations).length} operations, ${Object.keys(defs).length} schemas, ${(text.length / 1024).toFixed(1)} KB`,
);
