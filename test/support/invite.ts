/** Accounts for tests against a running server: an invite made by the ACCESS_TOKEN bearer. */
import { expect } from "bun:test";

/** The admin (the ACCESS_TOKEN bearer) adds a person; the invite link, on the address the browser uses (`base`). */
export const invite = async (base: string, accessToken: string, login: string, name: string) => {
  const response = await fetch(`${base}/users`, {
    method: "POST",
    headers: { authorization: `Bearer ${accessToken}`, "content-type": "application/json" },
    body: JSON.stringify({ login, name }),
  });
  expect(response.status).toBe(201);
  const { invite_url } = (await response.json()) as { invite_url: string };
  return `${base}${new URL(invite_url).pathname}`;
};
