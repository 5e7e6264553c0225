import { expect, test } from "bun:test";
import { RateLimiter } from "../../src/rate-limit.ts";

test("a client at its limit that keeps trying stays limited while 50,000 other clients come and go", () => {
  const limiter = new RateLimiter(2);
  const now = 1_000_000; // one instant: no bucket refills during the test
  limiter.take("ip:198.51.100.7", now);
  limiter.take("ip:198.51.100.7", now);
  for (let i = 0; i < 50_000; i++) {
    limiter.take(`ip:other-${i}`, now);
    // A limited client knocks again now and then, as one that is being held back does.
    if (i % 1000 === 0) limiter.take("ip:198.51.100.7", now);
  }
  expect(limiter.take("ip:198.51.100.7", now)).toEqual({ ok: false, retryAfter: 30 });
});
