/**
 * Reads a request body (JSON, or a form from the page), refusing past the
 * size cap before reading it all. The GitHub webhook takes the raw bytes
 * instead (its signature is over them) and parses them itself, after the check.
 */
import { InvalidJsonError, PayloadTooLargeError, UnsupportedMediaTypeError } from "../errors.ts";

export const MAX_BODY_BYTES = 64 * 1024;

const tooLarge = () =>
  new PayloadTooLargeError(`the request body is over ${MAX_BODY_BYTES / 1024} KiB; send a shorter message`);

/** application/json, or a JSON type such as application/vnd.api+json. */
export const isJson = (contentType: string) => /^application\/(?:[\w.+-]+\+)?json\b/i.test(contentType);

/**
 * The raw bytes of a request body, refused with `tooLarge` as soon as it is
 * known to be over `maxBytes` (by its Content-Length, or while reading).
 */
export const readBodyBytes = async (request: Request, maxBytes: number, tooLarge: () => Error): Promise<Buffer> => {
  const length = request.headers.get("content-length");
  const declared = Number(length ?? 0);
  if (declared > maxBytes) throw tooLarge();
  // A declared length is what the body holds (HTTP's framing): read it in one
  // native call. Iterating the stream chunk by chunk cost a tenth of a send's
  // time at 50 clients; only a chunked body (no length) needs it.
  if (length !== null && /^\d+$/.test(length)) {
    const bytes = Buffer.from(await request.arrayBuffer());
    if (bytes.byteLength > maxBytes) throw tooLarge();
    return bytes;
  }
  const chunks: Uint8Array[] = [];
  let size = 0;
  if (request.body) {
    for await (const chunk of request.body as unknown as AsyncIterable<Uint8Array>) {
      size += chunk.byteLength;
      if (size > maxBytes) throw tooLarge();
      chunks.push(chunk);
    }
  }
  return Buffer.concat(chunks);
};

export const readBody = async (request: Request, contentType: string, path: string): Promise<unknown> => {
  const bytes = await readBodyBytes(request, MAX_BODY_BYTES, tooLarge);
  const size = bytes.byteLength;
  // Forms come from the page (its own routes) and from incoming webhooks (Slack's
  // `payload=` form); the rest of the JSON API takes JSON only.
  if (/^application\/x-www-form-urlencoded\b/i.test(contentType) && /^\/(c\/|ui\/|invite\/|login$|hooks\/|settings\/|members(\/|$))/.test(path)) {
    return Object.fromEntries(new URLSearchParams(new TextDecoder().decode(bytes)));
  }
  if (!isJson(contentType)) {
    // No body at all: an empty object, so routes that take none work and the
    // others say which field is missing.
    if (size === 0 && !contentType) return {};
    throw new UnsupportedMediaTypeError(`send the body as JSON with "content-type: application/json", not ${JSON.stringify(contentType || "none")}`);
  }
  return parseJson(bytes);
};

/** A JSON body's value; a 400 that says why when it is not UTF-8 or not JSON. */
export const parseJson = (bytes: Uint8Array): unknown => {
  let text: string;
  try {
    text = new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch {
    throw new InvalidJsonError("the request body is not valid UTF-8");
  }
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new InvalidJsonError(`the request body is not valid JSON (${(error as Error).message})`);
  }
};
