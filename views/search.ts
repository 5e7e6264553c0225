/**
 * The page's search: the box in the top bar, the results panel, and its
 * fragments. A result shows its channel, author, time and text with the
 * searched words marked; its text is escaped like all user text (only the
 * <mark> elements around matches are ours).
 */
import type { MessageView } from "../src/messages/service.ts";
import { html, type SafeHtml } from "./html.ts";
import { messageLink } from "./paths.ts";

/** Results shown at once; "Older results" asks for the next ones. */
export const SEARCH_PAGE = 20;
/** A longer text is shown as this many characters around its first match. */
const SNIPPET = 240;

export const searchForm = html`<form id="search" class="search" role="search" hx-get="/ui/search" hx-target="#search-results" hx-swap="innerHTML" hx-indicator="#search-spinner">
      <label for="search-box" class="visually-hidden">Search messages</label>
      <input id="search-box" name="q" type="search" maxlength="500" placeholder="Search (/)" autocomplete="off" aria-describedby="search-help" aria-controls="search-panel">
      <span id="search-help" class="visually-hidden">Words, "quoted phrases", from:login, in:channel, before:YYYY-MM-DD, after:YYYY-MM-DD, has:link, has:code, has:file</span>
    </form>`;

export const searchPanel = html`<section id="search-panel" class="search-panel" aria-labelledby="search-heading" hidden>
    <div class="search-head"><h2 id="search-heading">Search results</h2><span id="search-spinner" class="htmx-indicator spinner" aria-hidden="true"></span>
      <button type="button" id="search-close" aria-label="Close search results" title="Close (Escape)">Close</button></div>
    <p id="search-summary" class="search-summary" role="status"></p>
    <div id="search-results" class="search-results"></div>
  </section>`;

const WORD = "[\\p{L}\\p{N}]";

/**
 * A pattern finding each term as the full-text index does, near enough: its
 * words in order, whole, separated by anything that is not a letter or a
 * digit, in any letter case.
 */
const termsPattern = (terms: readonly string[]) => {
  const alternatives = terms
    .map((term) => term.split(new RegExp(`(?:(?!${WORD}).)+`, "u")).filter(Boolean))
    .filter((words) => words.length > 0)
    .map((words) => words.map((w) => w.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")).join(`(?:(?!${WORD}).)+`));
  return alternatives.length ? new RegExp(`(?<!${WORD})(?:${alternatives.join("|")})(?!${WORD})`, "giu") : undefined;
};

/** `text` as HTML with every match of `pattern` in a <mark>; all of it escaped. */
const marked = (text: string, pattern: RegExp | undefined): SafeHtml => {
  if (!pattern) return html`${text}`;
  const parts: SafeHtml[] = [];
  let at = 0;
  for (const match of text.matchAll(pattern)) {
    parts.push(html`${text.slice(at, match.index)}<mark>${match[0]}</mark>`);
    at = match.index + match[0].length;
  }
  parts.push(html`${text.slice(at)}`);
  return html`${parts}`;
};

/** A long text cut to SNIPPET characters around its first match (whole characters, never half a surrogate pair). */
const snippet = (text: string, pattern: RegExp | undefined) => {
  const chars = Array.from(text);
  if (chars.length <= SNIPPET) return text;
  const at = pattern ? text.search(pattern) : -1;
  const first = at > 0 ? Array.from(text.slice(0, at)).length : 0;
  const start = Math.max(0, Math.min(first - 60, chars.length - SNIPPET));
  return `${start > 0 ? "…" : ""}${chars.slice(start, start + SNIPPET).join("")}${start + SNIPPET < chars.length ? "…" : ""}`;
};

const exactTime = (iso: string) => iso.replace("T", " ").replace(/:\d\d\.\d+Z$/, " UTC");

const result = (m: MessageView, pattern: RegExp | undefined) =>
  html`<li class="result"><a class="result-link" href="${messageLink(m)}" data-id="${m.id}"><span class="result-meta"><span class="result-channel">${m.repository}</span> <span class="author">${m.author}</span> <time datetime="${m.timestamp}">${exactTime(m.timestamp)}</time></span><span class="snippet" dir="auto">${marked(snippet(m.content, pattern), pattern)}</span></a></li>`;

const moreResults = (q: string, before: string) =>
  html`<li class="more"><button type="button" hx-get="/ui/search?q=${encodeURIComponent(q)}&before=${before}" hx-target="closest li" hx-swap="outerHTML">Older results</button></li>`;

/**
 * Results, newest first: with `next` (the first page), the summary and the
 * list; otherwise the next results alone, put in place of the "Older
 * results" button that asked for them.
 */
export const searchResults = (input: { q: string; results: MessageView[]; terms: readonly string[]; more: boolean; first: boolean }) => {
  const pattern = termsPattern(input.terms);
  const oldest = input.results[input.results.length - 1];
  const items = html`${input.results.map((m) => result(m, pattern))}${input.more && oldest ? moreResults(input.q, oldest.id) : ""}`;
  if (!input.first) return items;
  const n = input.results.length;
  const summary =
    n === 0
      ? html`No messages match <q>${input.q}</q>.`
      : input.more
        ? html`The newest ${n} messages matching <q>${input.q}</q>.`
        : html`${n} message${n === 1 ? "" : "s"} match${n === 1 ? "es" : ""} <q>${input.q}</q>.`;
  return html`<span hx-swap-oob="innerHTML:#search-summary">${summary}</span>${n ? html`<ol class="search-list">${items}</ol>` : ""}`;
};

/** A search the server refused (a bad operator value): its reason, in the results panel. */
export const searchRefused = (message: string) =>
  html`<span hx-swap-oob="innerHTML:#search-summary"></span><p class="error" role="alert">${message}</p>`;

/** A search of nothing (a blank box, empty quotes): what the box takes. */
export const searchHint = html`<span hx-swap-oob="innerHTML:#search-summary">Type words to search for, "a phrase", or an operator: from:login, in:channel, before:2026-01-31, after:2026-01-01, has:link, has:code, has:file.</span>`;
