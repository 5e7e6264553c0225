/**
 * A Mattermost bulk export (the JSON lines file `mmctl export` makes, in the
 * format Mattermost's bulk loading documents: a `version` line first, then
 * `team`, `channel`, `user` and `post` lines), read into gitchat's messages:
 * each post keeps its author (an imported, unverified author,
 * `mattermost:<username>`), its time and its text (Mattermost writes
 * Markdown already); its replies become a thread, its reactions `react`
 * events, an edit (`edit_at`) an `edit` event with the final text (the
 * export holds no earlier one). Ids are derived from the channel, the
 * author and the time, so importing the same export twice, or on two
 * servers, gives the same messages.
 *
 * The whole file is checked before anything is written: a line that is not
 * the shape Mattermost documents is refused with its number and what is
 * wrong. Direct and group messages (`direct_channel`, `direct_post`) have no
 * channel here and are left out, counted.
 */
import { InvalidInputError } from "../errors.ts";
import { cleanName, derivedId, fitted, isObject, isReaction, type ImportedMessage, type ImportTally } from "./imported.ts";

export type MattermostChannel = { team: string; name: string };

type Reaction = { user: string; emoji_name: string; create_at?: number };
type Reply = { user: string; message: string; create_at: number; edit_at?: number; reactions: Reaction[]; attachments: string[] };
type Post = Reply & { replies: Reply[]; line: number };

/** Mattermost's names of teams and channels: lower-case letters, digits, `-` and `_`. */
const NAME = /^[a-z0-9][a-z0-9_-]{0,63}$/;
/** Mattermost's usernames (lower-cased): letters, digits, `.`, `-` and `_`. */
const USERNAME = /^[a-z0-9._-]{1,64}$/;

export class MattermostExport {
  /** Direct and group messages found, left out. */
  readonly direct: number;

  private constructor(
    readonly channels: MattermostChannel[],
    private readonly posts: Map<string, Post[]>,
    private readonly names: Map<string, string>,
    direct: number,
  ) {
    this.direct = direct;
  }

  /** Reads and checks the whole file; throws InvalidInputError naming the first line that is wrong. */
  static open(file: string, text: string): MattermostExport {
    const channels = new Map<string, MattermostChannel>();
    const posts = new Map<string, Post[]>();
    const names = new Map<string, string>();
    let direct = 0;
    let sawVersion = false;
    const lines = text.split("\n");
    lines.forEach((raw, i) => {
      const n = i + 1;
      if (raw.trim() === "") return;
      const wrong = (what: string) => new InvalidInputError(`${file}: line ${n} ${what}`);
      let line: unknown;
      try {
        line = JSON.parse(raw);
      } catch (error) {
        throw wrong(`is not JSON (${(error as Error).message})`);
      }
      if (!isObject(line) || typeof line.type !== "string") throw wrong('has no "type"');
      if (!sawVersion) {
        if (line.type !== "version" || line.version !== 1) throw wrong('is not {"type": "version", "version": 1}: a Mattermost bulk export starts with it');
        sawVersion = true;
        return;
      }
      const body = line[line.type];
      switch (line.type) {
        case "channel": {
          if (!isObject(body) || typeof body.team !== "string" || typeof body.name !== "string" || !NAME.test(body.team) || !NAME.test(body.name)) {
            throw wrong('is a channel without a "team" and a "name" of lower-case letters, digits, "-" or "_"');
          }
          channels.set(`${body.team}/${body.name}`, { team: body.team, name: body.name });
          return;
        }
        case "user": {
          if (!isObject(body) || typeof body.username !== "string" || !USERNAME.test(body.username.toLowerCase())) throw wrong('is a user without a valid "username"');
          const full = [body.first_name, body.last_name].filter((part) => typeof part === "string" && part.trim() !== "").join(" ");
          const shown = [body.nickname, full].find((name) => typeof name === "string" && cleanName(name) !== "") as string | undefined;
          names.set(body.username.toLowerCase(), cleanName(shown ?? body.username));
          return;
        }
        case "post": {
          if (!isObject(body) || typeof body.team !== "string" || typeof body.channel !== "string" || !NAME.test(body.team) || !NAME.test(body.channel)) {
            throw wrong('is a post without a valid "team" and "channel"');
          }
          const post = { ...reply(body, wrong, "post"), replies: [] as Reply[], line: n };
          if (body.replies !== undefined && body.replies !== null) {
            if (!Array.isArray(body.replies)) throw wrong('has "replies" that is not a list');
            post.replies = body.replies.map((r, j) => reply(r, (what) => wrong(`reply ${j + 1} ${what.replace(/^is a post /, "is ")}`), "reply"));
          }
          const key = `${body.team}/${body.channel}`;
          if (!channels.has(key)) channels.set(key, { team: body.team, name: body.channel });
          posts.set(key, [...(posts.get(key) ?? []), post]);
          return;
        }
        case "direct_post":
          direct++;
          return;
        default:
          // Teams, direct channels, schemes, emoji, bots: nothing gitchat keeps.
          return;
      }
    });
    if (!sawVersion) throw new InvalidInputError(`${file} is empty: a Mattermost bulk export starts with a version line`);
    return new MattermostExport([...channels.values()], posts, names, direct);
  }

  /**
   * A channel's posts as gitchat files, oldest first: each post, then its
   * edit and its reactions, then its replies (each with its own).
   */
  *messages(channel: MattermostChannel, tally: ImportTally): Generator<ImportedMessage> {
    const key = `${channel.team}/${channel.name}`;
    const posts = [...(this.posts.get(key) ?? [])].sort((a, b) => a.create_at - b.create_at || a.line - b.line);
    /** Posts of one author in one millisecond, told apart by their order in the file. */
    const seen = new Map<string, number>();
    const derive = (what: string, ms: number) => {
      const n = seen.get(what) ?? 0;
      seen.set(what, n + 1);
      return derivedId(`mattermost:${key}:${what}:${n}`, ms);
    };
    for (const post of posts) {
      const id = derive(`${post.user}:${post.create_at}`, post.create_at);
      const made = [...this.files(post, id, undefined, derive, tally)];
      yield* made;
      // Replies to a post with nothing to keep (no text, no file) stay messages of the channel.
      const thread = made.length > 0 ? id : undefined;
      if (!thread) tally.unthreaded += post.replies.length;
      for (const r of post.replies) yield* this.files(r, derive(`${post.user}:${post.create_at}:reply:${r.user}:${r.create_at}`, r.create_at), thread, derive, tally);
    }
  }

  /** A post or reply (`id`; `thread`, the post it replies to): its message, its edit, its reactions. */
  private *files(
    post: Reply,
    id: string,
    thread: string | undefined,
    derive: (what: string, ms: number) => string,
    tally: ImportTally,
  ): Generator<ImportedMessage> {
    const content = fitted([post.message, ...post.attachments.map((path) => `[file not imported: ${path.split("/").pop()}]`)].filter((s) => s.trim() !== "").join("\n"), tally, "Mattermost");
    if (content.trim() === "") {
      tally.skipped.empty = (tally.skipped.empty ?? 0) + 1;
      return;
    }
    const who = this.author(post.user);
    const message: ImportedMessage = { id, ...who, content, type: "message", created_at: new Date(post.create_at).toISOString() };
    if (thread) message.reply_to = thread;
    tally.messages++;
    yield message;
    if (post.edit_at !== undefined && post.edit_at > post.create_at) {
      yield { id: derive(`${id}:edit`, post.edit_at), ...who, content, type: "edit", target: id, created_at: new Date(post.edit_at).toISOString() };
    }
    const given = new Set<string>();
    for (const reaction of post.reactions) {
      const emoji = `:${reaction.emoji_name}:`;
      if (!isReaction(emoji)) {
        tally.skipped.reaction = (tally.skipped.reaction ?? 0) + 1;
        continue;
      }
      if (given.has(`${emoji} ${reaction.user}`)) continue;
      given.add(`${emoji} ${reaction.user}`);
      // Never before the post itself (the fold orders a person's reactions by time).
      const at = Math.max(post.create_at, reaction.create_at ?? post.create_at);
      yield { id: derive(`${id}:react:${emoji}:${reaction.user}`, at), ...this.author(reaction.user), content: emoji, type: "react", target: id, created_at: new Date(at).toISOString() };
    }
  }

  private author(username: string) {
    return { author: this.names.get(username) ?? cleanName(username), author_id: `mattermost:${username}` };
  }
}

/** A post or a reply, checked: who, what, when, and what hangs on it. */
const reply = (value: unknown, wrong: (what: string) => InvalidInputError, kind: string): Reply => {
  if (!isObject(value)) throw wrong(`is a ${kind} that is not an object`);
  if (typeof value.user !== "string" || !USERNAME.test(value.user.toLowerCase())) throw wrong(`is a ${kind} without a valid "user"`);
  if (typeof value.message !== "string") throw wrong(`is a ${kind} without a "message"`);
  if (!Number.isSafeInteger(value.create_at) || (value.create_at as number) <= 0) throw wrong(`is a ${kind} without a "create_at" in milliseconds`);
  const editAt = Number.isSafeInteger(value.edit_at) && (value.edit_at as number) > 0 ? (value.edit_at as number) : undefined;
  const reactions: Reaction[] = [];
  if (Array.isArray(value.reactions)) {
    value.reactions.forEach((r, i) => {
      if (!isObject(r) || typeof r.user !== "string" || !USERNAME.test(r.user.toLowerCase()) || typeof r.emoji_name !== "string") {
        throw wrong(`has reaction ${i + 1} without a "user" and an "emoji_name"`);
      }
      reactions.push({ user: r.user.toLowerCase(), emoji_name: r.emoji_name, create_at: Number.isSafeInteger(r.create_at) ? (r.create_at as number) : undefined });
    });
  }
  const attachments = Array.isArray(value.attachments)
    ? value.attachments.filter(isObject).map((a) => (typeof a.path === "string" ? a.path : "unnamed"))
    : [];
  return { user: value.user.toLowerCase(), message: value.message, create_at: value.create_at as number, edit_at: editAt, reactions, attachments };
};
