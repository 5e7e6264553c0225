/**
 * `gitchat users`: add, list and remove accounts, and make personal API
 * tokens, whether or not a server is running. With no server, this process
 * opens the data directory itself; when a server owns it, the work is handed
 * to that server over HTTP (as `push` does), with the control secret it wrote
 * into the data directory, so only one process ever writes the index.
 */
import { parseArgs } from "node:util";
import type { Actor, Role } from "../accounts/service.ts";
import type { Config } from "../config.ts";
import { ConfigError, DataDirLockedError } from "../errors.ts";
import { openAccounts } from "../gitchat.ts";
import { serverClient } from "./client.ts";

const USAGE = `usage: gitchat users add LOGIN [--name NAME] [--admin|--bot]
       gitchat users invite LOGIN
       gitchat users list
       gitchat users remove LOGIN
       gitchat users token LOGIN [--label LABEL]`;

const operator: Actor = { operator: true };

/**
 * The running server's JSON answer to a request made as the operator (the
 * CLI's client, with the control secret; see client.ts); undefined when it
 * answered with no body (a 204).
 */
const callServer = async (config: Config, method: string, path: string, body?: unknown): Promise<unknown> => {
  const text = await (await serverClient(config).call(method, path, { body })).text();
  return text ? JSON.parse(text) : undefined;
};

type UserLine = { login: string; name: string; role: Role };

/** The same four operations, done here or by the running server. */
type Backend = {
  add(input: { login: string; name?: string; role: Role }): Promise<UserLine & { invite_url: string | null }>;
  invite(login: string): Promise<string>;
  list(): Promise<UserLine[]>;
  remove(login: string): Promise<void>;
  token(login: string, label: string): Promise<string>;
  close(): void;
};

const localBackend = (config: Config): Backend => {
  const { accounts, close } = openAccounts(config);
  return {
    add: async (input) => {
      const { account, inviteUrl } = accounts.add(operator, input);
      return { login: account.login, name: account.name, role: account.role, invite_url: inviteUrl ?? null };
    },
    invite: async (login) => accounts.reinvite(operator, login),
    list: async () => accounts.list(),
    remove: async (login) => accounts.remove(operator, login),
    token: async (login, label) => accounts.createToken(operator, login, label).token,
    close,
  };
};

const serverBackend = (config: Config): Backend => ({
  add: async (input) => (await callServer(config, "POST", "/users", input)) as UserLine & { invite_url: string | null },
  invite: async (login) => ((await callServer(config, "POST", `/users/${encodeURIComponent(login)}/invite`)) as { invite_url: string }).invite_url,
  list: async () => (await callServer(config, "GET", "/users")) as UserLine[],
  remove: async (login) => void (await callServer(config, "DELETE", `/users/${encodeURIComponent(login)}`)),
  token: async (login, label) => ((await callServer(config, "POST", `/users/${encodeURIComponent(login)}/tokens`, { label })) as { token: string }).token,
  close: () => {},
});

export const users = async (config: Config, argv: string[]) => {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      options: { name: { type: "string" }, admin: { type: "boolean" }, bot: { type: "boolean" }, label: { type: "string" } },
    });
  } catch (error) {
    throw new ConfigError(`${(error as Error).message}\n${USAGE}`);
  }
  const { values, positionals } = parsed;
  const [action, login, ...extra] = positionals;
  const needsLogin = action === "add" || action === "invite" || action === "remove" || action === "token";
  if (!action || !["add", "invite", "list", "remove", "token"].includes(action) || (needsLogin && !login) || (!needsLogin && login) || extra.length > 0) {
    throw new ConfigError(USAGE);
  }
  if (values.admin && values.bot) throw new ConfigError(`--admin and --bot exclude each other\n${USAGE}`);

  let backend: Backend;
  try {
    backend = localBackend(config);
  } catch (error) {
    if (!(error instanceof DataDirLockedError)) throw error;
    backend = serverBackend(config);
  }
  try {
    switch (action) {
      case "add": {
        const role: Role = values.admin ? "admin" : values.bot ? "bot" : "member";
        const added = await backend.add({ login: login!, name: values.name, role });
        if (added.invite_url) {
          console.log(`added ${added.login} (${added.role}). Send them this invite link; it works once, within 24 hours:`);
          console.log(added.invite_url);
        } else {
          console.log(`added ${added.login} (bot). Make it a token: gitchat users token ${added.login}`);
        }
        return;
      }
      case "invite":
        console.log(`a new invite link for ${login!.toLowerCase()} (their earlier ones no longer work); it works once, within 24 hours:`);
        console.log(await backend.invite(login!));
        return;
      case "list": {
        const list = await backend.list();
        if (list.length === 0) console.log("no accounts yet: gitchat users add LOGIN --admin");
        const width = Math.max(5, ...list.map((u) => u.login.length));
        for (const u of list) console.log(`${u.login.padEnd(width)}  ${u.role.padEnd(6)}  ${u.name}`);
        return;
      }
      case "remove":
        await backend.remove(login!);
        console.log(`removed ${login!.toLowerCase()}: their sessions and tokens have ended; their messages keep their name`);
        return;
      case "token": {
        const token = await backend.token(login!, values.label ?? "");
        // The token alone on stdout, for scripts; the note on stderr.
        console.error(`a new personal API token for ${login!.toLowerCase()}; it is shown this once (send it as Authorization: Bearer <token>):`);
        console.log(token);
        return;
      }
    }
  } finally {
    backend.close();
  }
};
