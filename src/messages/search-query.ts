/**
 * The search language of `GET /messages?q=` and of the page's search box:
 * free words and "quoted phrases", and the operators
 *
 *   from:LOGIN_OR_NAME   in:owner/name (or in:name)   before:YYYY-MM-DD
 *   after:YYYY-MM-DD     has:link   has:code   has:file
 *
 * An operator's value may be quoted (`from:"Ann Lee"`). Operator names are
 * read in any letter case. A word with a colon that is no operator
 * (`http://x`, `content:fox`) is searched as text; a known operator with a
 * value it cannot take is an InvalidInputError naming the operator.
 *
 * This file only reads the text: which channels and authors the values name
 * is decided by the message service, for the viewer who asks.
 */
import { InvalidInputError } from "../errors.ts";

export type SearchQuery = {
  /** Words and quoted phrases, each matched as a phrase of words (all of them must match). */
  terms: string[];
  /** Written by any of these (a login or an author's name). */
  from: string[];
  /** In any of these channels ("owner/name" or "name"). */
  in: string[];
  /** Sent before this time (ms since the epoch): the start of the `before:` day, UTC; the earliest when several. */
  until?: number;
  /** Sent at or after this time (ms since the epoch): the day after the `after:` day, UTC; the latest when several. */
  since?: number;
  has: { link: boolean; code: boolean; file: boolean };
};

const DAY_MS = 86_400_000;
const DATE = /^(\d{4})-(\d{2})-(\d{2})$/;
const HAS = ["link", "code", "file"] as const;
const OPERATORS = new Set(["from", "in", "before", "after", "has"]);

/** The start of a UTC day written YYYY-MM-DD, in ms; undefined for anything else (2026-02-30 too). */
const dayStart = (text: string): number | undefined => {
  const match = DATE.exec(text);
  if (!match) return undefined;
  const [year, month, day] = [Number(match[1]), Number(match[2]), Number(match[3])];
  const ms = Date.UTC(year, month - 1, day);
  const back = new Date(ms);
  return back.getUTCFullYear() === year && back.getUTCMonth() === month - 1 && back.getUTCDate() === day ? ms : undefined;
};

/**
 * Splits `q` into tokens: a run of non-space characters, in which a double
 * quote opens a quoted part that runs to the next double quote (or the end)
 * and may hold spaces. Each token is kept as its operator part (text before
 * a first colon outside quotes) and its value with the quotes taken off.
 */
const tokens = (q: string): { raw: string; key?: string; value: string; quoted: boolean }[] => {
  const out: { raw: string; key?: string; value: string; quoted: boolean }[] = [];
  let i = 0;
  while (i < q.length) {
    while (i < q.length && /\s/.test(q[i]!)) i++;
    if (i >= q.length) break;
    let raw = "";
    let text = "";
    let key: string | undefined;
    let quoted = false;
    while (i < q.length && !/\s/.test(q[i]!)) {
      const c = q[i]!;
      if (c === '"') {
        quoted = true;
        const end = q.indexOf('"', i + 1);
        const stop = end === -1 ? q.length : end;
        text += q.slice(i + 1, stop);
        raw += q.slice(i, end === -1 ? stop : stop + 1);
        i = end === -1 ? stop : stop + 1;
        continue;
      }
      if (c === ":" && key === undefined && !quoted) {
        key = text;
        text = "";
      } else {
        text += c;
      }
      raw += c;
      i++;
    }
    out.push(key === undefined ? { raw, value: text, quoted } : { raw, key, value: text, quoted });
  }
  return out;
};

/** Reads a search. Throws InvalidInputError, naming the operator, for a value an operator cannot take. */
export const parseSearch = (q: string): SearchQuery => {
  const query: SearchQuery = { terms: [], from: [], in: [], has: { link: false, code: false, file: false } };
  for (const token of tokens(q)) {
    const operator = token.key?.toLowerCase();
    if (token.key === undefined || operator === undefined || !OPERATORS.has(operator)) {
      // A word, a phrase, or `word:...` that is no operator: text. A quoted phrase keeps its spaces.
      const text = token.key === undefined ? token.value : token.raw.replaceAll('"', " ");
      if (text.trim() !== "") query.terms.push(token.key === undefined && token.quoted ? text.trim() : text);
      continue;
    }
    const value = token.value.trim();
    if (value === "") {
      throw new InvalidInputError(`${operator}: needs a value, as in ${EXAMPLES[operator]} (to search for the word itself, quote it: "${operator}:")`);
    }
    switch (operator) {
      case "from":
        query.from.push(value);
        break;
      case "in":
        query.in.push(value);
        break;
      case "before":
      case "after": {
        const start = dayStart(value);
        if (start === undefined) throw new InvalidInputError(`${operator}: takes a date as YYYY-MM-DD (${EXAMPLES[operator]}), not ${JSON.stringify(value)}`);
        if (operator === "before") query.until = Math.min(query.until ?? Infinity, start);
        else query.since = Math.max(query.since ?? -Infinity, start + DAY_MS);
        break;
      }
      case "has": {
        const what = value.toLowerCase();
        if (!(HAS as readonly string[]).includes(what)) throw new InvalidInputError(`has: takes link, code or file, not ${JSON.stringify(value)}`);
        query.has[what as (typeof HAS)[number]] = true;
        break;
      }
    }
  }
  return query;
};

const EXAMPLES: Record<string, string> = {
  from: "from:ann",
  in: "in:acme/general",
  before: "before:2026-01-31",
  after: "after:2026-01-01",
  has: "has:link",
};

/** A search that asks for nothing: the newest messages are listed instead. */
export const isBlankSearch = (query: SearchQuery) =>
  query.terms.length === 0 &&
  query.from.length === 0 &&
  query.in.length === 0 &&
  query.until === undefined &&
  query.since === undefined &&
  !query.has.link &&
  !query.has.code &&
  !query.has.file;
