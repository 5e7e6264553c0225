/** Rate limits: of messages per client (http/), and of password logins per account and per address (accounts/). */
import { LRUCache } from "lru-cache";

/** A token bucket per client: `perMinute` tokens, refilled evenly; a burst may spend them all at once. */
export class RateLimiter {
  /**
   * At most 50,000 buckets; past that the one used longest ago goes (it has
   * refilled the most, so forgetting it gives away the least). Never all at
   * once: that would let anyone with many addresses reset everyone's limit.
   */
  private readonly buckets = new LRUCache<string, { tokens: number; at: number }>({ max: 50_000 });

  constructor(private readonly perMinute: number) {}

  /** Takes one token; the seconds to wait when there is none. */
  take(key: string, now = Date.now()): { ok: true } | { ok: false; retryAfter: number } {
    if (this.perMinute <= 0) return { ok: true };
    const rate = this.perMinute / 60_000;
    const bucket = this.buckets.get(key) ?? { tokens: this.perMinute, at: now };
    bucket.tokens = Math.min(this.perMinute, bucket.tokens + (now - bucket.at) * rate);
    bucket.at = now;
    this.buckets.set(key, bucket);
    if (bucket.tokens >= 1) {
      bucket.tokens -= 1;
      return { ok: true };
    }
    return { ok: false, retryAfter: Math.max(1, Math.ceil((1 - bucket.tokens) / rate / 1000)) };
  }
}
