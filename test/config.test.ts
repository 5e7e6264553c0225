import { expect, test } from "bun:test";
import { writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { loadConfig, loadDotenv } from "../src/config.ts";
import { ConfigError } from "../src/errors.ts";
import { tempDir } from "./support/tmp.ts";

test("with no settings gitchat serves localhost:8004 from ./data with a local default channel", () => {
  const config = loadConfig({});
  expect(config.port).toBe(8004);
  expect(config.host).toBe("localhost");
  expect(config.dataDir).toBe(resolve("data"));
  expect(config.defaultRepository).toEqual({ owner: "local", name: "general" });
});

test("PORT, HOST, DATA_DIR and the GitHub names change the defaults; REPOSITORY_NAME is an alias", () => {
  const config = loadConfig({ PORT: "9000", HOST: "127.0.0.1", DATA_DIR: "/tmp/x", GITHUB_USERNAME: "alice", REPOSITORY_NAME: "team" });
  expect(config).toMatchObject({ port: 9000, host: "127.0.0.1", dataDir: "/tmp/x", author: "alice" });
  expect(config.defaultRepository).toEqual({ owner: "alice", name: "team" });
  expect(loadConfig({ GITHUB_REPO_NAME: "a", REPOSITORY_NAME: "b" }).defaultRepository.name).toBe("a");
});

test("a bad PORT is refused with a message that names it and what to use", () => {
  for (const port of ["abc", "-1", "65536", "80.5", "1e3"]) {
    expect(() => loadConfig({ PORT: port })).toThrow(ConfigError);
    expect(() => loadConfig({ PORT: port })).toThrow(`PORT="${port}" is not valid`);
  }
});

test("a HOST with spaces or a URL in it is refused", () => {
  expect(() => loadConfig({ HOST: "http://example.com" })).toThrow(ConfigError);
  expect(() => loadConfig({ HOST: "my host" })).toThrow(ConfigError);
});

test("DURABILITY is full unless set to process; anything else is refused with the two levels named", () => {
  expect(loadConfig({}).durability).toBe("full");
  expect(loadConfig({ DURABILITY: "process" }).durability).toBe("process");
  expect(() => loadConfig({ DURABILITY: "fast" })).toThrow('DURABILITY="fast" is not valid: use full (survives power loss) or process (survives a crash only)');
});

test(".env values are taken literally, quoted or not, and the real environment wins over the file", () => {
  const dir = tempDir();
  writeFileSync(
    join(dir, ".env"),
    ["# a comment", "ACCESS_TOKEN=abc$HOMEXYZ123", "GITHUB_TOKEN='ghp_$USER${HOME}'", 'GITHUB_REPO_NAME="team"', "PORT=9000", "HOST=0.0.0.0 # beyond this machine", ""].join("\n"),
  );
  const env: Record<string, string | undefined> = { PORT: "7000" };
  loadDotenv(dir, env);
  expect(env).toEqual({ ACCESS_TOKEN: "abc$HOMEXYZ123", GITHUB_TOKEN: "ghp_$USER${HOME}", GITHUB_REPO_NAME: "team", PORT: "7000", HOST: "0.0.0.0" });
  // No .env at all is no error.
  const none: Record<string, string | undefined> = {};
  loadDotenv(tempDir(), none);
  expect(none).toEqual({});
});

test("TRUST_PROXY is off unless set to a yes; anything else is refused with a message naming it", () => {
  expect(loadConfig({}).trustProxy).toBe(false);
  for (const yes of ["true", "1", "yes", "on", "TRUE"]) expect(loadConfig({ TRUST_PROXY: yes }).trustProxy).toBe(true);
  for (const no of ["false", "0", "no", "off", ""]) expect(loadConfig({ TRUST_PROXY: no }).trustProxy).toBe(false);
  expect(() => loadConfig({ TRUST_PROXY: "maybe" })).toThrow('TRUST_PROXY="maybe" is not valid: use true or false');
});

test("PUBLIC_URL is an http(s) address without credentials, query or fragment; a trailing slash is dropped", () => {
  expect(loadConfig({}).publicUrl).toBeUndefined();
  expect(loadConfig({ PUBLIC_URL: "https://chat.example.com/" }).publicUrl).toBe("https://chat.example.com");
  expect(loadConfig({ PUBLIC_URL: "https://example.com/chat/" }).publicUrl).toBe("https://example.com/chat");
  for (const bad of ["chat.example.com", "ftp://chat.example.com", "https://user:pw@chat.example.com", "https://chat.example.com/?a=1"]) {
    expect(() => loadConfig({ PUBLIC_URL: bad })).toThrow(`PUBLIC_URL=${JSON.stringify(bad)} is not valid: use the address people open`);
  }
});

test("LOG_FORMAT is text unless set to json; anything else is refused naming it", () => {
  expect(loadConfig({}).logFormat).toBe("text");
  expect(loadConfig({ LOG_FORMAT: "json" }).logFormat).toBe("json");
  expect(loadConfig({ LOG_FORMAT: "JSON" }).logFormat).toBe("json");
  expect(() => loadConfig({ LOG_FORMAT: "xml" })).toThrow('LOG_FORMAT="xml" is not valid: use text or json');
});

test("Sign in with GitHub needs both GITHUB_CLIENT_ID and GITHUB_CLIENT_SECRET; GITHUB_ALLOWED_USERS holds logins", () => {
  expect(loadConfig({}).githubSignIn).toBeUndefined();
  expect(loadConfig({ GITHUB_CLIENT_ID: "Ov23liabc", GITHUB_CLIENT_SECRET: "s3cret", GITHUB_ALLOWED_USERS: " Ada, bo ,," }).githubSignIn).toEqual({
    clientId: "Ov23liabc",
    clientSecret: "s3cret",
    oauthUrl: "https://github.com",
    apiUrl: "https://api.github.com",
    allowedUsers: ["ada", "bo"],
  });
  expect(() => loadConfig({ GITHUB_CLIENT_ID: "Ov23liabc" })).toThrow("GITHUB_CLIENT_ID is set but GITHUB_CLIENT_SECRET is not");
  expect(() => loadConfig({ GITHUB_CLIENT_SECRET: "s3cret" })).toThrow("GITHUB_CLIENT_SECRET is set but GITHUB_CLIENT_ID is not");
  expect(() => loadConfig({ GITHUB_ALLOWED_USERS: "ada, not a login" })).toThrow('GITHUB_ALLOWED_USERS holds "not a login", which is not a GitHub login');
  expect(() => loadConfig({ GITHUB_CLIENT_ID: "a", GITHUB_CLIENT_SECRET: "b", GITHUB_OAUTH_URL: "ftp://x" })).toThrow("GITHUB_OAUTH_URL=");
});
