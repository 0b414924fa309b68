/**
 * Requests per second for each provisioning connection, as a token bucket:
 * a connection may send `burst` requests at once, then `perSecond` a second.
 * It lives in this process: with several servers behind a balancer, each
 * grants a connection its own rate (the README says so).
 */
export type ScimRateLimit = { perSecond: number; burst: number };

type Bucket = { tokens: number; at: number };

export class ConnectionRateLimiter {
  readonly #buckets = new Map<string, Bucket>();
  readonly #limit: ScimRateLimit;
  readonly #now: () => number;

  constructor(limit: ScimRateLimit, now: () => number = () => performance.now()) {
    if (!(limit.perSecond > 0) || !(limit.burst >= 1)) {
      throw new RangeError('A SCIM rate limit needs perSecond > 0 and burst ≥ 1.');
    }
    this.#limit = limit;
    this.#now = now;
  }

  get limit(): ScimRateLimit {
    return this.#limit;
  }

  /** Takes one request's token: 0 when it may go on, otherwise the seconds until it may retry. */
  take(connectionId: string): number {
    const now = this.#now();
    const { perSecond, burst } = this.#limit;
    const bucket = this.#buckets.get(connectionId);
    const tokens = bucket ? Math.min(burst, bucket.tokens + ((now - bucket.at) / 1000) * perSecond) : burst;
    if (tokens >= 1) {
      this.#buckets.set(connectionId, { tokens: tokens - 1, at: now });
      if (this.#buckets.size > 10_000) this.#forgetIdle(now);
      return 0;
    }
    this.#buckets.set(connectionId, { tokens, at: now });
    return Math.max(1, Math.ceil((1 - tokens) / perSecond));
  }

  /** Buckets that have filled up again are the same as no bucket: dropped, so the map stays small. */
  #forgetIdle(now: number) {
    const { perSecond, burst } = this.#limit;
    for (const [id, bucket] of this.#buckets) {
      if (bucket.tokens + ((now - bucket.at) / 1000) * perSecond >= burst) this.#buckets.delete(id);
    }
  }
}
