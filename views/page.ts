/** The chat page and its fragments. Views get plain data and return HTML; they never query anything. */
import { actorOf, type MessageView } from "../src/messages/service.ts";
import type { ChannelMembers } from "../src/repositories/access.ts";
import { html, SafeHtml } from "./html.ts";
import { renderMessageWithMentions } from "./markdown.ts";
import { UNREAD_CAP } from "../src/messages/unread.ts";
import { channelPath } from "./paths.ts";
import { searchForm, searchPanel } from "./search.ts";
import { IMAGE_TYPES, MAX_FILE_BYTES, MAX_IMAGE_BYTES } from "../src/messages/rules.ts";

export type ChannelItem = {
  fullName: string;
  owner: string;
  name: string;
  /** Seen only by its members and admins. */
  private: boolean;
  sync: { enabled: boolean; unpushed: number; last_error: string | null };
  /** Messages the viewer has not read here (UNREAD_CAP means that many or more). */
  unread: number;
  /** Of those, the ones that mention the viewer. */
  mentions: number;
};

export type ChannelPage = {
  channel: ChannelItem;
  channels: ChannelItem[];
  messages: MessageView[];
  /** More, older messages exist before the first one shown. */
  hasOlder: boolean;
  cursor: number;
  syncEnabled: boolean;
  /** The logged-in name, when this gitchat needs its access token (the open local mode has one person, and no members page). */
  viewer?: string;
  /** Who reads: whom mentions highlight, which messages they may change. */
  reader: PageViewer;
  /** Links to the settings page (an account's) and the members page (an admin's). */
  links?: { settings: boolean; members: boolean };
  /** The viewer's place in this channel and how the page knows their messages and mentions (see `readingAttributes`). */
  reading: Reading;
};

/**
 * What the page script needs for unread and grouping: where unread started
 * for the viewer here when the page was made (the "New" divider goes before
 * the first later message; null: no divider), and who they are as a
 * message's author (`actorOf`: their own messages are not unread).
 */
export type Reading = { unreadAfter: string | null; me: string };

const readingAttributes = (r: Reading) =>
  html` data-last-read="${r.unreadAfter ?? ""}" data-me="${r.me}"`;


const exactTime = (iso: string) => iso.replace("T", " ").replace(/\.\d+Z$/, " UTC");

/**
 * Beside the author: "bot" for a bot account's message, "imported" for an
 * author brought from Slack or Mattermost (gitchat import: unverified), and a mark on a
 * message whose commit proves nothing (pushed around gitchat). Each is text a
 * screen reader reads, with a title that says what it means.
 */
const authorMarks = (m: MessageView) =>
  html`${m.bot ? html` <span class="badge bot" title="Sent by a bot account (a token of a bot, or an incoming webhook)">bot</span>` : ""}${
    importedFrom(m.author_id)
      ? html` <span class="badge imported" title="${imported(importedFrom(m.author_id)!)}">imported<span class="visually-hidden">: ${imported(importedFrom(m.author_id)!)}</span></span>`
      : ""
  }${
    m.verified
      ? ""
      : html` <span class="badge unverified" title="${UNVERIFIED}">unverified<span class="visually-hidden">: ${UNVERIFIED}</span></span>`
  }`;

/** Where an imported author came from (`gitchat import`), by their author id; undefined for anyone else. */
const importedFrom = (authorId: string | null) =>
  authorId?.startsWith("slack:") ? "Slack" : authorId?.startsWith("mattermost:") ? "Mattermost" : undefined;

export const imported = (from: string) => `imported from ${from}: the name is ${from}'s, and no account here vouches for it`;

export const IMPORTED = imported("Slack");

export const UNVERIFIED = "not signed by a known gitchat server: pushed around gitchat, so nobody can prove who wrote it";

/**
 * What the page groups messages by (one header for one author's run of
 * messages): the author's key; a message whose commit proves nothing is never
 * folded under another's header, so its mark always shows.
 */
const groupingAttributes = (m: MessageView) => html` data-author="${actorOf(m)}"${m.verified ? "" : html` data-unverified`}`;

/**
 * Who looks at the page: the login a mention names (lower case), and what
 * they may do to a message. An admin (the operator of the open local mode
 * among them) may edit and delete every message; anyone else their own.
 * `actor` names them as messages and reactions do (see actorOf).
 */
export type PageViewer = { login: string; admin: boolean; actor: string };

export const mayChange = (viewer: PageViewer, m: { author: string; author_id: string | null }) => viewer.admin || viewer.actor === actorOf(m);

const reactionChips = (m: MessageView, viewer: PageViewer) => {
  if (m.reactions.length === 0 || m.deleted) return "";
  return html`<div class="reactions" role="group" aria-label="Reactions">${m.reactions.map((r) => {
    const mine = r.user_ids.includes(viewer.actor);
    return html`<button type="button" class="reaction" data-emoji="${r.emoji}" aria-pressed="${mine ? "true" : "false"}" title="${r.users.join(", ")}" aria-label="${r.emoji} ${r.count}: ${r.users.join(", ")}${mine ? "; press to take yours back" : "; press to add yours"}"><span class="emoji">${r.emoji}</span> <span class="count">${r.count}</span></button>`;
  })}</div>`;
};

const repliesButton = (m: MessageView) =>
  !m.reply_to && m.reply_count > 0
    ? html`<button type="button" class="replies" data-thread="${m.id}">${m.reply_count} ${m.reply_count === 1 ? "reply" : "replies"}</button>`
    : "";

/**
 * One message. Its actions (copy link, copy commit, reply, react, edit,
 * delete) are behind one "More actions" button, built by the page script
 * from the data attributes: `data-can-change` offers edit and delete.
 * `prefix` names its element: `m-` in the channel, `t-` for the parent shown
 * again at the top of a thread. A reply that arrives carries its thread's
 * reply count as it is now (`threadCount`): the page shows it under the
 * parent, whose own arrival is not repeated for a reply.
 */
export const messageItem = (m: MessageView, viewer: PageViewer, prefix = "m-", threadCount?: number) => {
  const { html: body, mentions } = m.deleted ? { html: "", mentions: [] } : renderMessageWithMentions(m);
  const mentioned = mentions.includes(viewer.login);
  const classes = `message${mentioned ? " mentioned" : ""}${m.deleted ? " deleted" : ""}`;
  const editedAt = !m.deleted && m.edited_at ? m.edited_at : undefined;
  return html`<li class="${classes}" id="${prefix}${m.id}" data-id="${m.id}" data-cursor="${m.cursor}" data-hash="${m.git_hash}"${groupingAttributes(m)}${
    m.reply_to ? html` data-reply-to="${m.reply_to}"${threadCount === undefined ? "" : html` data-thread-count="${threadCount}"`}` : ""
  }${!m.deleted && mayChange(viewer, m) ? html` data-can-change` : ""}
  ><div class="meta"><span class="author">${m.author}</span>${authorMarks(m)} <time datetime="${m.timestamp}" title="${exactTime(m.timestamp)}">${exactTime(m.timestamp)}</time>${
    editedAt ? html` <span class="edited" data-edited="${editedAt}" title="Edited ${exactTime(editedAt)}">(edited)</span>` : ""
  }${mentioned ? html` <span class="badge mention-mark">mentions you</span>` : ""}<button type="button" class="more" aria-haspopup="menu" aria-expanded="false" aria-label="More actions">⋯</button></div
  >${m.deleted ? html`<div class="content" dir="auto"><p class="deleted-note">message deleted</p></div>` : html`<div class="content" dir="auto">${new SafeHtml(body)}</div>${attachmentList(m)}`}${reactionChips(m, viewer)}${repliesButton(m)}</li>`;
};

/** A file's size as people read it: 812 B, 4.2 KB, 3.1 MB. */
export const fileSize = (bytes: number) =>
  bytes < 1024 ? `${bytes} B` : bytes < 1024 * 1024 ? `${(bytes / 1024).toFixed(1)} KB` : `${(bytes / (1024 * 1024)).toFixed(1)} MB`;

/**
 * A message's files (issue 12): an image shown in the message, its size
 * bounded by the style sheet, opening whole in a new tab; any other file as a
 * download link with its name and size.
 */
const attachmentList = (m: MessageView) =>
  m.attachments.length === 0
    ? ""
    : html`<ul class="attachments">${m.attachments.map((a) =>
        IMAGE_TYPES.includes(a.type)
          ? html`<li><a class="attachment-image" href="${a.url}" target="_blank" rel="noopener"><img src="${a.url}" alt="${a.name}" loading="lazy"${a.width && a.height ? html` width="${a.width}" height="${a.height}"` : ""}></a></li>`
          : html`<li><a class="attachment-file" href="${a.url}" download="${a.name}"><span class="file-name">${a.name}</span> <span class="file-size">${fileSize(a.size)}</span></a></li>`,
      )}</ul>`;

/** The top of the list: loads older messages when scrolled into view. */
export const olderLoader = (channel: { owner: string; name: string }, before: string) =>
  html`<li id="older" class="older" hx-get="${channelPath(channel)}/messages?before=${before}" hx-trigger="intersect once" hx-swap="outerHTML"><span class="spinner" aria-hidden="true"></span> Loading older messages…</li>`;

/** Older messages, oldest first, with the next loader above them when there are more. */
export const olderFragment = (channel: { owner: string; name: string }, messages: MessageView[], hasOlder: boolean, viewer: PageViewer) =>
  html`${hasOlder && messages[0] ? olderLoader(channel, messages[0].id) : ""}${messages.map((m) => messageItem(m, viewer))}`;

/** The bottom of a window around an old message (a link to it): loads the messages after it when scrolled into view. */
export const newerLoader = (channel: { owner: string; name: string }, after: string) =>
  html`<li id="newer" class="older" hx-get="${channelPath(channel)}/messages?newer=${after}" hx-trigger="intersect once" hx-swap="outerHTML"><span class="spinner" aria-hidden="true"></span> Loading newer messages…</li>`;

/** Some of a channel's messages in time order, with a loader above when there are older ones and below when there are newer. */
export const windowFragment = (
  channel: { owner: string; name: string },
  window: { messages: MessageView[]; hasOlder?: boolean; hasNewer: boolean },
  viewer: PageViewer,
) => {
  const first = window.messages[0];
  const last = window.messages[window.messages.length - 1];
  return html`${window.hasOlder && first ? olderLoader(channel, first.id) : ""}${window.messages.map((m) => messageItem(m, viewer))}${window.hasNewer && last ? newerLoader(channel, last.id) : ""}`;
};

/** The poller asks every 2 s for what arrived after its cursor; it is replaced by one holding the new cursor. */
export const poller = (channel: { owner: string; name: string }, cursor: number) =>
  html`<div id="poller" hx-get="${channelPath(channel)}/messages?after=${cursor}" hx-trigger="every 2s" hx-swap="outerHTML"></div>`;

/** New arrivals (each a messageItem): a new poller, and the messages appended to the list out of band. */
export const arrivalsFragment = (channel: { owner: string; name: string }, items: SafeHtml[], cursor: number) =>
  html`${poller(channel, cursor)}${items.length ? appended(items) : ""}`;

/**
 * Messages (each a messageItem) appended to the list out of band. The page script puts each in
 * time order, drops repeats, puts a changed message (a newer cursor) in the
 * place of the old one, and moves replies to their thread.
 */
export const appended = (items: SafeHtml[]) => html`<ol hx-swap-oob="beforeend:#messages">${items}</ol>`;

const syncBadge = (c: ChannelItem) => {
  if (!c.sync.enabled) return html`<span class="badge local" title="Local only: set GITHUB_TOKEN to back up to GitHub">local</span>`;
  if (c.sync.last_error) return html`<span class="badge error" title="${c.sync.last_error}">error<span class="visually-hidden">: ${c.sync.last_error}</span></span>`;
  if (c.sync.unpushed > 0) return html`<span class="badge waiting" title="${c.sync.unpushed} commit(s) waiting to be pushed">${c.sync.unpushed} waiting</span>`;
  return html`<span class="badge ok" title="In sync with GitHub">in sync</span>`;
};

/** A private channel's mark: the symbol for the eye, its words for a screen reader. */
const lock = html`<svg class="lock" role="img" aria-label="Private channel" viewBox="0 0 16 16" width="12" height="12" fill="currentColor"><title>Private: only its members see it</title><path d="M4 7V5a4 4 0 1 1 8 0v2h1v8H3V7h1zm2 0h4V5a2 2 0 1 0-4 0v2z"/></svg>`;

/** The attach button's symbol (drawn, not an emoji: not every system has an emoji font); the button's label names it. */
const paperclip = html`<svg aria-hidden="true" focusable="false" viewBox="0 0 16 16" width="16" height="16" fill="none" stroke="currentColor" stroke-width="1.5" stroke-linecap="round"><path d="M10.5 4.5 5.4 9.6a1.5 1.5 0 0 0 2.1 2.1l5.3-5.3a3 3 0 0 0-4.2-4.2L3.3 7.5a4.5 4.5 0 0 0 6.4 6.4l4.1-4.1"/></svg>`;

/** A short fingerprint of what the list shows: a refresh that would change nothing is skipped. */
export const channelListVersion = (channels: ChannelItem[], current: string) =>
  new Bun.CryptoHasher("sha1").update(JSON.stringify([current, channels])).digest("hex").slice(0, 16);

/** Channels with unread messages first, each group in the order given; the sort is stable. */
export const unreadFirst = (channels: ChannelItem[]) => [...channels].sort((a, b) => Number(b.unread > 0) - Number(a.unread > 0));

/** "3", or "99+" at the cap. */
const unreadText = (n: number) => (n >= UNREAD_CAP ? `${UNREAD_CAP - 1}+` : String(n));

/**
 * A channel's name in the list: the owner dimmer and cut first, the name
 * itself prominent, so that a hundred channels of one owner do not all read
 * "acme-corpora…". The text stays "owner/name" for the filter and for screen readers.
 */
const channelName = (c: ChannelItem) =>
  html`<span class="name">${c.private ? lock : ""}<span class="owner">${c.owner}/</span><span class="repo">${c.name}</span></span>`;

const unreadCount = (c: ChannelItem) =>
  html`${c.mentions > 0 ? html`<span class="mention-count" title="You are mentioned">@<span class="visually-hidden"> mentioned you,</span></span> ` : ""}${
    c.unread > 0 ? html`<span class="count">${unreadText(c.unread)}<span class="visually-hidden"> unread</span></span> ` : ""
  }`;

export const channelList = (channels: ChannelItem[], current: string) =>
  html`<ul id="channel-list" class="channels" hx-get="/ui/channels?current=${current}&amp;version=${channelListVersion(channels, current)}" hx-trigger="every 5s, refresh-channels from:body" hx-swap="outerHTML">${unreadFirst(channels).map(
    (c) =>
      html`<li data-channel="${c.fullName}" data-unread="${c.unread}" data-mentions="${c.mentions}"><a href="${channelPath(c)}" title="${c.fullName}"${c.fullName === current ? html` aria-current="page"` : ""}${c.unread > 0 ? html` class="unread"` : ""}>${channelName(c)} ${unreadCount(c)}${syncBadge(c)}</a></li>`,
  )}</ul>`;

/**
 * Browser notifications for mentions are opt-in: this button asks for the
 * permission (never the page on load). Hidden until the page script knows the
 * browser has notifications; pressed while they are on.
 */
const notifyButton = html`<button type="button" id="notify" class="notify" aria-pressed="false" hidden>Notify me of @mentions</button>`;

/** htmx as every page has it; an account page also swaps in 4xx answers (a form with its error inline). */
const HTMX_CONFIG = '{"includeIndicatorStyles": false, "allowEval": false, "allowScriptTags": false, "selfRequestsOnly": true}';
const HTMX_CONFIG_FORMS =
  '{"includeIndicatorStyles": false, "allowEval": false, "allowScriptTags": false, "selfRequestsOnly": true, "responseHandling": [{"code": "204", "swap": false}, {"code": "[234]..", "swap": true}, {"code": "...", "swap": false, "error": true}]}';

export const layout = (title: string, body: SafeHtml, options: { forms?: boolean; refreshTo?: string } = {}) => html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="color-scheme" content="light dark">
<meta name="htmx-config" content="${options.forms ? HTMX_CONFIG_FORMS : HTMX_CONFIG}">
${options.refreshTo ? html`<meta http-equiv="refresh" content="0; url=${options.refreshTo}">
` : ""}<title>${title}</title>
<link rel="stylesheet" href="/assets/app.css">
<link rel="icon" href="/assets/icon.svg" type="image/svg+xml">
<link rel="manifest" href="/assets/manifest.webmanifest">
<script src="/assets/theme.js"></script>
<script src="/assets/htmx.min.js" defer></script>
<script src="/assets/sse.js" defer></script>
<script src="/assets/app.js" defer></script>
</head>
<body>
${body}
</body>
</html>`;

/**
 * The thread panel beside the channel: a message with its replies (fetched
 * when opened, kept live by the page script), and a composer that replies.
 */
const threadPanel = (path: string) => html`<aside id="thread" class="thread" aria-labelledby="thread-title" data-base="${path}" hidden>
    <header class="thread-head"><h2 id="thread-title">Thread</h2><button type="button" id="thread-close" class="icon" aria-label="Close the thread">×</button></header>
    <div id="thread-body" class="thread-body"></div>
    <form id="thread-composer" class="composer">
      <input type="hidden" name="reply_to" value="">
      <label for="thread-content" class="visually-hidden">Reply in this thread</label>
      <textarea id="thread-content" name="content" rows="1" required placeholder="Reply in this thread" aria-describedby="thread-error"></textarea>
      <button type="submit" class="send">Reply</button>
      <p id="thread-error" class="error" role="alert"></p>
    </form>
  </aside>`;

/** A thread as its panel shows it: the parent (under its own element id), then its replies, oldest first. */
export const threadFragment = (parent: MessageView, replies: MessageView[], viewer: PageViewer) =>
  html`<ol class="messages thread-parent" aria-label="The message">${messageItem(parent, viewer, "t-")}</ol><ol id="thread-replies" class="messages" data-thread="${parent.id}" aria-label="Replies" aria-live="polite" aria-relevant="additions">${replies.map((m) => messageItem(m, viewer))}</ol>`;

/** The editor that takes a message's place while it is edited: Enter saves, Escape cancels (the page script). */
export const messageEditor = (path: string, m: MessageView) =>
  html`<form class="editor" data-action="${path}/messages/${m.id}/edit"><label class="visually-hidden" for="edit-${m.id}">Edit the message</label><textarea id="edit-${m.id}" name="content" rows="2" required aria-describedby="edit-error-${m.id}">${m.content}</textarea><div class="row"><button type="submit" class="send">Save</button><button type="button" class="cancel">Cancel</button><span class="hint">Enter saves · Escape cancels</span></div><p class="error" id="edit-error-${m.id}" role="alert"></p></form>`;

export const chatPage = (page: ChannelPage) => {
  const { channel } = page;
  const path = channelPath(channel);
  return layout(
    `${channel.fullName} · gitchat`,
    html`<div class="app">
<nav id="sidebar" class="sidebar" aria-label="Channels">
  <div class="brand"><span class="logo" aria-hidden="true">⎇</span> gitchat
    <button type="button" id="theme-toggle" class="icon" aria-label="Switch between light and dark theme" title="Theme">◐</button></div>
  <h2 class="section">Channels</h2>
  <label for="channel-filter" class="visually-hidden">Find a channel</label>
  <input id="channel-filter" class="filter" type="search" placeholder="Find a channel (Ctrl+K)" autocomplete="off" aria-controls="channel-list">
  ${channelList(page.channels, channel.fullName)}
  ${page.links?.settings || page.links?.members
    ? html`<ul class="account-links">${page.links.settings ? html`<li><a href="/settings">Settings</a></li>` : ""}${page.links.members ? html`<li><a href="/members">Members</a></li>` : ""}</ul>`
    : ""}
  ${notifyButton}
  ${page.viewer ? html`<form method="post" action="/logout" class="viewer"><span>Signed in as <strong>${page.viewer}</strong></span> <button type="submit">Log out</button></form>` : ""}
  <form id="add-repository" class="add" hx-post="/ui/repositories" hx-target="#channel-list" hx-swap="outerHTML" hx-indicator="#add-spinner">
    <label for="new-repository">Add a channel</label>
    <div class="row"><input id="new-repository" name="repository" placeholder="owner/name" autocomplete="off" required pattern="[^\\/]+/[^\\/]+" aria-describedby="add-error">
    <button type="submit">Add</button><span id="add-spinner" class="htmx-indicator spinner" aria-hidden="true"></span></div>
    <div class="check"><input type="checkbox" id="new-private" name="private" value="on"><label for="new-private">Private: only people I add, and admins, see it</label></div>
    <p id="add-error" class="error" role="alert"></p>
  </form>
</nav>
<main class="chat" aria-labelledby="channel-title">
  <header class="topbar">
    <button type="button" id="menu" class="icon menu" aria-controls="sidebar" aria-expanded="false" aria-label="Show channels">☰</button>
    <h1 id="channel-title">${channel.private ? lock : ""}${channel.fullName}</h1>
    ${searchForm}
    ${page.viewer ? html`<a class="members-link" href="${path}/members">Members</a>` : ""}
    ${
      page.syncEnabled
        ? html`<button type="button" class="push" hx-post="/ui/push" hx-target="#push-result" hx-indicator="#push-spinner">Push now</button><span id="push-spinner" class="htmx-indicator spinner" aria-hidden="true"></span><span id="push-result" class="push-result" role="status"></span>`
        : ""
    }
  </header>
  ${searchPanel}
  <p id="connection" class="connection" role="status" hidden></p>
  <p id="announce" class="visually-hidden" role="status"></p>
  <p id="jump-status" class="connection" role="status" hidden></p>
  <div class="panes">
  <section id="log" class="log" aria-label="Messages in ${channel.fullName}">
    <ol id="messages" class="messages" aria-live="polite" aria-relevant="additions" data-cursor="${page.cursor}"${readingAttributes(page.reading)}>${page.hasOlder && page.messages[0] ? olderLoader(channel, page.messages[0].id) : ""}${page.messages.map((m) => messageItem(m, page.reader))}</ol>
    <p class="empty" id="empty"${page.messages.length ? html` hidden` : ""}>No messages in ${channel.fullName} yet. Say hello!</p>
  </section>
  ${threadPanel(path)}
  </div>
  <button type="button" id="new-marker" class="new-marker" hidden>New messages ↓</button>
  ${poller(channel, page.cursor)}
  <div id="live" hx-ext="sse" sse-connect="${path}/events?after=${page.cursor}" sse-swap="message" hx-target="#messages" hx-swap="beforeend"></div>
  <form id="composer" class="composer" hx-post="${path}/messages" hx-encoding="multipart/form-data" hx-swap="none" hx-sync="this:queue all"
    data-max-image="${MAX_IMAGE_BYTES}" data-max-file="${MAX_FILE_BYTES}" data-image-types="${IMAGE_TYPES.join(" ")}">
    <ul id="pending-files" class="pending-files" aria-label="Files to send with the message" hidden></ul>
    <label for="content" class="visually-hidden">Message ${channel.fullName}</label>
    <textarea id="content" name="content" rows="1" required placeholder="Message ${channel.fullName}. Enter sends, Shift+Enter adds a line" aria-describedby="composer-error"></textarea>
    <input type="file" id="file-input" multiple hidden>
    <button type="button" id="attach" class="attach" title="Attach files: or paste or drop them here" aria-label="Attach files">${paperclip}</button>
    <button type="submit" class="send">Send</button>
    <p id="composer-error" class="error" role="alert"></p>
  </form>
</main>
</div>`,
  );
};

/**
 * The sign-in page: login and password once this gitchat has accounts;
 * before that, with ACCESS_TOKEN set, the shared token and a name to write under.
 */
export const loginPage = (form: { accounts: boolean; name: string; next: string; error?: string; github?: boolean }) =>
  layout(
    "Log in · gitchat",
    html`<main class="login">
  <h1><span class="logo" aria-hidden="true">⎇</span> gitchat</h1>
  <form method="post" action="/login" class="login-form">
    <input type="hidden" name="next" value="${form.next}">
    ${form.accounts
      ? html`<label for="login-login">Login</label>
    <input id="login-login" name="login" value="${form.name}" required maxlength="39" autocomplete="username" autocapitalize="none" autofocus>
    <label for="login-password">Password</label>
    <input id="login-password" name="password" type="password" required autocomplete="current-password">`
      : html`<label for="login-name">Your name</label>
    <input id="login-name" name="name" value="${form.name}" required maxlength="64" autocomplete="nickname" autofocus>
    <label for="login-token">Access token</label>
    <input id="login-token" name="token" type="password" required autocomplete="current-password">`}
    <button type="submit" class="send">Log in</button>
    <p class="error" role="alert">${form.error ?? ""}</p>
  </form>
  ${form.github ? html`<p class="or">or</p><a class="github-sign-in" href="/login/github?next=${encodeURIComponent(form.next)}">Sign in with GitHub</a>` : ""}
</main>`,
  );

/**
 * Signed in by GitHub: this page moves on to `next` itself. A redirect would
 * not do: it continues the navigation GitHub's page started, another site,
 * so the browser would not send the new (SameSite=Strict) session cookie
 * with it; a navigation from this page is this site's own.
 */
export const signedInPage = (name: string, next: string) =>
  layout(
    "Signed in · gitchat",
    html`<main class="login"><h1><span class="logo" aria-hidden="true">⎇</span> gitchat</h1><p>Signed in as <strong>${name}</strong>.</p><p><a href="${next}">Continue to the chat</a></p></main>`,
    { refreshTo: next },
  );

/** Why a GitHub sign-in did not sign anyone in, and the way back. */
export const signInRefusedPage = (reason: string) =>
  layout(
    "Not signed in · gitchat",
    html`<main class="login"><h1><span class="logo" aria-hidden="true">⎇</span> gitchat</h1><h2>Not signed in</h2><p class="refusal" role="alert">${reason}</p><p><a href="/login">Back to sign in</a></p></main>`,
  );

/** An invite link's page: the invited person sets their password, and is then signed in. */
export const invitePage = (form: { login: string; name: string; action: string; minPassword: number; error?: string }) =>
  layout(
    "Welcome · gitchat",
    html`<main class="login">
  <h1><span class="logo" aria-hidden="true">⎇</span> gitchat</h1>
  <p>Welcome, <strong>${form.name}</strong>. Choose a password to sign in as <strong>${form.login}</strong>.</p>
  <form method="post" action="${form.action}" class="login-form">
    <input type="hidden" name="login" value="${form.login}" autocomplete="username">
    <label for="invite-password">Password (at least ${form.minPassword} characters)</label>
    <input id="invite-password" name="password" type="password" required minlength="${form.minPassword}" autocomplete="new-password" autofocus>
    <button type="submit" class="send">Set password and sign in</button>
    <p class="error" role="alert">${form.error ?? ""}</p>
  </form>
</main>`,
  );

/**
 * Who sees a channel, and for those who may choose (admins, its creator) a
 * form to add a member and a button to remove each one. Plain forms that work
 * without script; htmx swaps the panel in place.
 */
export const membersPanel = (channel: { owner: string; name: string; fullName: string }, members: ChannelMembers, error = "") => {
  const path = `${channelPath(channel)}/members`;
  const swap = html` hx-target="#members-panel" hx-swap="outerHTML"`;
  return html`<section id="members-panel" class="members-panel" aria-labelledby="members-title">
  <h1 id="members-title">${members.private ? lock : ""}Members of ${channel.fullName}</h1>
  <p>${members.private
    ? html`Private: only these people and admins see this channel.${members.creator ? html` Created by <strong>${members.creator}</strong>.` : ""}`
    : html`Public: everyone with an account here sees this channel.`}</p>
  <ul class="member-list">${members.members.map(
    (m) => html`<li><span class="member-name">${m.name}</span> <span class="member-login">${m.login}</span>${m.role !== "member" ? html` <span class="badge local">${m.role}</span>` : ""}${
      members.canManage && m.login !== members.creator
        ? html` <form method="post" action="${path}/remove" hx-post="${path}/remove"${swap} class="inline"><input type="hidden" name="login" value="${m.login}"><button type="submit" aria-label="Remove ${m.login} from ${channel.fullName}">Remove</button></form>`
        : ""
    }</li>`,
  )}</ul>
  ${members.canManage
    ? html`<form method="post" action="${path}" hx-post="${path}"${swap} class="add">
    <label for="member-login">Add a member by login</label>
    <div class="row"><input id="member-login" name="login" required maxlength="39" autocomplete="off" autocapitalize="none" aria-describedby="member-error"><button type="submit">Add</button></div>
  </form>`
    : ""}
  ${members.canChangeVisibility
    ? html`<form method="post" action="${channelPath(channel)}/visibility" hx-post="${channelPath(channel)}/visibility"${swap} class="visibility">
    <input type="hidden" name="private" value="${members.private ? "false" : "true"}">
    <button type="submit">${members.private ? "Make public: everyone sees it" : "Make private: only its members and admins see it"}</button>
  </form>`
    : ""}
  <p id="member-error" class="error" role="alert">${error}</p>
</section>`;
};

export const membersPage = (channel: { owner: string; name: string; fullName: string }, members: ChannelMembers, error = "") =>
  layout(
    `Members of ${channel.fullName} · gitchat`,
    html`<main class="members-page">${membersPanel(channel, members, error)}<p><a href="${channelPath(channel)}">Back to ${channel.fullName}</a></p></main>`,
  );

export const notFoundPage = (what: string) =>
  layout("Not found · gitchat", html`<main class="notfound"><h1>Not found</h1><p>${what}</p><p><a href="/">Back to the chat</a></p></main>`);
