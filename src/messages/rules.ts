/**
 * The rules every message obeys, whether it is sent here or arrives in a
 * message file from a remote: one set, so that a remote cannot put into the
 * index (and onto every page) what the API would refuse.
 */
import { InvalidInputError } from "../errors.ts";
import { decodeMessage, isEventType, isMessageId, messagePath, segmentOfPath, type MessageRecord } from "./layout.ts";

export const MAX_CONTENT_CHARACTERS = 10_000;
const TYPE = /^[a-z][a-z0-9_-]{0,31}$/;

/** `withFiles`: the message has attachments, and so may have no text. */
export const checkContent = (content: string, withFiles = false) => {
  if (content.includes("\0")) throw new InvalidInputError("content must not contain NUL characters");
  if (!content.isWellFormed()) throw new InvalidInputError("content is not valid Unicode (it holds a lone surrogate)");
  if (content.trim() === "" && !withFiles) throw new InvalidInputError("content must not be empty");
  const characters = [...content].length;
  if (characters > MAX_CONTENT_CHARACTERS) {
    throw new InvalidInputError(
      `content is ${characters.toLocaleString("en")} characters long; the limit is ${MAX_CONTENT_CHARACTERS.toLocaleString("en")}`,
    );
  }
};

export const checkType = (type: string) => {
  if (!TYPE.test(type)) {
    throw new InvalidInputError(`type ${JSON.stringify(type)} is not valid: use up to 32 lower-case letters, digits, "-" or "_"`);
  }
};

/** A person's name as it may appear in a message and a commit: 1 to 64 characters, no control characters. */
export const checkAuthor = (name: string) => {
  const trimmed = name.trim();
  if (trimmed === "" || [...trimmed].length > 64 || /[\u0000-\u001f\u007f<>]/.test(trimmed) || !trimmed.isWellFormed()) {
    throw new InvalidInputError("a name must be 1 to 64 characters, without control characters or < >");
  }
  return trimmed;
};

/**
 * An author's stable id: `local:LOGIN` (GitHub's rule for the login), or
 * `github:ID` for a GitHub account, or `slack:ID` / `mattermost:USERNAME` for
 * an imported author (unverified: no account here vouches for it).
 */
const AUTHOR_ID = /^(local:[a-z0-9](?:[a-z0-9]|-(?=[a-z0-9])){0,38}|github:[1-9][0-9]{0,19}|slack:[A-Z0-9]{1,20}|mattermost:[a-z0-9._-]{1,64})$/;

/** A reaction: one Unicode emoji (as Unicode's RGI list has them, skin tones and flags included) or a `:shortcode:`. */
const EMOJI = /^\p{RGI_Emoji}$/v;
const SHORTCODE = /^:[a-z0-9_+-]{1,64}:$/;
export const REACTION_RULE = "a reaction is one emoji (such as 👍) or a :shortcode: of up to 64 lower-case letters, digits, _, + or -";

export const checkReaction = (emoji: string) => {
  if (!EMOJI.test(emoji) && !SHORTCODE.test(emoji)) throw new InvalidInputError(`${JSON.stringify(emoji.slice(0, 80))} is not a reaction: ${REACTION_RULE}`);
};

/** A code message's language name, as highlighters name them (`ts`, `c++`, `objective-c`). */
const LANGUAGE = /^[a-z0-9][a-z0-9+#._-]{0,31}$/i;

/** Throws InvalidInputError naming the first rule `message` (or event: see EVENT_TYPES) breaks. */
export const checkMessage = (
  message: Pick<MessageRecord, "content" | "type" | "author" | "author_id" | "target" | "admin" | "reply_to" | "language" | "attachments">,
) => {
  if (message.target === undefined) {
    checkContent(message.content, (message.attachments?.length ?? 0) > 0);
    checkType(message.type);
    if (isEventType(message.type)) throw new InvalidInputError(`type ${JSON.stringify(message.type)} is an event's: it needs the target message it changes`);
    if (message.admin) throw new InvalidInputError('"admin" belongs to an event, not to a message');
  } else {
    if (!isMessageId(message.target)) throw new InvalidInputError(`target must be a message id (a UUIDv7), not ${JSON.stringify(message.target.slice(0, 80))}`);
    if (!isEventType(message.type)) throw new InvalidInputError(`type ${JSON.stringify(message.type)} is not an event: use edit, delete, react or unreact`);
    if (message.type === "edit") checkContent(message.content);
    else if (message.type === "delete") {
      if (message.content !== "") throw new InvalidInputError("a delete carries no content");
    } else checkReaction(message.content);
    if (message.reply_to !== undefined || message.language !== undefined || message.attachments !== undefined) {
      throw new InvalidInputError("an event has no reply_to, language or attachments");
    }
  }
  if (message.reply_to !== undefined && !isMessageId(message.reply_to)) {
    throw new InvalidInputError(`reply_to must be a message id (a UUIDv7), not ${JSON.stringify(message.reply_to.slice(0, 80))}`);
  }
  if (message.language !== undefined) {
    if (message.type !== "code") throw new InvalidInputError('language is for a code message (type "code")');
    if (!LANGUAGE.test(message.language)) throw new InvalidInputError("language must be a name of up to 32 letters, digits or + # . _ -, such as ts or c++");
  }
  if (checkAuthor(message.author) !== message.author) throw new InvalidInputError("a name must not start or end with spaces");
  if (message.author_id !== undefined && !AUTHOR_ID.test(message.author_id)) {
    throw new InvalidInputError(`author_id ${JSON.stringify(message.author_id)} is not local:LOGIN, github:ID, slack:ID or mattermost:USERNAME`);
  }
};

/**
 * Reads a message file as the index takes it: valid UTF-8 JSON with the
 * fields of a message, at the path its id and time give, obeying the message
 * rules. Throws an AppError whose message is the reason otherwise.
 */
export const readMessageFile = (bytes: Uint8Array, path: string): MessageRecord => {
  const message = decodeMessage(bytes, path);
  const time = new Date(message.created_at);
  if (
    !isMessageId(message.id) ||
    Number.isNaN(time.getTime()) ||
    time.toISOString() !== message.created_at ||
    messagePath(message, segmentOfPath(path)) !== path
  ) {
    throw new InvalidInputError("the path does not match the message's id and time");
  }
  checkMessage(message);
  checkAttachments(message);
  return message;
};

// --- Attachments (issue 12): files committed beside their message, listed in its file. ---

/** Shown inline on the page; any other type is offered as a download. */
export const IMAGE_TYPES: readonly string[] = ["image/png", "image/jpeg", "image/gif", "image/webp"];
export const MAX_IMAGE_BYTES = 10 * 1024 * 1024;
export const MAX_FILE_BYTES = 25 * 1024 * 1024;
export const MAX_ATTACHMENTS = 10;
/** A file name's longest, in UTF-8 bytes (what most file systems take). */
export const MAX_ATTACHMENT_NAME_BYTES = 255;
/** A MIME type as the rules keep it: `type/subtype`, lower case, no parameters. */
const MIME_TYPE = /^[a-z0-9][a-z0-9!#$&^_.+-]{0,63}\/[a-z0-9][a-z0-9!#$&^_.+-]{0,63}$/;

export const isImageType = (type: string) => IMAGE_TYPES.includes(type);

/** The first bytes each image type starts with: an "image" that does not is refused, so nothing else is ever shown as one. */
const IMAGE_SIGNATURES: Record<string, (b: Uint8Array) => boolean> = {
  "image/png": (b) => [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a].every((x, i) => b[i] === x),
  "image/jpeg": (b) => b[0] === 0xff && b[1] === 0xd8 && b[2] === 0xff,
  "image/gif": (b) => String.fromCharCode(...b.subarray(0, 6)) === "GIF87a" || String.fromCharCode(...b.subarray(0, 6)) === "GIF89a",
  "image/webp": (b) => String.fromCharCode(...b.subarray(0, 4)) === "RIFF" && String.fromCharCode(...b.subarray(8, 12)) === "WEBP",
};

export const checkAttachmentName = (name: string) => {
  if (name === "" || name.trim() === "") throw new InvalidInputError("a file needs a name");
  if (/[/\\]/.test(name)) throw new InvalidInputError(`the file name ${JSON.stringify(name)} must not contain a slash`);
  if (/[\u0000-\u001f\u007f]/.test(name)) throw new InvalidInputError("a file name must not contain control characters");
  if (!name.isWellFormed()) throw new InvalidInputError("a file name is not valid Unicode (it holds a lone surrogate)");
  if (name === "." || name === "..") throw new InvalidInputError(`${JSON.stringify(name)} is not a file name`);
  const bytes = Buffer.byteLength(name);
  if (bytes > MAX_ATTACHMENT_NAME_BYTES) {
    throw new InvalidInputError(`a file name is ${bytes} bytes long; the limit is ${MAX_ATTACHMENT_NAME_BYTES}: rename the file`);
  }
};

const megabytes = (bytes: number) => `${bytes / (1024 * 1024)} MB`;

/** A file's name, type and size (and, when given, its first bytes) as the rules take them; throws InvalidInputError naming what is wrong. */
export const checkAttachment = (file: { name: string; type: string; size: number }, bytes?: Uint8Array) => {
  checkAttachmentName(file.name);
  if (!MIME_TYPE.test(file.type)) {
    throw new InvalidInputError(`the type of ${JSON.stringify(file.name)}, ${JSON.stringify(file.type)}, is not a MIME type such as image/png`);
  }
  if (!Number.isSafeInteger(file.size) || file.size < 1) throw new InvalidInputError(`${JSON.stringify(file.name)} is empty: attach a file with something in it`);
  const image = isImageType(file.type);
  const limit = image ? MAX_IMAGE_BYTES : MAX_FILE_BYTES;
  if (file.size > limit) {
    throw new InvalidInputError(
      `${JSON.stringify(file.name)} is ${(file.size / (1024 * 1024)).toFixed(1)} MB; ${image ? "an image" : "a file"} may be at most ${megabytes(limit)}`,
    );
  }
  if (bytes !== undefined) {
    if (bytes.byteLength !== file.size) throw new InvalidInputError(`${JSON.stringify(file.name)} is ${bytes.byteLength} bytes, not the ${file.size} its message says`);
    if (image && !IMAGE_SIGNATURES[file.type]!(bytes)) {
      throw new InvalidInputError(`${JSON.stringify(file.name)} is not a ${file.type.slice("image/".length).toUpperCase()} image, as its type says`);
    }
  }
};

/**
 * An attachment's path in its message file: `<id>.files/<index>-<name>`,
 * beside the message file, where the name is the file's name made safe for
 * any file system (see layout.ts attachmentPath). Held to that shape, not to
 * today's way of making a name safe, so that files written by another
 * version still read.
 */
const ATTACHMENT_PATH = /^([0-9a-f-]{36})\.files\/(\d{1,3})-([^/\\\u0000-\u001f\u007f]+)$/;

/** The attachments of a message as its file lists them, with its content: empty content only with a file. */
export const checkAttachments = (message: { id: string; content: string; attachments?: readonly { name: string; type: string; size: number; path: string }[] }) => {
  const list = message.attachments ?? [];
  if (list.length > MAX_ATTACHMENTS) throw new InvalidInputError(`a message may have at most ${MAX_ATTACHMENTS} files, not ${list.length}`);
  list.forEach((file, index) => {
    checkAttachment(file);
    const match = ATTACHMENT_PATH.exec(file.path);
    if (!match || match[1] !== message.id || Number(match[2]) !== index || Buffer.byteLength(match[3]!) > MAX_ATTACHMENT_NAME_BYTES || /[. ]$/.test(match[3]!)) {
      throw new InvalidInputError(`the path ${JSON.stringify(file.path)} of file ${index} is not "${message.id}.files/${index}-<name>"`);
    }
  });
};
