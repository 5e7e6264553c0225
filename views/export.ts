/**
 * A channel written out for reading elsewhere: a Markdown transcript (for
 * people, and for feeding tools) and one self-contained HTML page that reads
 * well offline (its style inline, no script, nothing fetched). Each is made a
 * message at a time: `start`, then `message` for each, then `end`, so an
 * export holds one message, however long the channel.
 */
import type { MessageView } from "../src/messages/service.ts";
import { html, SafeHtml } from "./html.ts";
import { renderMessage } from "./markdown.ts";

export type ExportFormat = "jsonl" | "markdown" | "html";
export const EXPORT_FORMATS: readonly ExportFormat[] = ["jsonl", "markdown", "html"];

export type Writer = {
  start(): string;
  message(m: MessageView): string;
  end(count: number): string;
};

const DAY = new Intl.DateTimeFormat("en-GB", { weekday: "long", day: "numeric", month: "long", year: "numeric", timeZone: "UTC" });
const dayOf = (iso: string) => DAY.format(new Date(iso));
const timeOf = (iso: string) => `${iso.slice(11, 16)} UTC`;
/** A name as Markdown text: its own `*`, `_` and the like are not formatting. */
const markdownText = (text: string) => text.replace(/[\\`*_[\]<>#~|]/g, "\\$&");

/** After the author and time: a reply says so (its thread's first message by id), an edited message too. */
const marks = (m: MessageView) => `${m.reply_to ? ` · reply to ${m.reply_to}` : ""}${m.edited_at ? " · edited" : ""}`;

/** Every field, one JSON object a line. */
const jsonl = (): Writer => ({
  start: () => "",
  message: (m) => `${JSON.stringify(m)}\n`,
  end: () => "",
});

/**
 * Days as headings, each message a quote under its author and time: a quote
 * keeps the message's own Markdown (a line starting with `#` stays inside it,
 * never a heading of the transcript). A code message is a fenced block, its
 * fence longer than any run of backticks in it.
 */
const markdown = (channel: string, exportedAt: string): Writer => {
  let day = "";
  return {
    start: () => `# ${channel}\n\nExported from gitchat on ${exportedAt}.\n`,
    message: (m) => {
      const heading = dayOf(m.timestamp) === day ? "" : `\n## ${(day = dayOf(m.timestamp))}\n`;
      const fence = "`".repeat(Math.max(3, ...[...m.content.matchAll(/`+/g)].map((r) => r[0].length + 1)));
      const body = m.deleted ? "_message deleted_" : m.type === "code" ? `${fence}\n${m.content}\n${fence}` : m.content;
      const quoted = body.split("\n").map((line) => (line ? `> ${line}` : ">")).join("\n");
      return `${heading}\n**${markdownText(m.author)}** · ${timeOf(m.timestamp)} · \`${m.git_hash.slice(0, 7)}\`${marks(m)}\n\n${quoted}\n`;
    },
    end: (count) => `\n---\n${count} message(s).\n`,
  };
};

/** The page's look, inline: the file is read alone, offline. */
const STYLE = `
body { font: 15px/1.5 system-ui, sans-serif; max-width: 760px; margin: 24px auto; padding: 0 16px; color: #1f2328; background: #fff; }
@media (prefers-color-scheme: dark) { body { color: #e6edf3; background: #0d1117; } .meta, blockquote { color: #9ea7b3; } pre, :not(pre) > code { background: #161b22; } }
h1 { font-size: 22px; } h2 { font-size: 15px; margin: 24px 0 8px; padding-bottom: 4px; border-bottom: 1px solid #d0d7de; }
.message { margin: 0 0 10px; } .meta { font-size: 13px; color: #57606a; } .author { font-weight: 600; color: inherit; }
.content p, .content ul, .content ol, .content blockquote { margin: 0; } .content > * + * { margin-top: 4px; }
blockquote { padding-left: 10px; border-left: 3px solid #d0d7de; color: #57606a; }
pre { padding: 8px 10px; overflow-x: auto; background: #f6f8fa; border-radius: 8px; } :not(pre) > code { padding: 1px 4px; background: #f6f8fa; border-radius: 4px; }
code { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; font-size: 13px; }
.copy-code { display: none; } .hljs-keyword { color: #cf222e; } .hljs-string { color: #0a3069; } .hljs-comment { color: #57606a; font-style: italic; }
.hljs-number, .hljs-literal { color: #0550ae; } .hljs-title { color: #8250df; }
footer { margin-top: 24px; font-size: 13px; color: #57606a; }
`;

/** One page, its messages rendered as the chat page renders them (the same safe Markdown). */
const page = (channel: string, exportedAt: string): Writer => {
  let day = "";
  return {
    start: () =>
      html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:">
<title>${channel} · gitchat export</title>
<style>${new SafeHtml(STYLE)}</style>
</head>
<body>
<h1>${channel}</h1>
<p class="meta">Exported from gitchat on ${exportedAt}.</p>
`.value,
    message: (m) => {
      const heading = dayOf(m.timestamp) === day ? "" : html`<h2>${(day = dayOf(m.timestamp))}</h2>\n`.value;
      return `${heading}${html`<article class="message" id="m-${m.id}"><div class="meta"><span class="author">${m.author}</span> <time datetime="${m.timestamp}">${timeOf(m.timestamp)}</time> <code title="commit ${m.git_hash}">${m.git_hash.slice(0, 7)}</code>${marks(m)}</div><div class="content" dir="auto">${m.deleted ? html`<em>message deleted</em>` : renderMessage(m)}</div></article>
`.value}`;
    },
    end: (count) => html`<footer>${count} message(s).</footer>
</body>
</html>
`.value,
  };
};

export const exportWriter = (format: ExportFormat, channel: string, exportedAt: string): Writer =>
  format === "jsonl" ? jsonl() : format === "markdown" ? markdown(channel, exportedAt) : page(channel, exportedAt);
