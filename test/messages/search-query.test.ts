/** The search language read from `q=` and the page's search box (src/messages/search-query.ts). */
import { describe, expect, test } from "bun:test";
import { isBlankSearch, parseSearch } from "../../src/messages/search-query.ts";
import { InvalidInputError } from "../../src/errors.ts";

const day = (iso: string) => Date.parse(`${iso}T00:00:00.000Z`);

const refusal = (q: string) => {
  try {
    parseSearch(q);
  } catch (error) {
    return { invalid: error instanceof InvalidInputError, message: (error as Error).message };
  }
  return undefined;
};

describe("parseSearch", () => {
  test("free words are terms, each on its own", () => {
    expect(parseSearch("  deploy   failed ").terms).toEqual(["deploy", "failed"]);
  });

  test("a quoted phrase is one term with its spaces", () => {
    expect(parseSearch('ship "went out fine" today').terms).toEqual(["ship", "went out fine", "today"]);
  });

  test("an unterminated quote runs to the end", () => {
    expect(parseSearch('"went out').terms).toEqual(["went out"]);
  });

  test("each operator is read, in any letter case, and taken out of the words", () => {
    const q = parseSearch("deploy FROM:ann in:acme/general Before:2026-03-10 after:2026-03-01 has:link HAS:Code");
    expect(q).toEqual({
      terms: ["deploy"],
      from: ["ann"],
      in: ["acme/general"],
      until: day("2026-03-10"),
      since: day("2026-03-02"),
      has: { link: true, code: true, file: false },
    });
  });

  test("an operator's value may be quoted, spaces and all", () => {
    expect(parseSearch('from:"Ann Lee" hello').from).toEqual(["Ann Lee"]);
  });

  test("from: and in: may be given more than once", () => {
    const q = parseSearch("from:ann from:bob in:general in:acme/side");
    expect({ from: q.from, in: q.in }).toEqual({ from: ["ann", "bob"], in: ["general", "acme/side"] });
  });

  test("of several before: the earliest holds, of several after: the latest", () => {
    const q = parseSearch("before:2026-05-01 before:2026-04-01 after:2026-01-01 after:2026-02-01");
    expect({ until: q.until, since: q.since }).toEqual({ until: day("2026-04-01"), since: day("2026-02-02") });
  });

  test("has:file is read (it finds messages with attachments)", () => {
    expect(parseSearch("has:file").has).toEqual({ link: false, code: false, file: true });
  });

  test("a word with a colon that is no operator is text, as written", () => {
    expect(parseSearch("content:fox https://example.com/a?b=c").terms).toEqual(["content:fox", "https://example.com/a?b=c"]);
  });

  test("a quoted operator is text: the way to search for the word itself", () => {
    expect(parseSearch('"from:ann"')).toMatchObject({ terms: ["from:ann"], from: [] });
  });

  test("before: that is not a date is refused, naming before:", () => {
    expect(refusal("before:notadate")).toEqual({ invalid: true, message: 'before: takes a date as YYYY-MM-DD (before:2026-01-31), not "notadate"' });
  });

  test("after: of a day that does not exist is refused, naming after:", () => {
    expect(refusal("after:2026-02-30")?.message).toBe('after: takes a date as YYYY-MM-DD (after:2026-01-01), not "2026-02-30"');
  });

  test("has: of something else is refused, naming has:", () => {
    expect(refusal("has:picture")?.message).toBe('has: takes link, code or file, not "picture"');
  });

  test("an operator with no value is refused, naming it", () => {
    expect(refusal("hello from:")?.message).toBe('from: needs a value, as in from:ann (to search for the word itself, quote it: "from:")');
    expect(refusal('in:""')?.message).toStartWith("in: needs a value");
  });

  test("a search of blanks and empty quotes asks for nothing; any operator asks for something", () => {
    expect(isBlankSearch(parseSearch('  "" " '))).toBe(true);
    expect(["x", "from:a", "in:a", "before:2026-01-01", "after:2026-01-01", "has:link", "has:code", "has:file"].map((q) => isBlankSearch(parseSearch(q)))).toEqual(
      [false, false, false, false, false, false, false, false],
    );
  });
});
