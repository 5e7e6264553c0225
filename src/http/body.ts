/**
 * Reads a request body (JSON, or a form from the page), refusing past the
 * size cap before reading it all. The GitHub webhook takes the raw bytes
 * instead (its signature is over them) and parses them itself, after the check.
 */
import { InvalidInputError, InvalidJsonError, PayloadTooLargeError, UnsupportedMediaTypeError } from "../errors.ts";
import type { FileInput } from "../messages/service.ts";

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
  // A message with files (issue 12): only where messages are sent, under its own, larger cap.
  if (/^multipart\/form-data\b/i.test(contentType) && request.method === "POST" && UPLOAD_PATH.test(path)) {
    // The header as sent: the content type Elysia passes has lost the boundary.
    return readUpload(await readBodyBytes(request, MAX_UPLOAD_BYTES, uploadTooLarge), request.headers.get("content-type") ?? contentType);
  }
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

// --- Uploads (issue 12): a message with files, sent as multipart/form-data. ---

/** The whole of a request with files: one file at its largest (25 MB) and a few screenshots, with room for the form's framing. */
export const MAX_UPLOAD_BYTES = 30 * 1024 * 1024;

/** Where a message with files may be sent: the API's POST /messages and the page's composer. */
const UPLOAD_PATH = /^\/(?:messages|c\/[^/]+\/[^/]+\/messages)$/;

const uploadTooLarge = () =>
  new PayloadTooLargeError(
    `a message with files may be at most ${MAX_UPLOAD_BYTES / (1024 * 1024)} MB in all (an image up to 10 MB, another file up to 25 MB): send fewer or smaller files`,
  );

/** The text fields a message with files may have besides its `file` parts. */
const UPLOAD_FIELDS = new Set(["content", "repository", "type"]);

/**
 * A multipart body as the send routes take it: `content` ("" when absent: a
 * message may be files alone), `repository`, `type`, and `file` (every file
 * part, in order). Parsed by the platform (Bun's FormData); a body it cannot
 * read, a repeated or unknown field, or a `file` that is not a file is a 400.
 */
const readUpload = async (bytes: Buffer, contentType: string) => {
  let form: FormData;
  try {
    form = await new Response(bytes as Uint8Array<ArrayBuffer>, { headers: { "content-type": contentType } }).formData();
  } catch {
    throw new InvalidInputError("the multipart/form-data body could not be read: send content and file parts with a boundary the content-type names");
  }
  const body: Record<string, unknown> = { content: "" };
  const files: File[] = [];
  const seen = new Set<string>();
  for (const [name, value] of form.entries()) {
    if (name === "file") {
      if (typeof value === "string") throw new InvalidInputError('a "file" part must be a file (with a filename), not a text field');
      files.push(value);
    } else if (UPLOAD_FIELDS.has(name)) {
      if (typeof value !== "string") throw new InvalidInputError(`"${name}" must be a text field, not a file`);
      if (seen.has(name)) throw new InvalidInputError(`"${name}" is given twice; send it once`);
      seen.add(name);
      body[name] = value;
    } else {
      throw new InvalidInputError(`the form has an unknown part ${JSON.stringify(name.slice(0, 64))}: send content, repository, type and file parts`);
    }
  }
  if (files.length > 0) body.file = files;
  return body;
};

/** The files of an upload as the message service takes them: the type without its parameters (`text/plain;charset=utf-8` is text/plain), the bytes read. */
export const fileInputs = (files: readonly File[] | undefined): Promise<FileInput[]> =>
  Promise.all(
    (files ?? []).map(async (file) => ({
      name: file.name,
      type: file.type.split(";")[0]!.trim().toLowerCase() || "application/octet-stream",
      bytes: new Uint8Array(await file.arrayBuffer()),
    })),
  );
