/**
 * A strict reader of Prometheus' text exposition format, version 0.0.4
 * (prometheus.io/docs/instrumenting/exposition_formats), for tests: it
 * throws, naming the line, on anything the format does not allow, where
 * Prometheus' own parser would refuse the scrape or where the format says a
 * thing must (or may only) be so:
 *  - UTF-8 lines ended by `\n` (the last one too); empty lines ignored;
 *  - `# HELP name text` (`\\` and `\n` the only escapes) and
 *    `# TYPE name counter|gauge|histogram|summary|untyped`, each at most once
 *    per name, the TYPE before the family's first sample; other comments ignored;
 *  - samples `name{label="value",...} value [timestamp]`: names and label
 *    names of the allowed characters, label values with the escapes `\\`,
 *    `\"` and `\n` only, a Go float value (NaN, +Inf, -Inf included), an
 *    integer timestamp; no series twice; each family's lines in one group;
 *  - a histogram's series: `_bucket` lines with `le` in increasing order and
 *    non-decreasing counts, ending with `le="+Inf"`, whose count is its
 *    `_count`, and a `_sum`; a counter never negative.
 */

export type Sample = { name: string; labels: Record<string, string>; value: number };
export type Family = { name: string; type: string; help?: string; samples: Sample[] };

const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*/;
const FLOAT = /^[+-]?(?:(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?|Inf|inf|NaN)$/;
const TYPES = new Set(["counter", "gauge", "histogram", "summary", "untyped"]);

const parseFloatStrict = (text: string, where: string) => {
  if (!FLOAT.test(text)) throw new Error(`${where}: "${text}" is not a float`);
  if (/^[+-]?inf$/i.test(text)) return text.startsWith("-") ? -Infinity : Infinity;
  return Number(text);
};

/** The family a sample name belongs to: a histogram's or summary's `_bucket`, `_sum`, `_count` belong to its base name. */
const familyOf = (name: string, types: Map<string, string>) => {
  for (const suffix of ["_bucket", "_sum", "_count"]) {
    if (!name.endsWith(suffix)) continue;
    const base = name.slice(0, -suffix.length);
    const type = types.get(base);
    if (type === "histogram" || (type === "summary" && suffix !== "_bucket")) return base;
  }
  return name;
};

const parseLabels = (text: string, where: string): { labels: Record<string, string>; rest: string } => {
  const labels: Record<string, string> = {};
  let rest = text.slice(1);
  for (;;) {
    rest = rest.trimStart();
    if (rest.startsWith("}")) return { labels, rest: rest.slice(1) };
    const name = LABEL_NAME.exec(rest)?.[0];
    if (!name) throw new Error(`${where}: bad label name at "${rest}"`);
    if (name in labels) throw new Error(`${where}: label ${name} twice`);
    rest = rest.slice(name.length).trimStart();
    if (!rest.startsWith('="')) throw new Error(`${where}: label ${name} has no ="value"`);
    rest = rest.slice(2);
    let value = "";
    for (;;) {
      const char = rest[0];
      if (char === undefined) throw new Error(`${where}: label ${name}'s value is not closed`);
      rest = rest.slice(1);
      if (char === '"') break;
      if (char === "\\") {
        const escaped = rest[0];
        rest = rest.slice(1);
        if (escaped === "\\") value += "\\";
        else if (escaped === '"') value += '"';
        else if (escaped === "n") value += "\n";
        else throw new Error(`${where}: label ${name} has the escape \\${escaped ?? ""}, which the format does not allow`);
      } else value += char;
    }
    labels[name] = value;
    rest = rest.trimStart();
    if (rest.startsWith(",")) rest = rest.slice(1);
    else if (!rest.startsWith("}")) throw new Error(`${where}: expected , or } after label ${name}`);
  }
};

const unescapeHelp = (text: string, where: string) =>
  text.replace(/\\(.?)/g, (_, c: string) => {
    if (c === "\\") return "\\";
    if (c === "n") return "\n";
    throw new Error(`${where}: HELP has the escape \\${c}, which the format does not allow`);
  });

const seriesKey = (labels: Record<string, string>, without?: string) =>
  JSON.stringify(Object.entries(labels).filter(([name]) => name !== without).sort(([a], [b]) => (a < b ? -1 : 1)));

const checkHistogram = (family: Family) => {
  const series = new Map<string, { buckets: { le: number; count: number }[]; sum?: number; count?: number }>();
  const of = (labels: Record<string, string>, without?: string) => {
    const key = seriesKey(labels, without);
    let entry = series.get(key);
    if (!entry) series.set(key, (entry = { buckets: [] }));
    return entry;
  };
  for (const sample of family.samples) {
    const where = `histogram ${family.name}`;
    if (sample.name === `${family.name}_bucket`) {
      if (sample.labels.le === undefined) throw new Error(`${where}: a bucket without le`);
      of(sample.labels, "le").buckets.push({ le: parseFloatStrict(sample.labels.le, where), count: sample.value });
    } else if (sample.name === `${family.name}_sum`) of(sample.labels).sum = sample.value;
    else if (sample.name === `${family.name}_count`) of(sample.labels).count = sample.value;
    else throw new Error(`${where}: the sample ${sample.name} belongs to no histogram`);
  }
  for (const [key, { buckets, sum, count }] of series) {
    const where = `histogram ${family.name}${key}`;
    for (let i = 1; i < buckets.length; i++) {
      if (!(buckets[i]!.le > buckets[i - 1]!.le)) throw new Error(`${where}: le not in increasing order`);
      if (buckets[i]!.count < buckets[i - 1]!.count) throw new Error(`${where}: bucket counts are not cumulative`);
    }
    const last = buckets[buckets.length - 1];
    if (last?.le !== Infinity) throw new Error(`${where}: no le="+Inf" bucket last`);
    if (count === undefined || sum === undefined) throw new Error(`${where}: no _count or no _sum`);
    if (last.count !== count) throw new Error(`${where}: the +Inf bucket (${last.count}) is not _count (${count})`);
  }
};

export const parsePrometheusText = (text: string): Map<string, Family> => {
  if (text.length > 0 && !text.endsWith("\n")) throw new Error("the last line does not end with a line feed");
  const families = new Map<string, Family>();
  const types = new Map<string, string>();
  const helps = new Map<string, string>();
  const series = new Set<string>();
  /** Families whose group of lines has ended (another family's line came after). */
  const closed = new Set<string>();
  let current: string | undefined;
  const enter = (name: string, where: string) => {
    if (current === name) return;
    if (closed.has(name)) throw new Error(`${where}: the lines of ${name} are not in one group`);
    if (current !== undefined) closed.add(current);
    current = name;
  };
  const family = (name: string) => {
    let entry = families.get(name);
    if (!entry) families.set(name, (entry = { name, type: types.get(name) ?? "untyped", help: helps.get(name), samples: [] }));
    return entry;
  };
  text
    .slice(0, -1)
    .split("\n")
    .forEach((raw, index) => {
      const where = `line ${index + 1}`;
      const line = raw.trim();
      if (line === "") return;
      if (line.startsWith("#")) {
        const [, keyword, name, ...rest] = line.split(/[ \t]+/);
        if (keyword !== "HELP" && keyword !== "TYPE") return;
        if (!name || METRIC_NAME.exec(name)?.[0] !== name) throw new Error(`${where}: ${keyword} needs a metric name`);
        enter(name, where);
        if (keyword === "HELP") {
          if (helps.has(name)) throw new Error(`${where}: a second HELP for ${name}`);
          const help = unescapeHelp(line.replace(/^#[ \t]+HELP[ \t]+\S+[ \t]?/, ""), where);
          helps.set(name, help);
          family(name).help = help;
        } else {
          if (rest.length !== 1 || !TYPES.has(rest[0]!)) throw new Error(`${where}: TYPE ${name} needs exactly one of ${[...TYPES].join(", ")}`);
          if (types.has(name)) throw new Error(`${where}: a second TYPE for ${name}`);
          if (families.get(name)?.samples.length) throw new Error(`${where}: TYPE ${name} after its samples`);
          types.set(name, rest[0]!);
          family(name).type = rest[0]!;
        }
        return;
      }
      const name = METRIC_NAME.exec(line)?.[0];
      if (!name) throw new Error(`${where}: a sample must start with a metric name: ${line}`);
      let rest = line.slice(name.length);
      let labels: Record<string, string> = {};
      if (rest.startsWith("{")) ({ labels, rest } = parseLabels(rest, where));
      const tokens = rest.trim().split(/[ \t]+/);
      if (!/^[ \t]/.test(rest) || tokens.length < 1 || tokens.length > 2) throw new Error(`${where}: expected a value and at most a timestamp: ${line}`);
      const value = parseFloatStrict(tokens[0]!, where);
      if (tokens[1] !== undefined && !/^-?\d+$/.test(tokens[1])) throw new Error(`${where}: the timestamp ${tokens[1]} is not an integer`);
      const key = `${name}${seriesKey(labels)}`;
      if (series.has(key)) throw new Error(`${where}: the series ${key} twice`);
      series.add(key);
      const base = familyOf(name, types);
      enter(base, where);
      const entry = family(base);
      if (entry.type === "counter" && value < 0) throw new Error(`${where}: the counter ${name} is negative`);
      entry.samples.push({ name, labels, value });
    });
  for (const entry of families.values()) if (entry.type === "histogram") checkHistogram(entry);
  return families;
};

/** The value of the one sample `name` with exactly `labels`; throws when there is none. */
export const sampleValue = (families: Map<string, Family>, name: string, labels: Record<string, string> = {}) => {
  const key = seriesKey(labels);
  for (const family of families.values()) {
    const sample = family.samples.find((s) => s.name === name && seriesKey(s.labels) === key);
    if (sample) return sample.value;
  }
  throw new Error(`no sample ${name}${key}`);
};
