/**
 * A message's text as HTML: a small, safe subset of Markdown (bold, italic,
 * strike, inline code, fenced code blocks, quotes, lists, links, bare URLs),
 * rendered on the server by markdown-it with raw HTML off, so that whatever
 * a message holds can only ever become text, these elements, or a link to an
 * http, https or mailto address. Code is highlighted by highlight.js into
 * `hljs-*` classes (the page's CSP allows no inline style).
 */
import hljs from "highlight.js/lib/common";
import MarkdownIt from "markdown-it";
import { LRUCache } from "lru-cache";
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
 * Markdown, or the text as it is when it nests deeper than MAX_NESTING:
 * markdown-it stops parsing blocks at that depth and drops the rest, and a
 * message is never shown with part of its text missing.
 */
const renderMarkdown = (content: string) => {
  const env = {};
  const tokens = markdown.parse(content, env);
  if (tokens.some((token) => token.level >= MAX_NESTING - 1)) return `<p>${escapeHtml(content).replace(/\n/g, "<br>\n")}</p>`;
  return markdown.renderer.render(tokens, markdown.options, env).trimEnd();
};

/**
 * Rendered messages, by id: a page shows the same few hundred messages over and
 * over (every poll, every reload), and a message's text does not change, so
 * each is rendered once. The text is kept beside its HTML and compared, so a
 * message that did change is rendered again, never shown stale.
 */
const rendered = new LRUCache<string, { content: string; type: string; html: string }>({ max: 5_000 });

/** The HTML of a message's text: Markdown for a message, a code block for `type: "code"`. */
export const renderMessage = (m: { id: string; content: string; type: string }): SafeHtml => {
  const known = rendered.get(m.id);
  if (known && known.content === m.content && known.type === m.type) return new SafeHtml(known.html);
  const html = m.type === "code" ? codeBlock(m.content, undefined) : renderMarkdown(m.content);
  rendered.set(m.id, { content: m.content, type: m.type, html });
  return new SafeHtml(html);
};
