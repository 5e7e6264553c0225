/**
 * The server's log: one line per event on stdout, as text for people
 * (`2026-11-24T21:00:00.000Z warn: local/general: sync failed: ...`) or, with
 * LOG_FORMAT=json, one JSON object per line for log collectors:
 * `{"time", "level", "msg", ...fields}`. Levels are `info`, `warn` (something
 * an operator should look at; the server carries on) and `error` (a request
 * failed by our fault, or the data needs attention).
 *
 * Never a secret: no caller passes a token, a session id or a key, in the
 * message or a field (tests search the output for them in both formats).
 */
export type LogLevel = "info" | "warn" | "error";

export type LogFields = { level?: LogLevel } & Record<string, string | number | boolean | null | undefined>;

export type Log = (msg: string, fields?: LogFields) => void;

export type LogFormat = "text" | "json";

export const LOG_FORMATS: readonly LogFormat[] = ["text", "json"];

const stdout = (line: string) => void process.stdout.write(`${line}\n`);

export const createLog = (format: LogFormat, write: (line: string) => void = stdout): Log => {
  if (format === "json") {
    return (msg, { level = "info", ...fields } = {}) => write(JSON.stringify({ time: new Date().toISOString(), level, msg, ...fields }));
  }
  return (msg, { level = "info" } = {}) => write(`${new Date().toISOString()} ${level === "info" ? "" : `${level}: `}${msg}`);
};
