/**
 * What GET /metrics tells an operator's Prometheus, in its text exposition
 * format (version 0.0.4). Counting is cheap by design: counters and
 * histograms live in memory and are bumped where the thing happens (a send,
 * a commit, a pull, a failed sync, a 429); the gauges are read when scraped
 * from what the process already keeps (open live streams, each channel's
 * unpushed count, which the sync keeps up to date without a walk). A scrape
 * never counts rows in the index.
 *
 * prom-client writes the format (escaping, cumulative buckets, `+Inf`,
 * `_sum` and `_count`): a solved problem that a hand-written writer gets
 * wrong at the edges. Its registry here is this server's own, not the
 * library's global one, so two servers in one process (the tests) count apart.
 */
import { Counter, Gauge, Histogram, Registry } from "prom-client";

/** Seconds a commit takes, from a single fsynced message (a few ms) to a large batch on a slow disk. */
const COMMIT_SECONDS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
/** Messages a group commit holds: one alone, to the hundreds a busy channel shares. */
const COMMIT_MESSAGES = [1, 2, 5, 10, 25, 50, 100, 250, 500, 1000];

export class Metrics {
  private readonly registry = new Registry();
  private readonly sentTotal = new Counter({
    name: "gitchat_messages_sent_total",
    help: "Messages sent to this server (API, page, incoming webhooks) and acknowledged: committed to git and indexed.",
    registers: [this.registry],
  });
  private readonly pulledTotal = new Counter({
    name: "gitchat_messages_pulled_total",
    help: "Messages that arrived from GitHub in pulls and were indexed.",
    registers: [this.registry],
  });
  private readonly commitSeconds = new Histogram({
    name: "gitchat_commit_duration_seconds",
    help: "Time of one group commit: writing it to git (fsynced, signed) and indexing it.",
    buckets: COMMIT_SECONDS,
    registers: [this.registry],
  });
  private readonly commitMessages = new Histogram({
    name: "gitchat_commit_messages",
    help: "Messages and events (edits, deletes, reactions) in one group commit.",
    buckets: COMMIT_MESSAGES,
    registers: [this.registry],
  });
  private readonly syncFailures = new Counter({
    name: "gitchat_sync_failures_total",
    help: "Syncs of a channel with GitHub (pull, merge, push) that failed.",
    labelNames: ["channel"],
    registers: [this.registry],
  });
  private readonly rateLimitedTotal = new Counter({
    name: "gitchat_rate_limited_requests_total",
    help: "Requests refused with 429 (messages a minute, sign-in attempts).",
    registers: [this.registry],
  });
  private liveStreams: () => number = () => 0;
  private unpushed: () => Promise<Map<string, number>> = async () => new Map();

  constructor(startedAt = performance.timeOrigin) {
    const self = this;
    new Gauge({
      name: "process_start_time_seconds",
      help: "Start time of the process since the Unix epoch, in seconds.",
      registers: [this.registry],
    }).set(startedAt / 1000);
    new Gauge({
      name: "gitchat_live_streams",
      help: "Live streams (server-sent events) open now.",
      registers: [this.registry],
      collect() {
        this.set(self.liveStreams());
      },
    });
    new Gauge({
      name: "gitchat_unpushed_commits",
      help: "Commits on a channel's main that GitHub does not have yet (with GitHub sync on; capped at 10,000).",
      labelNames: ["channel"],
      registers: [this.registry],
      async collect() {
        // A channel removed since the last scrape must not linger.
        this.reset();
        for (const [channel, count] of await self.unpushed()) this.set({ channel }, count);
      },
    });
  }

  /** A message was acknowledged. */
  sent() {
    this.sentTotal.inc();
  }

  /** A group commit of `messages` took `seconds`. */
  committed(messages: number, seconds: number) {
    this.commitSeconds.observe(seconds);
    this.commitMessages.observe(messages);
  }

  pulled(messages: number) {
    this.pulledTotal.inc(messages);
  }

  /** A channel's sync is known (its failures count from 0), or failed once more. */
  syncKnown(channel: string) {
    this.syncFailures.inc({ channel }, 0);
  }

  syncFailed(channel: string) {
    this.syncFailures.inc({ channel });
  }

  rateLimited() {
    this.rateLimitedTotal.inc();
  }

  /** Where the gauges are read, when scraped. */
  readLiveStreams(read: () => number) {
    this.liveStreams = read;
  }

  readUnpushed(read: () => Promise<Map<string, number>>) {
    this.unpushed = read;
  }

  readonly contentType = "text/plain; version=0.0.4; charset=utf-8";

  /** The exposition, as Prometheus scrapes it. */
  text(): Promise<string> {
    return this.registry.metrics();
  }
}
