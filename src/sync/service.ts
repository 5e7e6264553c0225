/**
 * Keeps every channel in step with its GitHub repository: makes sure the
 * repository exists, pushes soon after each commit (debounced), pulls on an
 * interval, merges what others pushed and indexes it, and backs off while
 * GitHub or the network fail. One sync at a time per channel; every change
 * to the channel's git repository goes through its store's single writer.
 */
import { AppError, PushRejectedError, RemoteNotFoundError, RemoteUnavailableError } from "../errors.ts";
import type { MessageDatabase } from "../db/database.ts";
import { commitsBetween } from "../git/history.ts";
import { SmartHttpRemote } from "../git/smart-http.ts";
import { fetchChannel, mergeRemote, pushChannel } from "../git/transfer.ts";
import type { GitHub } from "../github/client.ts";
import type { Log } from "../log.ts";
import type { Metrics } from "../metrics.ts";
import type { MessageService } from "../messages/service.ts";
import type { Channel, RepositoryService } from "../repositories/service.ts";

export type SyncSettings = {
  token: string;
  gitUrl: string;
  /** Milliseconds between pulls. */
  intervalMs: number;
  /** Milliseconds to wait after a commit before pushing, so that a burst goes in one push. */
  debounceMs?: number;
  /** Longest wait between retries after failures. */
  maxBackoffMs?: number;
};

export type ChannelSyncView = {
  enabled: boolean;
  remote: string | null;
  /** Commits on `main` that the remote does not have yet (capped at 10,000). */
  unpushed: number;
  last_push_at: string | null;
  last_pull_at: string | null;
  last_error: string | null;
  last_error_at: string | null;
};

export type PushReport = { repository: string; success: boolean; pushed: number; message: string };

/** Unpushed commits are counted up to this many (the page shows "10000 waiting"). */
const UNPUSHED_CAP = 10_000;

const describe = (error: unknown) =>
  error instanceof AppError ? error.message : `unexpected failure: ${error instanceof Error ? error.message : String(error)}`;

/** Up to `max` items joined, and how many more there are. */
const listed = (items: readonly string[], max: number) =>
  `${items.slice(0, max).join("; ")}${items.length > max ? `; and ${items.length - max} more` : ""}`;

class ChannelSync {
  private running: Promise<void> = Promise.resolve();
  private pushTimer: ReturnType<typeof setTimeout> | undefined;
  private retryTimer: ReturnType<typeof setTimeout> | undefined;
  private failures = 0;
  /** What the pulls of the sync under way found that an operator should see (shown in `last_error`). */
  private notes: string[] = [];
  private ready = false;
  private stopped = false;
  /** The unpushed count, and the `main` and remote head it was taken at (see recount). */
  private count: { head: string | undefined; remote: string | undefined; unpushed: number } | undefined;
  private counting: Promise<void> = Promise.resolve();
  /** The remote head last merged into `main` (or found in it) by this process. */
  private merged: string | undefined;
  readonly remote: SmartHttpRemote;

  constructor(
    readonly channel: Channel,
    private readonly owner: SyncService,
  ) {
    this.remote = new SmartHttpRemote(`${owner.settings.gitUrl}/${channel.owner}/${channel.name}.git`, {
      token: owner.settings.token,
      label: channel.fullName,
    });
  }

  /** Runs `work` after any sync of this channel already under way. */
  private serial<T>(work: () => Promise<T>): Promise<T> {
    const run = this.running.then(work);
    this.running = run.then(
      () => undefined,
      () => undefined,
    );
    return run;
  }

  schedulePush() {
    if (this.stopped || this.pushTimer) return;
    this.pushTimer = setTimeout(() => {
      this.pushTimer = undefined;
      void this.sync("push").catch(() => {});
    }, this.owner.settings.debounceMs ?? 500);
  }

  /**
   * Pull, merge, index; then push what the remote lacks. Records the outcome
   * (a success that found something to report, such as quarantined files,
   * leaves that as a note in `last_error`); throws on failure.
   */
  sync(kind: "push" | "pull" | "both" = "both"): Promise<{ pushed: number; note: string | undefined }> {
    return this.serial(async () => {
      this.notes = [];
      try {
        if (!this.ready) await this.setUp();
        let pushed = 0;
        if (kind !== "push") await this.pull();
        if (kind !== "pull") pushed = await this.push();
        this.failures = 0;
        const note = this.notes.length > 0 ? this.notes.join("; ") : undefined;
        if (note) this.owner.db.recordSync(this.channel.id, { kind: "error", at: new Date().toISOString(), message: note });
        return { pushed, note };
      } catch (error) {
        this.failed(error);
        throw error;
      } finally {
        // A pull or a push moved `main` or the remote's head (or, failing, left them): count now, not on the next listing.
        await this.recount().catch(() => {});
      }
    });
  }

  private async setUp() {
    await this.owner.ensureRemoteRepository(this.channel);
    this.ready = true;
  }

  private async pull() {
    const fetched = await fetchChannel(this.channel.store, this.remote);
    // A remote head already merged into `main` (which only moves forward) needs no look at the history.
    if (fetched.remoteHead && fetched.remoteHead !== this.merged) {
      const merged = await mergeRemote(this.channel.store, fetched.remoteHead, Date.now(), fetched);
      this.merged = fetched.remoteHead;
      for (const path of merged.conflicts) {
        this.owner.log(`${this.channel.fullName}: ${path} differs between this server and the remote; both versions are kept`, {
          level: "warn",
          channel: this.channel.fullName,
        });
      }
      if (merged.notKept.length > 0) {
        // notKept stops at ten: name a few, without claiming a count.
        const some = `${merged.notKept.slice(0, 3).join("; ")}${merged.notKept.length > 3 ? "; ..." : ""}`;
        const note = `the remote's history dropped or changed file(s) this server holds (${some}); merged so that they are kept`;
        this.notes.push(note);
        this.owner.log(`${this.channel.fullName}: ${note}`, { level: "warn", channel: this.channel.fullName });
      }
      if (merged.outcome !== "up-to-date") {
        const report = await this.owner.messages.index(this.channel);
        if (report.indexed > 0) this.owner.log(`${this.channel.fullName}: ${report.indexed} message(s) pulled`, { channel: this.channel.fullName, count: report.indexed });
        this.owner.metrics?.pulled(report.indexed);
        for (const problem of report.problems) this.owner.log(`${this.channel.fullName}: ${problem}`, { level: "warn", channel: this.channel.fullName });
        if (report.quarantined.length > 0) {
          const files = report.quarantined.map((f) => `${f.path}: ${f.reason}`);
          this.notes.push(
            `${report.quarantined.length} message file(s) from the remote were quarantined: ${listed(files, 10)}; see gitchat verify`,
          );
        }
      }
    }
    this.owner.db.recordSync(this.channel.id, { kind: "pull", at: new Date().toISOString() });
  }

  private async push() {
    let pushed = 0;
    for (let attempt = 0; ; attempt++) {
      try {
        pushed += (await pushChannel(this.channel.store, this.remote)).commits;
        break;
      } catch (error) {
        // Another server pushed first: take its messages, then push the union.
        if (!(error instanceof PushRejectedError) || attempt >= 4) throw error;
        await this.pull();
      }
    }
    this.owner.db.recordSync(this.channel.id, { kind: "push", at: new Date().toISOString() });
    return pushed;
  }

  private failed(error: unknown) {
    const message = describe(error);
    // What a pull found before the failure is not lost behind it.
    const shown = [message, ...this.notes].join("; ");
    this.owner.db.recordSync(this.channel.id, { kind: "error", at: new Date().toISOString(), message: shown });
    this.owner.log(`${this.channel.fullName}: sync failed: ${message}`, { level: "warn", channel: this.channel.fullName });
    this.owner.metrics?.syncFailed(this.channel.fullName);
    if (error instanceof RemoteNotFoundError) this.ready = false;
    this.failures++;
    const retryAfter = error instanceof RemoteUnavailableError ? error.retryAfterMs : undefined;
    const backoff = Math.min(1000 * 2 ** Math.min(this.failures - 1, 16), this.owner.settings.maxBackoffMs ?? 300_000);
    clearTimeout(this.retryTimer);
    if (!this.stopped) {
      this.retryTimer = setTimeout(() => void this.sync("both").catch(() => {}), Math.max(retryAfter ?? 0, backoff));
    }
  }

  /**
   * Commits on `main` the remote lacks, as last counted: answered without a
   * walk when `main` and the remote's head are where the count was taken
   * (the commit, push and pull hooks keep it so); otherwise counted again
   * from what moved.
   */
  async unpushed() {
    const head = await this.channel.store.head();
    const remote = this.channel.store.remoteHead();
    const known = this.count;
    if (known && known.head === head && known.remote === remote) return known.unpushed;
    return this.recount();
  }

  /**
   * Brings the unpushed count up to date with `main` and the remote's head,
   * walking only what moved since the last count: when only `main` moved
   * (commits, a fast-forward) the commits it gained are added; when the
   * remote's head moved (a push, a fetch) the commits of `main` it lacks are
   * counted, a walk that stops where the two histories meet. The first count
   * after start-up is one walk of what is unpushed. One count at a time.
   */
  recount(): Promise<number> {
    const run = this.counting.then(async () => {
      const store = this.channel.store;
      const head = await store.head();
      const remote = store.remoteHead();
      const known = this.count;
      let unpushed: number;
      if (!head || head === remote) unpushed = 0;
      else if (known && known.head === head && known.remote === remote) unpushed = known.unpushed;
      else if (known?.head && known.remote === remote) {
        unpushed = known.unpushed + (await commitsBetween(store, [head], remote ? [known.head, remote] : [known.head], UNPUSHED_CAP)).length;
      } else unpushed = (await commitsBetween(store, [head], remote ? [remote] : [], UNPUSHED_CAP)).length;
      this.count = { head, remote, unpushed };
      return unpushed;
    });
    this.counting = run.then(
      () => undefined,
      () => undefined,
    );
    return run;
  }

  async stop() {
    this.stopped = true;
    clearTimeout(this.pushTimer);
    clearTimeout(this.retryTimer);
    await this.running;
  }
}

export class SyncService {
  private readonly channels = new Map<number, ChannelSync>();
  private pullTimer: ReturnType<typeof setInterval> | undefined;
  private login: string | undefined;
  private stopped = false;

  constructor(
    readonly db: MessageDatabase,
    private readonly repositories: RepositoryService,
    readonly messages: MessageService,
    private readonly github: GitHub,
    readonly settings: SyncSettings,
    readonly log: Log,
    /** Counts pulled messages and failed syncs, and reads the unpushed counts (GET /metrics). */
    readonly metrics?: Pick<Metrics, "pulled" | "syncKnown" | "syncFailed">,
  ) {
    messages.onCommit((channel) => {
      const worker = this.worker(channel);
      void worker.recount().catch(() => {});
      worker.schedulePush();
    });
  }

  private worker(channel: Channel) {
    let worker = this.channels.get(channel.id);
    if (!worker) {
      worker = new ChannelSync(channel, this);
      this.channels.set(channel.id, worker);
      this.metrics?.syncKnown(channel.fullName);
    }
    return worker;
  }

  /** Starts the interval pulls and a first sync of every channel, in the background. */
  start() {
    for (const channel of this.repositories.list()) {
      const worker = this.worker(channel);
      // The one walk at start-up: the count is not stored, so a restart counts again.
      void worker.recount().catch(() => {});
      void worker.sync("both").catch(() => {});
    }
    this.pullTimer = setInterval(() => {
      for (const channel of this.repositories.list()) void this.worker(channel).sync("both").catch(() => {});
    }, this.settings.intervalMs);
  }

  /** The token's user, asked once. */
  async user() {
    this.login ??= await this.github.currentUser();
    return this.login;
  }

  /**
   * Makes sure the channel's GitHub repository exists and may be pushed to;
   * creates it (private) when it is missing and belongs to the token's user.
   */
  async ensureRemoteRepository(channel: Channel) {
    const login = await this.user();
    let repository = await this.github.getRepository(channel.owner, channel.name);
    if (!repository) {
      if (channel.owner.toLowerCase() !== login.toLowerCase()) {
        throw new RemoteNotFoundError(
          `${channel.fullName} does not exist on GitHub, and gitchat creates repositories only under the token's user (${login}); create it there, or use a channel under ${login}`,
        );
      }
      repository = await this.github.createRepository(channel.name);
      this.log(`${channel.fullName}: created the private GitHub repository`, { channel: channel.fullName });
    }
    if (!repository.canPush) {
      throw new RemoteNotFoundError(`the token's user (${login}) may not push to ${channel.fullName} on GitHub`);
    }
  }

  /** Sets up and syncs a channel now; used when a channel is created. Failure is recorded, not thrown. */
  async attach(channel: Channel) {
    await this.worker(channel).sync("both").catch(() => {});
  }

  /** Pushes every channel now (after pulling what others pushed); one report per channel. */
  pushAll(): Promise<PushReport[]> {
    return this.syncAll("push");
  }

  pullAll(): Promise<PushReport[]> {
    return this.syncAll("pull");
  }

  /**
   * Pulls one channel now, in the background, after any sync of it already
   * under way: GitHub's push webhook says another server pushed to it. The
   * outcome is recorded and retried like an interval pull's.
   */
  pullNow(channel: Channel) {
    if (this.stopped) return;
    void this.worker(channel).sync("pull").catch(() => {});
  }

  /** Syncs every channel now, side by side; one report per channel, failures included. */
  private syncAll(kind: "push" | "pull"): Promise<PushReport[]> {
    return Promise.all(this.repositories.list().map((channel) => this.syncReported(channel, kind)));
  }

  private async syncReported(channel: Channel, kind: "push" | "pull"): Promise<PushReport> {
    try {
      const { pushed, note } = await this.worker(channel).sync(kind);
      const done = kind === "pull" ? "pulled" : pushed ? `pushed ${pushed} commit(s)` : "already in sync";
      const message = note ? `${done}; ${note}` : done;
      return { repository: channel.fullName, success: true, pushed, message };
    } catch (error) {
      return { repository: channel.fullName, success: false, pushed: 0, message: describe(error) };
    }
  }

  /**
   * At shutdown: pushes now, side by side, every channel whose `main` has
   * commits GitHub lacks (a push that was waiting for its debounce, or for
   * a retry); one report per channel pushed. `onStart` is told which.
   */
  async pushPending(onStart: (channels: string[]) => void = () => {}): Promise<PushReport[]> {
    const pending: Channel[] = [];
    for (const channel of this.repositories.list()) {
      if ((await this.worker(channel).unpushed().catch(() => 1)) > 0) pending.push(channel);
    }
    onStart(pending.map((c) => c.fullName));
    return Promise.all(pending.map((channel) => this.syncReported(channel, "push")));
  }

  /**
   * Each channel's unpushed commits, as last counted (a walk only for a
   * channel whose `main` or remote head moved since); a channel whose count
   * failed (a damaged store) is left out rather than shown as 0.
   */
  async unpushedByChannel() {
    const counts = new Map<string, number>();
    for (const channel of this.repositories.list()) {
      const unpushed = await this.worker(channel).unpushed().catch(() => undefined);
      if (unpushed !== undefined) counts.set(channel.fullName, Math.min(unpushed, UNPUSHED_CAP));
    }
    return counts;
  }

  async view(channel: Channel): Promise<ChannelSyncView> {
    const worker = this.worker(channel);
    const unpushed = await worker.unpushed().catch(() => 0);
    return { enabled: true, remote: `${channel.owner}/${channel.name}`, unpushed: Math.min(unpushed, UNPUSHED_CAP), ...this.db.syncState(channel.id) };
  }

  async stop() {
    this.stopped = true;
    clearInterval(this.pullTimer);
    await Promise.all([...this.channels.values()].map((w) => w.stop()));
  }
}
