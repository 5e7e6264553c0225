/** `gitchat serve`: the chat server, until SIGTERM or SIGINT. */
import { loadConfig } from "../config.ts";
import { defaultLog, openGitchat } from "../gitchat.ts";

export const serve = async () => {
  const config = loadConfig();
  const gitchat = await openGitchat(config);
  // idleTimeout closes connections that send nothing for a while (slow or stuck clients); live streams ping every 15 s.
  const server = gitchat.app.listen({
    port: config.port,
    hostname: config.host,
    maxRequestBodySize: 1024 * 1024,
    idleTimeout: config.idleTimeout,
  });
  const url = `http://${config.host.includes(":") ? `[${config.host}]` : config.host}:${server.server!.port}`;
  defaultLog(`gitchat listening on ${url} (data in ${config.dataDir})`);
  if (gitchat.sync) {
    defaultLog(`syncing with GitHub every ${config.github!.syncInterval} s`);
    gitchat.sync.start();
  }
  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    defaultLog(`${signal}: finishing pending writes and stopping`);
    await server.stop();
    await gitchat.close();
    process.exit(0);
  };
  process.on("SIGINT", () => void stop("SIGINT"));
  process.on("SIGTERM", () => void stop("SIGTERM"));
};
