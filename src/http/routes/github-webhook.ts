/**
 * GitHub's push webhook: another server pushed to a channel's repository, so
 * this one pulls that channel now instead of at the next SYNC_INTERVAL.
 *
 * GitHub signs every delivery: `X-Hub-Signature-256: sha256=<hex>`, the
 * HMAC-SHA256 of the raw body with the webhook's secret (GITHUB_WEBHOOK_SECRET
 * here). Nothing of a delivery (its event, its JSON) is read before that
 * signature is checked against the exact bytes received, so the route reads
 * its own raw body instead of the app's JSON parser. A wrong or missing
 * signature gets 401: the credentials are missing or wrong, not right but not
 * enough (403). GitHub's guide ("Validating webhook deliveries") is of two
 * minds (its TypeScript example answers 401, its Python one 403); either way
 * GitHub only records the status.
 *
 * The pull is started, not awaited: GitHub wants an answer within 10 seconds,
 * and a pull is recorded in the channel's sync state like an interval pull.
 */
import { createHmac } from "node:crypto";
import { Value } from "@sinclair/typebox/value";
import type { AuthPlugin } from "../auth.ts";
import { Elysia, t } from "elysia";
import { InvalidInputError, NotFoundError, PayloadTooLargeError, UnsupportedMediaTypeError } from "../../errors.ts";
import type { RepositoryService } from "../../repositories/service.ts";
import type { SyncService } from "../../sync/service.ts";
import { isJson, parseJson, readBodyBytes } from "../body.ts";
import { errorResponse } from "../errors.ts";
import { ErrorBody } from "../schemas.ts";
import { GITHUB_WEBHOOK, sameSecret } from "../security.ts";

/**
 * GitHub allows 25 MB a delivery; a push to a channel lists at most 20 commits
 * and is a few KB (20 commits of 100 new message files each: roughly 150 KB).
 * Below the 30 MiB that the server takes of any request (`maxRequestBodySize`
 * in cli/serve.ts, for a message with files; past it Bun answers a bare 413),
 * and read under this route's own cap, so that its JSON 413 is what is
 * seen. A push refused for its size is caught up by the next interval pull.
 */
export const MAX_WEBHOOK_BYTES = 512 * 1024;

/** The branch every channel lives on: a push to any other ref changes nothing here. */
const MAIN = "refs/heads/main";

/** The only fields of a push delivery gitchat reads; the rest of GitHub's payload passes unread. */
const PushFields = t.Object({
  ref: t.String({ description: "The ref pushed; only refs/heads/main is pulled" }),
  repository: t.Object({ full_name: t.String({ description: "owner/name, matched to a channel in any letter case" }) }),
});

const WebhookAnswer = t.Object({
  action: t.Union([t.Literal("pong"), t.Literal("pull"), t.Literal("ignored")]),
  message: t.String(),
});

const OFF =
  "GitHub's webhook is off on this server: it needs GITHUB_WEBHOOK_SECRET (the secret set in the webhook on GitHub) and GitHub sync (GITHUB_TOKEN)";

const tooLarge = () =>
  new PayloadTooLargeError(
    `a delivery is over ${MAX_WEBHOOK_BYTES / 1024} KiB, more than a push to a channel sends; the channel is pulled at the next SYNC_INTERVAL instead`,
  );

const refused = (message: string) =>
  errorResponse(401, "invalid_signature", message, { "www-authenticate": 'HMAC-SHA256 realm="github-webhook", header="X-Hub-Signature-256"' });

/** `sha256=<hex>` of `body`, as GitHub writes X-Hub-Signature-256. */
export const signatureOf = (secret: string, body: Uint8Array) => `sha256=${createHmac("sha256", secret).update(body).digest("hex")}`;

/** Where the first field the route needs is missing or of the wrong type, as "repository.full_name". */
const firstProblem = (payload: unknown) => {
  const error = Value.Errors(PushFields, payload).First();
  return error?.path.replace(/^\//, "").replaceAll("/", ".") || "the payload";
};

/** On when `secret` is given and GitHub sync is on; otherwise every delivery gets 404. */
export const githubWebhookRoutes = (auth: AuthPlugin, deps: { secret?: string; sync?: SyncService; repositories: RepositoryService }) => {
  const { secret } = deps;
  return new Elysia({ name: "github-webhook" }).use(auth).post(
    GITHUB_WEBHOOK,
    ({ body, headers, request, set }) => {
      if (secret === undefined || !deps.sync) throw new NotFoundError(OFF);
      const bytes = body as Buffer;
      const signature = headers["x-hub-signature-256"];
      if (signature === undefined) {
        return refused("the delivery has no X-Hub-Signature-256 header: give the webhook on GitHub a secret, the same as GITHUB_WEBHOOK_SECRET");
      }
      if (!sameSecret(signature, signatureOf(secret, bytes))) {
        return refused(
          "X-Hub-Signature-256 does not match the body: the webhook's secret on GitHub is not GITHUB_WEBHOOK_SECRET, or the body was changed on the way",
        );
      }
      // Signed by GitHub: from here on the delivery is read.
      const event = headers["x-github-event"];
      if (!event) throw new InvalidInputError("the delivery has no X-GitHub-Event header, which GitHub always sends");
      if (!isJson(request.headers.get("content-type") ?? "")) {
        throw new UnsupportedMediaTypeError("set the webhook's content type on GitHub to application/json");
      }
      const payload = parseJson(bytes);
      if (event === "ping") return { action: "pong" as const, message: "gitchat hears this webhook; it pulls a channel when someone pushes to its main branch" };
      if (event !== "push") {
        set.status = 202;
        return { action: "ignored" as const, message: `gitchat acts on push events only, not ${event}: the webhook needs just the push event` };
      }
      if (!Value.Check(PushFields, payload)) {
        throw new InvalidInputError(`the push delivery lacks ${firstProblem(payload)} (a string), which every push GitHub sends has`);
      }
      set.status = 202;
      if (payload.ref !== MAIN) {
        return { action: "ignored" as const, message: `only pushes to ${MAIN} are pulled, not to ${payload.ref}` };
      }
      const wanted = payload.repository.full_name.toLowerCase();
      const channel = deps.repositories.list().find((c) => c.fullName.toLowerCase() === wanted);
      if (!channel) return { action: "ignored" as const, message: `${payload.repository.full_name} is not a channel of this server` };
      deps.sync.pullNow(channel);
      return { action: "pull" as const, message: `pulling ${channel.fullName} now` };
    },
    {
      // GitHub holds no account: while the webhook is on, its signature (checked first) is its credential.
      auth: secret !== undefined && deps.sync ? "public" : "member",
      // The raw bytes, with their own cap: the signature is over them. (The app-wide parser leaves this route alone.)
      parse: ({ request }) => (secret === undefined ? Buffer.alloc(0) : readBodyBytes(request, MAX_WEBHOOK_BYTES, tooLarge)),
      headers: t.Object({
        "x-hub-signature-256": t.Optional(t.String({ description: "sha256=<hex>: HMAC-SHA256 of the raw body with GITHUB_WEBHOOK_SECRET" })),
        "x-github-event": t.Optional(t.String({ description: "push is acted on; ping is answered; others are ignored" })),
      }),
      response: { 200: WebhookAnswer, 202: WebhookAnswer, 400: ErrorBody, 401: ErrorBody, 404: ErrorBody, 413: ErrorBody, 415: ErrorBody },
      detail: {
        summary: "GitHub's push webhook: pull a channel at once",
        description:
          "For GitHub only, authenticated by X-Hub-Signature-256 (no access token). A signed push to refs/heads/main of a channel's " +
          "repository answers 202 and pulls that channel in the background; ping answers 200; other events, refs and repositories " +
          "answer 202 with action ignored. 404 unless GITHUB_WEBHOOK_SECRET is set and GitHub sync is on.",
        requestBody: {
          required: true,
          description: "GitHub's push event payload (only the fields below are read), at most 512 KiB",
          content: { "application/json": { schema: PushFields } },
        },
      },
    },
  );
};
