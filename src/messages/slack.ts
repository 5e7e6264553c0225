/**
 * A Slack workspace export (the zip Slack's "Export data" makes: users.json,
 * channels.json, and a folder per channel of one JSON file a day), read into
 * gitchat's messages: each Slack message keeps its author (as an imported,
 * unverified author, `slack:<user id>`), its time and its text (Slack's
 * mrkdwn turned into gitchat's Markdown). Its id is derived from its channel
 * and `ts`, so importing the same export twice, or on two servers, gives the
 * same messages.
 *
 * The whole export is checked before anything is written: a file that is
 * not the shape Slack documents is refused with its name and what is wrong.
 */
import { unzipSync } from "fflate";
import { InvalidInputError } from "../errors.ts";
import { MAX_CONTENT_CHARACTERS } from "./rules.ts";

export type SlackUser = { id: string; name: string; is_bot: boolean };
export type SlackChannel = { id: string; name: string };

/** One message as gitchat will store it, and what became of the Slack message. */
export type ImportedMessage = { id: string; author: string; author_id: string; content: string; type: string; created_at: string };

export type ImportTally = { messages: number; skipped: Record<string, number>; cut: number };

export class SlackExport {
  private constructor(
    private readonly file: string,
    private readonly entries: Record<string, Uint8Array>,
    readonly users: Map<string, SlackUser>,
    readonly channels: SlackChannel[],
  ) {}

  /** Opens and checks the whole export; throws InvalidInputError naming the first file that is wrong. */
  static open(file: string, zip: Uint8Array): SlackExport {
    let entries: Record<string, Uint8Array>;
    try {
      entries = unzipSync(zip, { filter: (entry) => entry.name.endsWith(".json") });
    } catch (error) {
      throw new InvalidInputError(`${file} is not a zip file Slack made (${(error as Error).message})`);
    }
    // Some exports put everything under one top folder: take paths relative to where users.json is.
    const prefix = Object.keys(entries).find((name) => name === "users.json" || name.endsWith("/users.json"))?.slice(0, -"users.json".length);
    if (prefix === undefined) throw new InvalidInputError(`${file} has no users.json: it is not a Slack workspace export`);
    const relative: Record<string, Uint8Array> = {};
    for (const [name, bytes] of Object.entries(entries)) if (name.startsWith(prefix)) relative[name.slice(prefix.length)] = bytes;
    const json = (name: string) => {
      const bytes = relative[name];
      if (!bytes) throw new InvalidInputError(`${file} has no ${name}: it is not a Slack workspace export`);
      try {
        return JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(bytes)) as unknown;
      } catch (error) {
        throw new InvalidInputError(`${file}: ${name} is not JSON (${(error as Error).message})`);
      }
    };
    const users = new Map<string, SlackUser>();
    const usersJson = json("users.json");
    if (!Array.isArray(usersJson)) throw new InvalidInputError(`${file}: users.json must be a list of users`);
    usersJson.forEach((u, i) => {
      if (!isObject(u) || typeof u.id !== "string") throw new InvalidInputError(`${file}: users.json: user ${i + 1} has no "id"`);
      const profile = isObject(u.profile) ? u.profile : {};
      const name = [profile.display_name, profile.real_name, u.real_name, u.name].find((n) => typeof n === "string" && n.trim() !== "") as string | undefined;
      users.set(u.id, { id: u.id, name: name ?? u.id, is_bot: u.is_bot === true });
    });
    const channelsJson = json("channels.json");
    if (!Array.isArray(channelsJson)) throw new InvalidInputError(`${file}: channels.json must be a list of channels`);
    const channels = channelsJson.map((c, i) => {
      if (!isObject(c) || typeof c.id !== "string" || typeof c.name !== "string" || !/^[a-z0-9._-]{1,80}$/.test(c.name)) {
        throw new InvalidInputError(`${file}: channels.json: channel ${i + 1} needs an "id" and a "name" of lower-case letters, digits, ".", "-" or "_"`);
      }
      return { id: c.id, name: c.name };
    });
    const slack = new SlackExport(file, relative, users, channels);
    // Every day file is read and checked now, before anything is written.
    for (const channel of channels) for (const day of slack.days(channel)) slack.dayMessages(channel, day);
    return slack;
  }

  /** The day files of a channel, oldest first (`general/2024-01-02.json`). */
  days(channel: SlackChannel) {
    return Object.keys(this.entries)
      .filter((name) => name.startsWith(`${channel.name}/`) && /^\d{4}-\d{2}-\d{2}\.json$/.test(name.slice(channel.name.length + 1)))
      .sort();
  }

  /** A day file's messages, checked for the fields every Slack message has. */
  dayMessages(channel: SlackChannel, day: string): Record<string, unknown>[] {
    let list: unknown;
    try {
      list = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(this.entries[day]!));
    } catch (error) {
      throw new InvalidInputError(`${this.file}: ${day} is not JSON (${(error as Error).message})`);
    }
    if (!Array.isArray(list)) throw new InvalidInputError(`${this.file}: ${day} must be a list of messages`);
    list.forEach((m, i) => {
      if (!isObject(m)) throw new InvalidInputError(`${this.file}: ${day}: entry ${i + 1} is not an object`);
      if (typeof m.ts !== "string" || !/^\d{1,12}\.\d{1,6}$/.test(m.ts)) throw new InvalidInputError(`${this.file}: ${day}: entry ${i + 1} has no valid "ts"`);
      if (m.text !== undefined && typeof m.text !== "string") throw new InvalidInputError(`${this.file}: ${day}: entry ${i + 1} has a "text" that is not a string`);
    });
    return list as Record<string, unknown>[];
  }

  /**
   * A channel's messages as gitchat messages, oldest first, a day at a time.
   * Joins, leaves and other notices are left out (counted in `tally.skipped`);
   * a message longer than gitchat's limit is cut, saying so (counted in `tally.cut`).
   */
  *messages(channel: SlackChannel, tally: ImportTally): Generator<ImportedMessage> {
    for (const day of this.days(channel)) {
      const list = this.dayMessages(channel, day).sort((a, b) => Number(a.ts) - Number(b.ts));
      for (const m of list) {
        const subtype = typeof m.subtype === "string" ? m.subtype : undefined;
        if (m.type !== "message" || (subtype && !KEPT_SUBTYPES.has(subtype))) {
          tally.skipped[subtype ?? String(m.type)] = (tally.skipped[subtype ?? String(m.type)] ?? 0) + 1;
          continue;
        }
        const who = authorOf(m, this.users);
        let content = [toMarkdown(typeof m.text === "string" ? m.text : "", this.users), ...fileNames(m)].filter((s) => s.trim() !== "").join("\n");
        if (content.trim() === "") {
          tally.skipped.empty = (tally.skipped.empty ?? 0) + 1;
          continue;
        }
        const characters = [...content];
        if (characters.length > MAX_CONTENT_CHARACTERS) {
          const note = `\n… (cut on import: ${(characters.length - (MAX_CONTENT_CHARACTERS - 60)).toLocaleString("en")} more characters in Slack)`;
          content = characters.slice(0, MAX_CONTENT_CHARACTERS - 60).join("") + note;
          tally.cut++;
        }
        const ms = Math.floor(Number(m.ts) * 1000);
        tally.messages++;
        yield { id: slackMessageId(channel.id, m.ts as string, ms), ...who, content, type: "message", created_at: new Date(ms).toISOString() };
      }
    }
  }
}

/** Subtypes that are things people (or bots) said; the rest (joins, topic changes...) are notices. */
const KEPT_SUBTYPES = new Set(["bot_message", "me_message", "thread_broadcast", "file_share"]);

const isObject = (value: unknown): value is Record<string, unknown> => typeof value === "object" && value !== null && !Array.isArray(value);

/** gitchat's rule for names: 1 to 64 characters, no control characters, no < >. */
const cleanName = (name: string) => [...name.replace(/[\u0000-\u001f\u007f<>]/g, "").trim()].slice(0, 64).join("").trim();

const authorOf = (m: Record<string, unknown>, users: Map<string, SlackUser>) => {
  const userId = typeof m.user === "string" ? m.user : typeof m.bot_id === "string" ? m.bot_id : "UNKNOWN";
  const named = typeof m.username === "string" ? m.username : users.get(userId)?.name;
  return { author: cleanName(named ?? userId) || userId, author_id: `slack:${userId.replace(/[^A-Z0-9]/gi, "").toUpperCase().slice(0, 20) || "UNKNOWN"}` };
};

const fileNames = (m: Record<string, unknown>) =>
  Array.isArray(m.files) ? m.files.filter(isObject).map((f) => `[file not imported: ${typeof f.name === "string" ? f.name : "unnamed"}]`) : [];

/**
 * Slack's mrkdwn as gitchat's Markdown: `*bold*` and `~strike~` doubled,
 * links `<url|label>` as `[label](url)`, mentions of people and channels by
 * name, and the three escapes Slack makes (`&amp;`, `&lt;`, `&gt;`) undone.
 */
export const toMarkdown = (text: string, users: Map<string, SlackUser>) =>
  text
    .replace(/<@([A-Z0-9]+)(?:\|([^>]*))?>/g, (_, id: string, label?: string) => `@${label || users.get(id)?.name || id}`)
    .replace(/<#[A-Z0-9]+\|([^>]*)>/g, "#$1")
    .replace(/<!(here|channel|everyone)(?:\|[^>]*)?>/g, "@$1")
    .replace(/<((?:https?|mailto):[^|>\s]+)\|([^>]+)>/g, "[$2]($1)")
    .replace(/<((?:https?|mailto):[^|>\s]+)>/g, "$1")
    .replace(/(^|[\s(])\*([^*\n]+)\*(?=[\s).,!?:;]|$)/gm, "$1**$2**")
    .replace(/(^|[\s(])~([^~\n]+)~(?=[\s).,!?:;]|$)/gm, "$1~~$2~~")
    .replace(/&lt;/g, "<")
    .replace(/&gt;/g, ">")
    .replace(/&amp;/g, "&");

/**
 * A UUIDv7 made from the Slack channel and `ts` rather than at random: its
 * time is the message's, and the rest a hash, so the same message gets the
 * same id on every import, on every server.
 */
export const slackMessageId = (channelId: string, ts: string, ms: number) => {
  const hash = new Bun.CryptoHasher("sha256").update(`slack:${channelId}:${ts}`).digest("hex");
  const time = ms.toString(16).padStart(12, "0");
  const variant = ((parseInt(hash[3]!, 16) & 0x3) | 0x8).toString(16);
  return `${time.slice(0, 8)}-${time.slice(8)}-7${hash.slice(0, 3)}-${variant}${hash.slice(4, 7)}-${hash.slice(7, 19)}`;
};
