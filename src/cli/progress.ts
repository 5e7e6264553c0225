/**
 * Progress of long commands on the terminal (`rebuild`, `verify`, a first
 * `pull`): a count, a rate and an estimate, redrawn in place on stderr about
 * once a second. Only when stderr is a terminal: piped or logged output
 * (cron, CI, a service manager) gets no progress lines at all.
 *
 * The work it follows runs in long synchronous stretches (reading git,
 * writing SQLite), where timers do not fire: so the work reports each step,
 * and the line is redrawn from there when a second has passed.
 */
import type { ProgressSink } from "../messages/service.ts";

const number = (n: number) => Math.round(n).toLocaleString("en-US");

const duration = (seconds: number) => {
  if (seconds < 60) return `${Math.max(1, Math.round(seconds))} s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return `${minutes} min ${Math.round(seconds % 60)} s`;
  return `${Math.floor(minutes / 60)} h ${minutes % 60} min`;
};

/**
 * One progress line, e.g. `local/general: indexing 120,000 of 1,000,000
 * messages, 40,000/s, about 22 s left`. Without a total (or past it) there
 * is no estimate; without elapsed time, no rate.
 */
export const formatProgress = (what: string, done: number, total: number | undefined, elapsedMs: number, unit = "messages") => {
  const rate = elapsedMs > 0 ? (done * 1000) / elapsedMs : 0;
  const parts = [`${what} ${number(done)}${total !== undefined ? ` of ${number(total)}` : ""} ${unit}`];
  if (rate > 0) parts.push(`${number(rate)}/s`);
  if (rate > 0 && total !== undefined && total > done) parts.push(`about ${duration((total - done) / rate)} left`);
  return parts.join(", ");
};

/** How often the line is redrawn. */
const EVERY_MS = 1000;

/**
 * A progress line for `what` (e.g. "local/general: indexing"), counting
 * `unit`, or undefined when `stream` is not a terminal. Nothing is drawn
 * before a first second has passed, so quick work prints nothing.
 */
export const terminalProgress = (
  what: string,
  stream: { isTTY?: boolean; write(text: string): unknown } = process.stderr,
  unit = "messages",
): ProgressSink | undefined => {
  if (!stream.isTTY) return undefined;
  const started = performance.now();
  let shownAt = started;
  let drawn = false;
  return {
    update(done, total) {
      const now = performance.now();
      if (now - shownAt < EVERY_MS) return;
      shownAt = now;
      drawn = true;
      // \r and "erase to end of line": the line is redrawn in place.
      stream.write(`\r${formatProgress(what, done, total, now - started, unit)}\x1b[K`);
    },
    end() {
      if (drawn) stream.write("\r\x1b[K");
    },
  };
};
