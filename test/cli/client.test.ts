/** Where `send`, `tail`, `push` and `pull` look for the running server: HOST and PORT as this machine reaches them. */
import { expect, test } from "bun:test";
import { serverUrl } from "../../src/cli/client.ts";

test("the CLI reaches a server at HOST:PORT, and one listening on every address on loopback", () => {
  expect(serverUrl({ host: "localhost", port: 8004 })).toBe("http://localhost:8004");
  expect(serverUrl({ host: "192.168.1.20", port: 9000 })).toBe("http://192.168.1.20:9000");
  expect(serverUrl({ host: "0.0.0.0", port: 8004 })).toBe("http://127.0.0.1:8004");
  expect(serverUrl({ host: "::", port: 8004 })).toBe("http://[::1]:8004");
  expect(serverUrl({ host: "::1", port: 8004 })).toBe("http://[::1]:8004");
  expect(serverUrl({ host: "[::1]", port: 8004 })).toBe("http://[::1]:8004");
});
