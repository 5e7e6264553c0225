/**
 * Reads a request body (JSON, or a form from the page), refusing past the
 * size cap before reading it all.
 */
import { InvalidJsonError, PayloadTooLargeError, UnsupportedMediaTypeError } from "../errors.ts";

export const MAX_BODY_BYTES = 64 * 1024;

const tooLarge = () =>
  new PayloadTooLargeError(`the request body is over ${MAX_BODY_BYTES / 1024} KiB; send a shorter message`);

export const readBody = async (request: Request, contentType: string, path: string): Promise<unknown> => {
  const declared = Number(request.headers.get("content-length") ?? 0);
  if (declared > MAX_BODY_BYTES) throw tooLarge();
  const chunks: Uint8Array[] = [];
  let size = 0;
  if (request.body) {
    for await (const chunk of request.body as unknown as AsyncIterable<Uint8Array>) {
      size += chunk.byteLength;
      if (size > MAX_BODY_BYTES) throw tooLarge();
      chunks.push(chunk);
    }
  }
  // Forms come from the page (its own routes); the JSON API takes JSON only.
  if (/^application\/x-www-form-urlencoded\b/i.test(contentType) && /^\/(c\/|ui\/|login$)/.test(path)) {
    return Object.fromEntries(new URLSearchParams(new TextDecoder().decode(Buffer.concat(chunks))));
  }
  if (!/^application\/(?:[\w.+-]+\+)?json\b/i.test(contentType)) {
    // No body at all: an empty object, so routes that take none work and the
    // others say which field is missing.
    if (size === 0 && !contentType) return {};
    throw new UnsupportedMediaTypeError(`send the body as JSON with "content-type: application/json", not ${JSON.stringify(contentType || "none")}`);
  }
  let text: string;
  try {
    text = new TextDecoder("utf-8", { fatal: true }).decode(Buffer.concat(chunks));
  } catch {
    throw new InvalidJsonError("the request body is not valid UTF-8");
  }
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new InvalidJsonError(`the request body is not valid JSON (${(error as Error).message})`);
  }
};
