import { expect, test } from "bun:test";
import { resolve } from "node:path";
import { loadConfig } from "../src/config.ts";
import { ConfigError } from "../src/errors.ts";

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
