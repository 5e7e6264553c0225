/**
 * A message's text as HTML: a small, safe subset of Markdown (bold, italic,
 * strike, inline code, fenced code blocks, quotes, lists, links, bare URLs),
 * rendered on the server by markdown-it with raw HTML off, so that whatever
 * a message holds can only ever become text, these elements, or a link to an
 * http, https or mailto address. Code is highlighted by highlight.js into
 * `hljs-*` classes (the page's CSP allows no inline style). `@login` in
 * text (never in code or inside a link) becomes a mention, and the message
 * records whom it mentions.
 */
import hljs from "highlight.js/lib/common";
import MarkdownIt from "markdown-it";
import { LRUCache } from "lru-cache";
import type { Token } from "markdown-it";
import { escapeHtml, SafeHtml } from "./html.ts";

const SAFE_LINK = /^(https?:|mailto:)/i;

/** Deeper quotes and lists than this are no conversation: such a message is shown as plain text. */
const MAX_NESTING = 20;

const markdown = new MarkdownIt("zero", { html: false, linkify: true, breaks: true, maxNesting: MAX_NESTING });
markdown.enable(["emphasis", "strikethrough", "backticks", "fence", "blockquote", "list", "link", "autolink", "linkify", "newline", "escape", "entity"]);
markdown.validateLink = (url) => SAFE_LINK.test(url.trim());
// Fuzzy links (`example.com`) become http links; a fuzzy e-mail address a mailto link.
markdown.linkify.set({ fuzzyEmail: true });

markdown.renderer.rules.link_open = (tokens, idx, options, _env, self) => {
  tokens[idx]!.attrSet("rel", "noopener noreferrer nofollow");
  return self.renderToken(tokens, idx, options);
};

/** A code block with its copy button (the page script copies the code's text). */
export const codeBlock = (code: string, language: string | undefined) => {
  const known = language && hljs.getLanguage(language) ? language : undefined;
  const body = known ? hljs.highlight(code, { language: known, ignoreIllegals: true }).value : escapeHtml(code);
  const label = known ? ` class="hljs language-${escapeHtml(known)}"` : ` class="hljs"`;
  return `<div class="code-block"><pre><code${label}>${body}</code></pre><button type="button" class="copy-code" aria-label="Copy the code">Copy</button></div>`;
};

markdown.renderer.rules.fence = (tokens, idx) => {
  const token = tokens[idx]!;
  return codeBlock(token.content, token.info.trim().split(/\s+/)[0] || undefined);
};

/**
 * `@login` as GitHub spells a login (letters, digits, single inner hyphens,
 * at most 39), not inside a word or an address (`a@b`), not followed by
 * more login characters.
 */
const MENTION = /(^|[^A-Za-z0-9_@.+\-/])@([A-Za-z0-9](?:[A-Za-z0-9]|-(?=[A-Za-z0-9])){0,38})(?![A-Za-z0-9_-])/g;

type Env = { mentions?: Set<string> };

/**
 * Mentions, found in the text tokens of each inline run after linkify (so a
 * link's text and every kind of code are left alone), each its own token
 * rendered as a span that names the login.
 */
markdown.core.ruler.push("mention", (state) => {
  const env = state.env as Env;
  for (const block of state.tokens) {
    if (block.type !== "inline" || !block.children) continue;
    const out: Token[] = [];
    let inLink = 0;
    for (const token of block.children) {
      if (token.type === "link_open") inLink++;
      if (token.type === "link_close") inLink--;
      if (token.type !== "text" || inLink > 0 || !token.content.includes("@")) {
        out.push(token);
        continue;
      }
      let last = 0;
      for (const match of token.content.matchAll(MENTION)) {
        const at = match.index + match[1]!.length;
        const login = match[2]!;
        if (at > last) out.push(Object.assign(new state.Token("text", "", 0), { content: token.content.slice(last, at) }));
        out.push(Object.assign(new state.Token("mention", "", 0), { content: login }));
        (env.mentions ??= new Set()).add(login.toLowerCase());
        last = at + 1 + login.length;
      }
      if (last === 0) out.push(token);
      else if (last < token.content.length) out.push(Object.assign(new state.Token("text", "", 0), { content: token.content.slice(last) }));
    }
    block.children = out;
  }
});

markdown.renderer.rules.mention = (tokens, idx) => {
  const login = escapeHtml(tokens[idx]!.content);
  return `<span class="mention" data-login="${login.toLowerCase()}">@${login}</span>`;
};

/**
 * Markdown, or the text as it is when it nests deeper than MAX_NESTING:
 * markdown-it stops parsing blocks at that depth and drops the rest, and a
 * message is never shown with part of its text missing.
 */
const renderMarkdown = (content: string): Rendered => {
  const env: Env = {};
  const tokens = markdown.parse(content, env);
  if (tokens.some((token) => token.level >= MAX_NESTING - 1)) return { html: `<p>${escapeHtml(content).replace(/\n/g, "<br>\n")}</p>`, mentions: [] };
  return { html: markdown.renderer.render(tokens, markdown.options, env).trimEnd(), mentions: [...(env.mentions ?? [])] };
};

/** A message's HTML, and the logins (lower case) it mentions. */
export type Rendered = { html: string; mentions: string[] };

type Renderable = { id: string; content: string; type: string; language?: string | null };

/**
 * Rendered messages, by id: a page shows the same few hundred messages over and
 * over (every poll, every reload), and a message's text does not change, so
 * each is rendered once. The text is kept beside its HTML and compared, so a
 * message that did change is rendered again, never shown stale.
 */
const rendered = new LRUCache<string, { content: string; type: string; language: string | null; result: Rendered }>({ max: 5_000 });

/**
 * A message's text as HTML, with whom it mentions: Markdown for a message, a
 * code block for `type: "code"` (highlighted in its `language` when
 * highlight.js knows it; code mentions no one).
 */
export const renderMessageWithMentions = (m: Renderable): Rendered => {
  const language = m.language ?? null;
  const known = rendered.get(m.id);
  if (known && known.content === m.content && known.type === m.type && known.language === language) return known.result;
  const result = m.type === "code" ? { html: codeBlock(m.content, language ?? undefined), mentions: [] } : renderMarkdown(m.content);
  rendered.set(m.id, { content: m.content, type: m.type, language, result });
  return result;
};

/** The HTML of a message's text (see renderMessageWithMentions). */
export const renderMessage = (m: Renderable): SafeHtml => new SafeHtml(renderMessageWithMentions(m).html);
