/**
 * `gitchat serve`: the chat server, until SIGTERM or SIGINT, which stop it
 * gracefully: no new requests, those in flight finished and answered (a
 * send being committed gets its 201), what GitHub lacks pushed, within
 * SHUTDOWN_MS; then it exits anyway, saying what was left.
 */
import { loadConfig } from "../config.ts";
import { openGitchat } from "../gitchat.ts";
import { createLog } from "../log.ts";
import { serverUrl } from "./client.ts";
import { MAX_UPLOAD_BYTES } from "../http/body.ts";

/** The longest a graceful stop may take (systemd's TimeoutStopSec defaults to 90 s; Docker waits 10 s). */
export const SHUTDOWN_MS = 10_000;

export const serve = async () => {
  const config = loadConfig();
  const log = createLog(config.logFormat);
  const gitchat = await openGitchat(config, log);
  // idleTimeout closes connections that send nothing for a while (slow or stuck clients); live streams ping every 15 s.
  const app = gitchat.app.listen({
    port: config.port,
    hostname: config.host,
    // The largest request a route takes: a message with files (each route caps its own body: http/body.ts).
    maxRequestBodySize: MAX_UPLOAD_BYTES,
    idleTimeout: config.idleTimeout,
  });
  const server = app.server!;
  const url = `http://${config.host.includes(":") ? `[${config.host}]` : config.host}:${server.port}`;
  // The CLI finds this server (and its control secret) in DATA_DIR/control.json, at an address it can reach.
  gitchat.listening(serverUrl({ host: config.host, port: server.port! }), server.port!);
  log(`gitchat listening on ${url} (data in ${config.dataDir})`, { url, dataDir: config.dataDir });
  if (gitchat.sync) {
    log(`syncing with GitHub every ${config.github!.syncInterval} s`);
    gitchat.sync.start();
  }

  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) {
      log(`${signal} again: stopping now, without waiting`, { level: "warn", signal });
      process.exit(1);
    }
    stopping = true;
    const started = performance.now();
    /** What is still to do, for the line said when time runs out. */
    let left = () => `${server.pendingRequests} request(s) still in flight`;
    log(`${signal}: stopping: no new requests; finishing those in flight${gitchat.sync ? " and pushing what GitHub lacks" : ""} (at most ${SHUTDOWN_MS / 1000} s)`, { signal });
    const deadline = setTimeout(() => {
      log(`${signal}: stopped after ${SHUTDOWN_MS / 1000} s without finishing: ${left()}`, { level: "warn", signal });
      process.exit(1);
    }, SHUTDOWN_MS);

    const listening = app.stop();
    gitchat.closeStreams();
    await listening;
    left = () => "messages still being committed";
    await gitchat.messages.settled();
    let pushed = "";
    let unpushed = 0;
    if (gitchat.sync) {
      left = () => "a sync with GitHub still under way";
      await gitchat.sync.stop();
      const reports = await gitchat.sync.pushPending((channels) => {
        left = () => `not yet pushed to GitHub: ${channels.join(", ")} (kept in git here; the next start pushes them)`;
      });
      const failed = reports.filter((r) => !r.success);
      unpushed = failed.length;
      pushed =
        reports.length === 0
          ? "; GitHub had everything"
          : `; pushed ${reports.length - failed.length} channel(s) to GitHub` +
            (failed.length ? `; not pushed (kept in git here; the next start pushes them): ${failed.map((r) => `${r.repository}: ${r.message}`).join("; ")}` : "");
    }
    left = () => "closing the data directory";
    await gitchat.close();
    clearTimeout(deadline);
    const seconds = Number(((performance.now() - started) / 1000).toFixed(1));
    log(`${signal}: stopped in ${seconds.toFixed(1)} s: every request answered${pushed}`, { level: unpushed ? "warn" : "info", signal, seconds });
    process.exit(0);
  };
  process.on("SIGINT", () => void stop("SIGINT"));
  process.on("SIGTERM", () => void stop("SIGTERM"));
};
