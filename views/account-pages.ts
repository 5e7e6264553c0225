/**
 * The account pages: settings (everyone's own name, password, personal API
 * tokens and signed-in browsers) and members (an admin's list of people and
 * bots). Plain forms that work without script; htmx (`hx-boost`) posts them
 * in place, and an error comes back as the page with the message beside its
 * form. Views get plain data and never query anything.
 */
import { html, type SafeHtml } from "./html.ts";
import { layout } from "./page.ts";

export type AccountView = { login: string; name: string; role: "member" | "admin" | "bot"; createdAt: number };
export type TokenView = { id: string; label: string; createdAt: number; lastUsedAt: number | null };
export type SessionView = { id: string; lastSeenAt: number; createdAt: number; userAgent: string; address: string; current: boolean };

/** Which form an error or a notice belongs to. */
export type SettingsForm = "name" | "password" | "tokens" | "sessions";

export type SettingsPage = {
  /** The signed-in account (`github`: made by GitHub sign-in, with no password here); absent for the operator (signed in with ACCESS_TOKEN), who has none. */
  account?: AccountView & { github: boolean };
  tokens: TokenView[];
  sessions: SessionView[];
  /** A token just made: shown this once. */
  newToken?: { label: string; token: string };
  error?: { form: SettingsForm; message: string };
  notice?: { form: SettingsForm; message: string };
  admin: boolean;
  minPassword: number;
};

export type MembersPage = {
  accounts: AccountView[];
  /** The admin looking at the page (none for the operator). */
  self?: string;
  /** An invite link just made, to copy: shown this once. */
  invite?: { login: string; url: string };
  error?: { form: string; message: string };
  notice?: string;
};

const when = (ms: number) => new Date(ms).toISOString().replace("T", " ").replace(/:\d\d\.\d+Z$/, " UTC");

const errorFor = (error: { form: string; message: string } | undefined, form: string, id: string) =>
  html`<p id="${id}" class="error" role="alert">${error?.form === form ? error.message : ""}</p>`;
const noticeFor = (notice: { form: string; message: string } | undefined, form: string) =>
  notice?.form === form ? html`<p class="notice" role="status">${notice.message}</p>` : "";

/** The frame of an account page: a way back to the chat, the page's title, its sections. */
const accountLayout = (title: string, heading: string, links: { settings: boolean; members: boolean }, body: SafeHtml) =>
  layout(
    `${title} · gitchat`,
    html`<div class="account-page" hx-boost="true" hx-push-url="false">
<nav class="account-nav" aria-label="Pages">
  <a href="/"><span class="logo" aria-hidden="true">⎇</span> Back to the chat</a>
  ${links.settings ? html`<a href="/settings"${title === "Settings" ? html` aria-current="page"` : ""}>Settings</a>` : ""}
  ${links.members ? html`<a href="/members"${title === "Members" ? html` aria-current="page"` : ""}>Members</a>` : ""}
</nav>
<main class="account" aria-labelledby="page-title">
<h1 id="page-title">${heading}</h1>
${body}
</main>
</div>`,
    { forms: true },
  );

export const settingsPage = (page: SettingsPage) => {
  const links = { settings: true, members: page.admin };
  if (!page.account) {
    return accountLayout(
      "Settings",
      "Settings",
      links,
      html`<p>You are this gitchat's operator (signed in with its access token, or in the open local mode): there is no account to change. An admin invites people from the <a href="/members">members page</a>.</p>`,
    );
  }
  const { account } = page;
  return accountLayout(
    "Settings",
    "Settings",
    links,
    html`<section aria-labelledby="name-title">
  <h2 id="name-title">Display name</h2>
  <form method="post" action="/settings/name" class="stack">
    <label for="settings-name">Name your messages are written under (login <strong>${account.login}</strong>)</label>
    <input id="settings-name" name="name" value="${account.name}" required maxlength="64" autocomplete="name" aria-describedby="name-error">
    <button type="submit">Save name</button>
    ${errorFor(page.error, "name", "name-error")}${noticeFor(page.notice, "name")}
  </form>
</section>
<section aria-labelledby="password-title">
  <h2 id="password-title">Password</h2>
  ${account.role === "bot" || account.github
    ? html`<p>${account.github ? "You sign in with GitHub: there is no password here." : "A bot signs in with tokens only."}</p>`
    : html`<form method="post" action="/settings/password" class="stack">
    <input type="hidden" name="login" value="${account.login}" autocomplete="username">
    <label for="settings-current">Current password</label>
    <input id="settings-current" name="current" type="password" required autocomplete="current-password" aria-describedby="password-error">
    <label for="settings-password">New password (at least ${page.minPassword} characters)</label>
    <input id="settings-password" name="password" type="password" required minlength="${page.minPassword}" autocomplete="new-password" aria-describedby="password-error">
    <button type="submit">Change password</button>
    <p class="hint">Changing it signs out every other browser.</p>
    ${errorFor(page.error, "password", "password-error")}${noticeFor(page.notice, "password")}
  </form>`}
</section>
<section aria-labelledby="tokens-title">
  <h2 id="tokens-title">Personal API tokens</h2>
  <p class="hint">Send one as <code>Authorization: Bearer &lt;token&gt;</code> to use the API as yourself.</p>
  ${page.newToken
    ? html`<div class="new-secret" role="status">
    <label for="new-token">New token${page.newToken.label ? html` “${page.newToken.label}”` : ""}: copy it now, it is not shown again</label>
    <div class="row"><input id="new-token" value="${page.newToken.token}" readonly><button type="button" class="copy-field" data-copy-field="new-token">Copy</button></div>
  </div>`
    : ""}
  <table class="list" id="tokens">
    <caption class="visually-hidden">Your tokens</caption>
    <thead><tr><th scope="col">Label</th><th scope="col">Created</th><th scope="col">Last used</th><th scope="col"><span class="visually-hidden">Actions</span></th></tr></thead>
    <tbody>${page.tokens.length === 0
      ? html`<tr><td colspan="4" class="hint">No tokens yet.</td></tr>`
      : page.tokens.map(
          (tk) => html`<tr data-token="${tk.id}"><td>${tk.label || html`<span class="hint">(no label)</span>`}</td><td>${when(tk.createdAt)}</td><td>${tk.lastUsedAt === null ? "never" : when(tk.lastUsedAt)}</td>
      <td><form method="post" action="/settings/tokens/${tk.id}/revoke"><button type="submit" aria-label="Revoke token ${tk.label || tk.id}">Revoke</button></form></td></tr>`,
        )}</tbody>
  </table>
  <form method="post" action="/settings/tokens" class="row-form">
    <label for="token-label">Label</label>
    <input id="token-label" name="label" maxlength="100" placeholder="what it is for" aria-describedby="tokens-error">
    <button type="submit">Create token</button>
  </form>
  ${errorFor(page.error, "tokens", "tokens-error")}${noticeFor(page.notice, "tokens")}
</section>
<section aria-labelledby="sessions-title">
  <h2 id="sessions-title">Signed-in browsers</h2>
  <table class="list" id="sessions">
    <caption class="visually-hidden">Your sessions</caption>
    <thead><tr><th scope="col">Browser</th><th scope="col">Address</th><th scope="col">Last seen</th><th scope="col"><span class="visually-hidden">Actions</span></th></tr></thead>
    <tbody>${page.sessions.map(
      (s) => html`<tr data-session="${s.id}"><td class="agent">${s.userAgent || "unknown"}</td><td>${s.address}</td><td>${when(s.lastSeenAt)}</td>
      <td>${s.current
        ? html`<strong>This browser</strong>`
        : html`<form method="post" action="/settings/sessions/${s.id}/end"><button type="submit" aria-label="Sign out the browser last seen ${when(s.lastSeenAt)} from ${s.address}">Sign out</button></form>`}</td></tr>`,
    )}</tbody>
  </table>
  ${errorFor(page.error, "sessions", "sessions-error")}${noticeFor(page.notice, "sessions")}
</section>`,
  );
};

export const membersPage = (page: MembersPage) =>
  accountLayout(
    "Members",
    "Members",
    { settings: true, members: true },
    html`<section aria-labelledby="invite-title">
  <h2 id="invite-title">Invite a person</h2>
  ${page.invite
    ? html`<div class="new-secret" role="status">
    <label for="invite-link">Invite link for ${page.invite.login} (valid 24 hours, used once): send it to them</label>
    <div class="row"><input id="invite-link" value="${page.invite.url}" readonly><button type="button" class="copy-field" data-copy-field="invite-link">Copy</button></div>
  </div>`
    : ""}
  <form method="post" action="/members" class="row-form">
    <label for="invite-login">Login</label>
    <input id="invite-login" name="login" required maxlength="39" autocapitalize="none" autocomplete="off" aria-describedby="invite-error">
    <label for="invite-name">Name</label>
    <input id="invite-name" name="name" maxlength="64" autocomplete="off" aria-describedby="invite-error">
    <label class="check"><input type="checkbox" name="admin" value="1"> Admin</label>
    <button type="submit">Invite</button>
  </form>
  ${errorFor(page.error, "invite", "invite-error")}
</section>
<section aria-labelledby="people-title">
  <h2 id="people-title">People and bots</h2>
  ${page.notice ? html`<p class="notice" role="status">${page.notice}</p>` : ""}
  ${errorFor(page.error, "people", "people-error")}
  <table class="list" id="members">
    <caption class="visually-hidden">Accounts</caption>
    <thead><tr><th scope="col">Login</th><th scope="col">Name</th><th scope="col">Role</th><th scope="col">Since</th><th scope="col"><span class="visually-hidden">Actions</span></th></tr></thead>
    <tbody>${page.accounts.map((a) => memberRow(a, page.self))}</tbody>
  </table>
</section>`,
  );

const memberRow = (a: AccountView, self: string | undefined) => {
  const base = `/members/${encodeURIComponent(a.login)}`;
  const person = a.role !== "bot";
  return html`<tr data-login="${a.login}"><td>${a.login}${a.login === self ? html` <span class="hint">(you)</span>` : ""}</td><td>${a.name}</td><td class="role">${a.role}</td><td>${when(a.createdAt)}</td>
  <td class="actions">${person
    ? html`<form method="post" action="${base}/role"><input type="hidden" name="role" value="${a.role === "admin" ? "member" : "admin"}"><button type="submit">${a.role === "admin" ? "Make member" : "Make admin"}</button></form>
    <form method="post" action="${base}/invite"><button type="submit" aria-label="New invite link for ${a.login}">New invite link</button></form>`
    : ""}
    <details class="confirm"><summary>Remove…</summary>
      <form method="post" action="${base}/remove"><p>${a.login}'s sessions and tokens end at once; their messages stay, under their name.</p><button type="submit" class="danger">Remove ${a.login}</button></form>
    </details></td></tr>`;
};
