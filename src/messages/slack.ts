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
import { cleanName, derivedId, fitted, isObject, isReaction, type ImportedMessage, type ImportTally } from "./imported.ts";

export { emptyTally, type ImportedMessage, type ImportTally } from "./imported.ts";

export type SlackUser = { id: string; name: string; is_bot: boolean };
export type SlackChannel = { id: string; name: string };

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
      if (typeof m.ts !== "string" || !SLACK_TS.test(m.ts)) throw new InvalidInputError(`${this.file}: ${day}: entry ${i + 1} has no valid "ts"`);
      if (m.text !== undefined && typeof m.text !== "string") throw new InvalidInputError(`${this.file}: ${day}: entry ${i + 1} has a "text" that is not a string`);
    });
    return list as Record<string, unknown>[];
  }

  /**
   * A channel's messages as gitchat messages, oldest first, a day at a time,
   * each followed by its events. Joins, leaves and other notices are left out
   * (counted in `tally.skipped`); a message longer than gitchat's limit is
   * cut, saying so (counted in `tally.cut`).
   *
   * - A reply (`thread_ts` naming another message) gets `reply_to`: the id
   *   of its thread's first message, made the same way from that `ts`. Only
   *   when that message was imported (it comes earlier: a thread starts
   *   before its replies); otherwise the reply stays a message of the
   *   channel, since gitchat would wait for a thread that never comes.
   * - An edited message (`edited: {user, ts}`): Slack's export holds only the
   *   final text, so the message file holds it, and an `edit` event at the
   *   time of the edit, with the same text, marks it edited as Slack did.
   * - Reactions (`reactions: [{name, users, count}]`): a `react` event from
   *   each user listed, the emoji as its `:shortcode:` (a skin tone left off:
   *   gitchat's shortcodes have none), at the message's time (Slack keeps no
   *   time for a reaction). Slack lists at most some of the people: the rest
   *   of `count` are counted in `tally.unlisted`, not invented.
   * Every id is derived from the Slack channel, the message's `ts` and what
   * the file says, so importing again adds nothing.
   */
  *messages(channel: SlackChannel, tally: ImportTally): Generator<ImportedMessage> {
    /** The ids of the messages imported so far, by `ts`: threads to reply in. */
    const kept = new Map<string, string>();
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
        content = fitted(content, tally, "Slack");
        const ts = m.ts as string;
        const ms = slackMs(ts);
        const id = slackMessageId(channel.id, ts, ms);
        const message: ImportedMessage = { id, ...who, content, type: "message", created_at: new Date(ms).toISOString() };
        if (typeof m.thread_ts === "string" && m.thread_ts !== ts) {
          const thread = kept.get(m.thread_ts);
          if (thread) message.reply_to = thread;
          else tally.unthreaded++;
        }
        kept.set(ts, id);
        tally.messages++;
        yield message;

        const event = (kind: string, at: number) => ({ id: derivedId(`slack:${channel.id}:${ts}:${kind}`, at), target: id, created_at: new Date(at).toISOString() });
        if (isObject(m.edited) && typeof m.edited.ts === "string" && SLACK_TS.test(m.edited.ts)) {
          // Never before the message itself (the fold orders edits by time).
          yield { ...event("edit", Math.max(ms, slackMs(m.edited.ts))), ...who, content, type: "edit" };
        }
        const given = new Set<string>();
        for (const reaction of Array.isArray(m.reactions) ? m.reactions.filter(isObject) : []) {
          const users = Array.isArray(reaction.users) ? reaction.users.filter((u): u is string => typeof u === "string") : [];
          const [name, tone] = typeof reaction.name === "string" ? reaction.name.split("::", 2) : [];
          const emoji = `:${name}:`;
          if (!name || !isReaction(emoji)) {
            tally.skipped.reaction = (tally.skipped.reaction ?? 0) + users.length;
            continue;
          }
          if (typeof reaction.count === "number" && reaction.count > users.length) tally.unlisted += reaction.count - users.length;
          for (const user of users) {
            // Two tones of one emoji from one person are one reaction here.
            if (given.has(`${emoji} ${user}`)) continue;
            given.add(`${emoji} ${user}`);
            if (tone) tally.tones++;
            yield { ...event(`react:${emoji}:${user}`, ms), ...authorOf({ user }, this.users), content: emoji, type: "react" };
          }
        }
      }
    }
  }
}

/** Slack's message time: seconds since the epoch, and a sequence after the dot. */
const SLACK_TS = /^\d{1,12}\.\d{1,6}$/;

const slackMs = (ts: string) => Math.floor(Number(ts) * 1000);

/** Subtypes that are things people (or bots) said; the rest (joins, topic changes...) are notices. */
const KEPT_SUBTYPES = new Set(["bot_message", "me_message", "thread_broadcast", "file_share"]);

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

/** A Slack message's id here: from its channel and `ts`. */
export const slackMessageId = (channelId: string, ts: string, ms: number) => derivedId(`slack:${channelId}:${ts}`, ms);
