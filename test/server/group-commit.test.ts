import { expect, test } from "bun:test";
import { startServer } from "../support/server.ts";
import { tempDir } from "../support/tmp.ts";

test("under 50 concurrent clients over HTTP, messages share commits and each caller gets the commit holding its own", async () => {
  const server = await startServer({ dataDir: tempDir() });
  try {
    const answers: { id: string; git_hash: string }[] = [];
    await Promise.all(
      Array.from({ length: 50 }, async (_, client) => {
        for (let i = 0; i < 10; i++) {
          const response = await fetch(`${server.url}/messages`, {
            method: "POST",
            headers: { "content-type": "application/json" },
            body: JSON.stringify({ content: `client ${client} message ${i}` }),
          });
          expect(response.status).toBe(201);
          answers.push((await response.json()) as { id: string; git_hash: string });
        }
      }),
    );
    const commits = new Set(answers.map((a) => a.git_hash));
    // One commit a message would be 500; group commit makes it far fewer.
    expect(commits.size).toBeLessThan(answers.length / 3);
    const listed = (await (await fetch(`${server.url}/messages?limit=1000`)).json()) as { id: string; git_hash: string }[];
    const byId = new Map(listed.map((m) => [m.id, m.git_hash]));
    for (const a of answers) expect(byId.get(a.id)).toBe(a.git_hash);
  } finally {
    await server.stop();
  }
}, 60_000);
