/**
 * `gitchat send` and `gitchat tail`: chat from a terminal. Against the
 * server that owns the data directory when one runs (its JSON API, its live
 * stream), else on the data directory itself: a send commits through the
 * message service as a server would, a tail reads the index read-only.
 */
import { loadConfig, type Config } from "../config.ts";
import { dataDirInUse, readIndex } from "../gitchat.ts";
import type { MessageView } from "../messages/service.ts";
import { UsageError, usageLine, wholeNumber, type Command, type Parsed } from "./command.ts";
import { onDataDirOrServer, serverClient, type ServerClient } from "./client.ts";

/** How often a tail without a server looks at the index for new messages, and a lost stream is tried again. */
const POLL_MS = 1000;
/** At most this many arrivals are read at once while following. */
const BATCH = 1000;

/**
 * Text from other people reaches a terminal: control characters (an escape
 * sequence could move the cursor, retitle the window or hide lines) are shown
 * as escapes, and line breaks as ⏎, so that a message is always one line.
 */
const printable = (text: string) =>
  text.replace(/\r\n|\r|\n/g, " ⏎ ").replace(/[\x00-\x1f\x7f-\x9f]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`);

/** One message, one line: time (UTC, to the second), author (and whether it is a reply in a thread), text (and whether it was edited). */
export const formatMessage = (m: Pick<MessageView, "timestamp" | "author" | "content"> & Partial<Pick<MessageView, "deleted" | "edited_at" | "reply_to">>) =>
  `${m.timestamp.replace(/\.\d+Z$/, "Z")} ${printable(m.author)}${m.reply_to ? " (reply)" : ""}: ${
    m.deleted ? "(message deleted)" : `${printable(m.content)}${m.edited_at ? " (edited)" : ""}`
  }`;

const defaultChannel = (config: Config) => `${config.defaultRepository.owner}/${config.defaultRepository.name}`;

export const sendCommand: Command = {
  name: "send",
  usage: "[--channel owner/name] [TEXT...]",
  summary: "send a message (the words of TEXT, or stdin when no TEXT is given)",
  details:
    "Through the running gitchat when one owns DATA_DIR (HOST, PORT, ACCESS_TOKEN), else straight into the data directory " +
    "(then GitHub gets it at the next `gitchat push` or server start).",
  options: {
    channel: { type: "string", short: "c", value: "owner/name", help: "the channel (default: the default channel)" },
    "reply-to": { type: "string", value: "ID", help: "a reply in the thread of this message (its id, as `gitchat tail --ids` prints it)" },
  },
  positionals: true,
  run: ({ values, positionals }: Parsed) => send(values.channel as string | undefined, positionals, values["reply-to"] as string | undefined),
};

const send = async (channel: string | undefined, words: string[], replyTo: string | undefined) => {
  let text = words.join(" ");
  if (words.length === 0) {
    if (process.stdin.isTTY) throw new UsageError("gitchat send: give the text to send, or pipe it in", usageLine(sendCommand));
    text = (await Bun.stdin.text()).replace(/\r?\n$/, "");
  }
  if (text.trim() === "") throw new UsageError("gitchat send: the text is empty; nothing was sent", usageLine(sendCommand));
  const config = loadConfig();
  /** Committed here, with GitHub sync on: no server runs to push it now. */
  let waitsForPush = false;
  const message = await onDataDirOrServer(
    config,
    async (gitchat) => {
      waitsForPush = Boolean(gitchat.sync);
      // Here on the data directory, the CLI is the operator.
      return (await gitchat.messages.send({ viewer: { operator: true }, content: text, repository: channel, reply_to: replyTo })).message;
    },
    (server) => server.request<MessageView>("POST", "/messages", { content: text, repository: channel, reply_to: replyTo }),
  );
  console.log(`sent ${message.id} to ${message.repository} (commit ${message.git_hash})`);
  if (waitsForPush) console.error("no server runs here: GitHub gets it at the next `gitchat push` or server start");
};

export const tailCommand: Command = {
  name: "tail",
  usage: "[--channel owner/name] [-n N] [-f] [--ids]",
  summary: "print a channel's last messages (time, author, text, one a line); -f keeps printing new ones",
  details:
    "From the running gitchat when one owns DATA_DIR (HOST, PORT, ACCESS_TOKEN), following its live stream; else from the index, " +
    "looked at every second.",
  options: {
    channel: { type: "string", short: "c", value: "owner/name", help: "the channel (default: the default channel)" },
    lines: { type: "string", short: "n", value: "N", help: "how many of the last messages (1 to 1000; default 10)" },
    follow: {
      type: "boolean",
      short: "f",
      help: "keep printing messages as they arrive, until interrupted (a message edited or deleted since is printed again, so marked)",
    },
    ids: { type: "boolean", help: "begin each line with the message's id (to reply to it: gitchat send --reply-to ID)" },
  },
  run: ({ values }: Parsed) => {
    const lines = values.lines === undefined ? 10 : wholeNumber(tailCommand, "lines", values.lines as string, 1, 1000);
    return tail(values.channel as string | undefined, lines, values.follow === true, values.ids === true);
  },
};

/** Where a tail reads: the newest messages and the cursor after them; then what arrives after a cursor. */
type Source = {
  recent(channel: string, limit: number): Promise<{ messages: MessageView[]; cursor: number }>;
  follow(channel: string, cursor: number, print: (m: MessageView) => void): Promise<never>;
};

/** Lines remembered while following, so that a message that arrives again unchanged in what a line shows (a reaction) is not printed again. */
const REMEMBERED = 10_000;

const tail = async (channel: string | undefined, lines: number, follow: boolean, ids: boolean) => {
  const config = loadConfig();
  const name = channel ?? defaultChannel(config);
  const source = dataDirInUse(config.dataDir) ? serverSource(serverClient(config)) : indexSource(config);
  const printed = new Map<string, string>();
  const print = (m: MessageView) => {
    const line = `${ids ? `${m.id} ` : ""}${formatMessage(m)}`;
    if (printed.get(m.id) === line) return;
    printed.delete(m.id);
    printed.set(m.id, line);
    if (printed.size > REMEMBERED) printed.delete(printed.keys().next().value!);
    console.log(line);
  };
  const { messages, cursor } = await source.recent(name, lines);
  messages.forEach(print);
  if (follow) await source.follow(name, cursor, print);
};

const indexSource = (config: Config): Source => ({
  recent: async (channel, limit) => {
    const { messages, latest } = readIndex(config, channel, { limit });
    return { messages, cursor: latest };
  },
  follow: async (channel, cursor, print) => {
    for (;;) {
      await Bun.sleep(POLL_MS);
      const { messages } = readIndex(config, channel, { after: cursor, limit: BATCH });
      for (const m of messages) {
        print(m);
        cursor = Math.max(cursor, m.cursor);
      }
    }
  },
});

/** Splits a server-sent event stream into its events' fields (only what a tail needs: the event's name). */
async function* sseEvents(body: ReadableStream<Uint8Array>) {
  const decoder = new TextDecoder();
  let buffer = "";
  for await (const chunk of body as unknown as AsyncIterable<Uint8Array>) {
    buffer += decoder.decode(chunk, { stream: true }).replace(/\r\n?/g, "\n");
    let end: number;
    while ((end = buffer.indexOf("\n\n")) >= 0) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      const event = /^event: ?(.*)$/m.exec(block)?.[1];
      if (event) yield event;
    }
  }
}

const serverSource = (server: ServerClient): Source => {
  const query = (channel: string, params: Record<string, string>) => `/messages?${new URLSearchParams({ repository: channel, ...params })}`;
  const arrivals = async (channel: string, cursor: number) => {
    const response = await server.call("GET", query(channel, { after: String(cursor), limit: String(BATCH) }));
    return { messages: (await response.json()) as MessageView[], cursor: Number(response.headers.get("x-next-cursor") ?? cursor) };
  };
  return {
    recent: async (channel, limit) => {
      const response = await server.call("GET", query(channel, { limit: String(limit) }));
      return { messages: (await response.json()) as MessageView[], cursor: Number(response.headers.get("x-next-cursor")) };
    },
    /**
     * The page's live stream (one event per message) says when to look; the
     * messages themselves come from the JSON API after the cursor, so none is
     * missed between two events. A lost stream is opened again after a
     * second, and what came meanwhile is read first.
     */
    follow: async (channel, cursor, print) => {
      const [owner, name] = channel.split("/").map(encodeURIComponent);
      let warned = false;
      const catchUp = async () => {
        const next = await arrivals(channel, cursor);
        next.messages.forEach(print);
        cursor = next.cursor;
      };
      for (;;) {
        try {
          await catchUp();
          const stream = await server.call("GET", `/c/${owner}/${name}/events?after=${cursor}`, { headers: { accept: "text/event-stream" } });
          warned = false;
          for await (const event of sseEvents(stream.body!)) if (event === "message") await catchUp();
        } catch (error) {
          if (!warned) console.error(`gitchat: lost the live stream from ${server.url} (${(error as Error).message}); trying again every second`);
          warned = true;
        }
        await Bun.sleep(POLL_MS);
      }
    },
  };
};
