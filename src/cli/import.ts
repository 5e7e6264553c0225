/**
 * `gitchat import slack EXPORT.zip [--channel NAME=owner/name ...]`: a Slack
 * workspace export into gitchat channels; `gitchat import mattermost
 * EXPORT.jsonl [--channel TEAM/NAME=owner/name ...]`: a Mattermost bulk
 * export. With no server running (it takes the data directory's lock). One
 * line per channel saying what was imported.
 */
import { parseArgs } from "node:util";
import type { Config } from "../config.ts";
import { ConfigError, DataDirLockedError } from "../errors.ts";
import { importMattermost, importSlack, type ImportReport } from "../gitchat.ts";
import { terminalProgress } from "./progress.ts";

export const IMPORT_USAGE = "usage: gitchat import slack EXPORT.zip | mattermost EXPORT.jsonl [--channel NAME=OWNER/NAME ...]";

export const importCommand = async (config: Config, argv: string[]) => {
  let parsed;
  try {
    parsed = parseArgs({ args: argv, allowPositionals: true, options: { channel: { type: "string", multiple: true } } });
  } catch (error) {
    throw new ConfigError(`${(error as Error).message}\n${IMPORT_USAGE}`);
  }
  const { values, positionals } = parsed;
  const kind = positionals[0];
  if (positionals.length !== 2 || (kind !== "slack" && kind !== "mattermost")) throw new ConfigError(IMPORT_USAGE);
  const mapping = new Map<string, string>();
  for (const pair of values.channel ?? []) {
    const match = /^([^=]+)=([^/=]+\/[^/=]+)$/.exec(pair);
    if (!match) {
      throw new ConfigError(
        `--channel takes NAME=OWNER/NAME (a channel of the export, TEAM/NAME for Mattermost, and the gitchat channel it goes into), not ${JSON.stringify(pair)}\n${IMPORT_USAGE}`,
      );
    }
    mapping.set(match[1]!, match[2]!);
  }
  let reports: ImportReport[];
  let direct = 0;
  try {
    if (kind === "slack") reports = await importSlack(config, positionals[1]!, mapping, (what) => terminalProgress(what));
    else ({ reports, direct } = await importMattermost(config, positionals[1]!, mapping, (what) => terminalProgress(what)));
  } catch (error) {
    if (error instanceof DataDirLockedError) throw new DataDirLockedError(`${error.message}: gitchat import writes the channels itself`);
    throw error;
  }
  for (const r of reports) {
    const skipped = Object.entries(r.skipped).map(([kind, n]) => `${n} ${kind}`);
    const carried = [r.replies ? `${r.replies} of them in threads` : "", r.edits ? `${r.edits} edit(s)` : "", r.reactions ? `${r.reactions} reaction(s)` : ""].filter(Boolean);
    const notes = [
      r.already ? `${r.already} already here` : "",
      skipped.length ? `left out: ${skipped.join(", ")}` : "",
      r.cut ? `${r.cut} cut to gitchat's 10,000 characters` : "",
      r.unthreaded ? `${r.unthreaded} repl(ies) whose thread is not in the export, kept as messages of the channel` : "",
      r.unlisted ? `${r.unlisted} reaction(s) ${kind === "slack" ? "Slack" : "Mattermost"} counted without saying whose` : "",
      r.tones ? `${r.tones} reaction(s) without their skin tone` : "",
    ].filter(Boolean);
    console.log(`${kind === "slack" ? "#" : ""}${r.source} -> ${r.channel}: ${r.imported} message(s) imported${carried.length ? `, ${carried.join(", ")}` : ""}${notes.length ? ` (${notes.join("; ")})` : ""}`);
  }
  if (direct > 0) console.log(`${direct} direct or group message(s) left out: they have no channel here`);
};
