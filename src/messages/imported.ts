/**
 * What every import (a Slack export, a Mattermost bulk export) makes and
 * shares: the files it gives gitchat, the tally of what became of the
 * source's messages, ids derived from the source (so that importing again,
 * or on another server, adds nothing), and gitchat's rules applied to names
 * and reactions.
 */
import { checkReaction, MAX_CONTENT_CHARACTERS } from "./rules.ts";

/**
 * One file as gitchat will store it: a message (a reply has `reply_to`), or
 * an event on one (`target`): its edit, the reactions people gave it.
 */
export type ImportedMessage = {
  id: string;
  author: string;
  author_id: string;
  content: string;
  type: string;
  created_at: string;
  reply_to?: string;
  target?: string;
};

/**
 * What became of a channel's messages in the source: `messages` kept;
 * `skipped` notices (and reactions gitchat cannot take) by kind, `cut`
 * messages over gitchat's limit, `unthreaded` replies whose thread's first
 * message is not in the export (kept as messages of the channel), `unlisted`
 * reactions the source counted without saying whose, and `tones` reactions
 * whose skin tone was left off.
 */
export type ImportTally = {
  messages: number;
  skipped: Record<string, number>;
  cut: number;
  unthreaded: number;
  unlisted: number;
  tones: number;
};

export const emptyTally = (): ImportTally => ({ messages: 0, skipped: {}, cut: 0, unthreaded: 0, unlisted: 0, tones: 0 });

/** Whether gitchat takes `emoji` as a reaction (its rule is in messages/rules.ts). */
export const isReaction = (emoji: string) => {
  try {
    checkReaction(emoji);
    return true;
  } catch {
    return false;
  }
};

export const isObject = (value: unknown): value is Record<string, unknown> => typeof value === "object" && value !== null && !Array.isArray(value);

/** gitchat's rule for names: 1 to 64 characters, no control characters, no < >. */
export const cleanName = (name: string) => [...name.replace(/[\u0000-\u001f\u007f<>]/g, "").trim()].slice(0, 64).join("").trim();

/**
 * A UUIDv7 made from what a file says rather than at random: its time is
 * `ms`, and the rest a hash of `key`, so the same file gets the same id on
 * every import, on every server.
 */
export const derivedId = (key: string, ms: number) => {
  const hash = new Bun.CryptoHasher("sha256").update(key).digest("hex");
  const time = ms.toString(16).padStart(12, "0");
  const variant = ((parseInt(hash[3]!, 16) & 0x3) | 0x8).toString(16);
  return `${time.slice(0, 8)}-${time.slice(8)}-7${hash.slice(0, 3)}-${variant}${hash.slice(4, 7)}-${hash.slice(7, 19)}`;
};


/** `content` within gitchat's limit: cut, saying so, when the source (`from`, "Slack") held more (counted in `tally.cut`). */
export const fitted = (content: string, tally: ImportTally, from: string) => {
  const characters = [...content];
  if (characters.length <= MAX_CONTENT_CHARACTERS) return content;
  tally.cut++;
  const note = `\n… (cut on import: ${(characters.length - (MAX_CONTENT_CHARACTERS - 60)).toLocaleString("en")} more characters in ${from})`;
  return characters.slice(0, MAX_CONTENT_CHARACTERS - 60).join("") + note;
};
