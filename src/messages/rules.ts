/**
 * The rules every message obeys, whether it is sent here or arrives in a
 * message file from a remote: one set, so that a remote cannot put into the
 * index (and onto every page) what the API would refuse.
 */
import { InvalidInputError } from "../errors.ts";
import { decodeMessage, isEventType, isMessageId, messagePath, segmentOfPath, type MessageRecord } from "./layout.ts";

export const MAX_CONTENT_CHARACTERS = 10_000;
const TYPE = /^[a-z][a-z0-9_-]{0,31}$/;

export const checkContent = (content: string) => {
  if (content.includes("\0")) throw new InvalidInputError("content must not contain NUL characters");
  if (!content.isWellFormed()) throw new InvalidInputError("content is not valid Unicode (it holds a lone surrogate)");
  if (content.trim() === "") throw new InvalidInputError("content must not be empty");
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
export const checkMessage = (message: Pick<MessageRecord, "content" | "type" | "author" | "author_id" | "target" | "admin" | "reply_to" | "language">) => {
  if (message.target === undefined) {
    checkContent(message.content);
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
    if (message.reply_to !== undefined || message.language !== undefined) throw new InvalidInputError("an event has no reply_to or language");
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
  return message;
};
