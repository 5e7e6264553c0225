/** Every error leaves the server as `{error: {code, message}}` with a status chosen here, in one place. */
import { ParseError, ValidationError } from "elysia";
import { AppError, RateLimitedError, storageFailure } from "../errors.ts";
import type { Log } from "../log.ts";
import type { SafeHtml } from "../../views/html.ts";

/** An HTML page or fragment: never cached, since it shows live state. */
export const htmlResponse = (body: SafeHtml, status = 200) =>
  new Response(body.value, { status, headers: { "content-type": "text/html; charset=utf-8", "cache-control": "no-store" } });

export const errorResponse = (status: number, code: string, message: string, headers: Record<string, string> = {}) =>
  new Response(JSON.stringify({ error: { code, message } }), {
    status,
    headers: { "content-type": "application/json; charset=utf-8", ...headers },
  });

/**
 * One line that names the field and what it must be. Schemas carry their own
 * `error` text (TypeBox's own messages lose the field name for coerced query
 * values); the fallback names the path.
 */
const describeValidation = (error: ValidationError) => {
  if (typeof error.customError === "string") return error.customError;
  const first = error.all[0];
  const where = error.type === "query" ? "query parameter" : error.type === "params" ? "path parameter" : "field";
  if (!first) return `the request ${error.type} is not valid`;
  const field = "path" in first && first.path ? first.path.replace(/^\//, "").replaceAll("/", ".") : "";
  const what = "summary" in first && first.summary ? first.summary : first.message;
  return field ? `${where} "${field}": ${what}` : `request ${error.type}: ${what}`;
};

export const toErrorResponse = (code: string | number, thrown: unknown, log: Log) => {
  // Elysia wraps what a body parser throws; our parser throws our own errors.
  const unwrapped = thrown instanceof ParseError && thrown.cause instanceof AppError ? thrown.cause : thrown;
  // A full or read-only disk or a damaged index is the operator's to fix, not a bug:
  // one line in the log, its own code and status (507, 503), and what to do.
  const error = storageFailure(unwrapped) ?? unwrapped;
  if (error instanceof AppError && error.status !== 500) {
    if (error.status >= 500) log(`${error.code}: ${error.message}`, { level: "error", code: error.code, status: error.status });
    // After a 413 the rest of the body is never read, so the connection cannot carry another
    // request: closed, rather than left open until IDLE_TIMEOUT (holding up a graceful stop).
    const headers: Record<string, string> =
      error.status === 413 ? { connection: "close" } : error instanceof RateLimitedError ? { "retry-after": String(error.retryAfter) } : {};
    return errorResponse(error.status, error.code, error.message, headers);
  }
  if (error instanceof ValidationError) {
    return errorResponse(400, "invalid_input", describeValidation(error));
  }
  switch (code) {
    case "NOT_FOUND":
      return errorResponse(404, "not_found", "no such route; see /openapi.json for the API");
    case "PARSE":
      return errorResponse(400, "invalid_json", "the request body is not valid JSON");
  }
  // Our fault, not the client's: log the detail, answer without it.
  log(`internal error: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`, { level: "error", code: "internal_error", status: 500 });
  return errorResponse(500, "internal_error", "the server failed to handle this request; it has been logged");
};
