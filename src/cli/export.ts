/**
 * `gitchat export owner/name --format jsonl|markdown|html [--since DATE]
 * [--output FILE]`: a channel, oldest message first, to a file or stdout.
 * It reads the index only, so it runs beside a server; it holds one message
 * at a time and writes in blocks, so its memory does not follow the channel.
 */
import { closeSync, openSync, writeSync } from "node:fs";
import { parseArgs } from "node:util";
import type { Config } from "../config.ts";
import { ConfigError } from "../errors.ts";
import { exportChannel } from "../gitchat.ts";
import { EXPORT_FORMATS, exportWriter, type ExportFormat } from "../../views/export.ts";

export const EXPORT_USAGE = "usage: gitchat export OWNER/NAME --format jsonl|markdown|html [--since DATE] [--output FILE]";

/** Output is gathered and written this many bytes at a time. */
const BLOCK = 64 * 1024;

export const exportCommand = async (config: Config, argv: string[]) => {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      options: { format: { type: "string" }, since: { type: "string" }, output: { type: "string", short: "o" } },
    });
  } catch (error) {
    throw new ConfigError(`${(error as Error).message}\n${EXPORT_USAGE}`);
  }
  const { values, positionals } = parsed;
  if (positionals.length !== 1 || !/^[^/]+\/[^/]+$/.test(positionals[0]!)) throw new ConfigError(`name one channel, as owner/name\n${EXPORT_USAGE}`);
  const format = values.format as ExportFormat | undefined;
  if (!format || !EXPORT_FORMATS.includes(format)) throw new ConfigError(`--format must be one of ${EXPORT_FORMATS.join(", ")}\n${EXPORT_USAGE}`);
  let since: string | undefined;
  if (values.since !== undefined) {
    const time = Date.parse(values.since);
    if (!/^\d{4}-\d{2}-\d{2}/.test(values.since) || Number.isNaN(time)) {
      throw new ConfigError(`--since must be a date (2026-11-24) or a time (2026-11-24T09:00:00Z), not ${JSON.stringify(values.since)}`);
    }
    since = new Date(time).toISOString();
  }

  const channel = positionals[0]!;
  const writer = exportWriter(format, channel, new Date().toISOString().slice(0, 10));
  const fd = values.output === undefined ? 1 : openSync(values.output, "w", 0o644);
  let pending = "";
  const put = (text: string) => {
    pending += text;
    if (pending.length >= BLOCK) flush();
  };
  const flush = () => {
    const bytes = Buffer.from(pending);
    for (let done = 0; done < bytes.length; ) done += writeSync(fd, bytes, done);
    pending = "";
  };
  try {
    put(writer.start());
    // JSON lines carry every field: an edited message's versions too.
    const count = await exportChannel(config, channel, since, (message) => put(writer.message(message)), { history: format === "jsonl" });
    put(writer.end(count));
    flush();
    if (values.output !== undefined) console.error(`${channel}: ${count} message(s) written to ${values.output}`);
  } finally {
    if (fd !== 1) closeSync(fd);
  }
};
