/**
 * @module
 * Rate budgets a venue imposes per IP, kept once per venue and shared by everything that talks to
 * it: `RateWindow` counts what was spent in a sliding window (new connections, REST weight), and
 * `RestBudget` adds what the venue itself says: the weight it has counted (a used-weight header)
 * and a 429/418 with `Retry-After`, which pauses every request to that venue until the time it
 * named. Nothing is ever sent during such a pause, so a 418 (Binance's ban for sending again
 * before `Retry-After`) cannot be earned.
 */
import type { RestLimits } from './venue.ts'

/**
 * At most `limit` units spent in any `windowMs`, as the venue counts them: a spend is held a little
 * past the window (`marginMs`), because it reaches the venue later than it left, and a burst let
 * go the instant the previous one expired would land inside the venue's window with it.
 */
export class RateWindow {
  readonly #limit: number
  readonly #windowMs: number
  readonly #now: () => number
  /** Spends by time, oldest first. */
  readonly #spent: { atMs: number; units: number }[] = []
  #sum = 0

  constructor(limit: number, windowMs: number, now: () => number = Date.now) {
    this.#limit = limit
    // 10 % of the window, at least 250 ms and at most 2 s.
    this.#windowMs = windowMs + Math.min(2_000, Math.max(250, windowMs * 0.1))
    this.#now = now
  }

  /** Units spent within the last window. */
  used(nowMs = this.#now()): number {
    const from = nowMs - this.#windowMs
    while (this.#spent.length > 0 && this.#spent[0]!.atMs <= from) {
      this.#sum -= this.#spent.shift()!.units
    }
    return this.#sum
  }

  /**
   * Spends `units` if they fit beside `extra` units counted elsewhere; returns 0 when spent, else
   * how long to wait before they may fit (nothing is spent then).
   */
  tryTake(units: number, extra = 0, nowMs = this.#now()): number {
    const used = Math.max(this.used(nowMs), extra)
    if (used + units <= this.#limit || (used === 0 && units > this.#limit)) {
      this.#spent.push({ atMs: nowMs, units })
      this.#sum += units
      return 0
    }
    // Wait for enough of the oldest spends to leave the window.
    let freed = 0
    for (const s of this.#spent) {
      freed += s.units
      if (used - freed + units <= this.#limit) return Math.max(1, s.atMs + this.#windowMs - nowMs)
    }
    return this.#windowMs
  }

  /** Waits until `units` fit, then spends them; rejects when `signal` aborts first. */
  async take(units: number, signal: AbortSignal, extra: () => number = () => 0): Promise<void> {
    for (;;) {
      signal.throwIfAborted()
      const wait = this.tryTake(units, extra())
      if (wait === 0) return
      await abortableSleep(wait, signal)
    }
  }
}

/** What a venue's REST budget has seen, for `/api/status`, metrics and the benchmark. */
export interface RestBudgetStats {
  requests: number
  /** Weight spent by this process, per window, at most (its own count). */
  peakWeight: number
  /** Answers 429 (asked to slow down) and 418 (banned for not slowing down). */
  throttled: number
  banned: number
  /** Weight the venue last said it had counted, when it says so. */
  venueUsedWeight: number | undefined
  /** Until when every request waits because the venue said so (ms since the epoch). */
  pausedUntilMs: number
}

/**
 * One venue's REST budget per IP.
 * @example
 * ```ts
 * const budget = new RestBudget(binance.limits.rest)
 * await budget.take(binance.limits.rest.snapshotCost, signal)
 * const res = await budget.observing(url, { signal })
 * ```
 */
export class RestBudget {
  readonly stats: RestBudgetStats = {
    requests: 0,
    peakWeight: 0,
    throttled: 0,
    banned: 0,
    venueUsedWeight: undefined,
    pausedUntilMs: 0,
  }
  readonly #limits: RestLimits
  readonly #window: RateWindow
  readonly #fetch: typeof fetch
  readonly #now: () => number
  /** The venue's own count and the end of the window it belongs to. */
  #venueUsed = 0
  #venueUsedUntilMs = 0
  /** Weight spent since the venue's last figure (which does not count it yet). */
  #sinceVenue = 0

  /**
   * `share` of the venue's budget is used (default 0.8: the rest is headroom for another process
   * on the same IP and for clock skew between our window and the venue's).
   */
  constructor(
    limits: RestLimits,
    {
      share = 0.8,
      fetch: f = fetch,
      now = Date.now,
    }: { share?: number; fetch?: typeof fetch; now?: () => number } = {},
  ) {
    this.#limits = limits
    this.#now = now
    this.#fetch = f
    this.#window = new RateWindow(
      Math.max(1, Math.floor(limits.weight * share)),
      limits.windowMs,
      now,
    )
  }

  get limits(): RestLimits {
    return this.#limits
  }

  /** The weight the venue counts as used right now: its own figure or ours, the larger. */
  #extra = (): number =>
    this.#now() < this.#venueUsedUntilMs ? this.#venueUsed + this.#sinceVenue : 0

  /**
   * Spends `weight` now if it fits and no pause is on; returns 0 when spent, else how long to
   * wait (nothing is spent then).
   */
  tryTake(weight: number): number {
    const now = this.#now()
    if (now < this.stats.pausedUntilMs) return this.stats.pausedUntilMs - now
    const wait = this.#window.tryTake(weight, this.#extra(), now)
    if (wait === 0) {
      this.#sinceVenue += weight
      this.stats.requests++
      this.stats.peakWeight = Math.max(this.stats.peakWeight, this.#window.used(now))
    }
    return wait
  }

  /** Waits until `weight` fits (and any pause the venue asked for is over), then spends it. */
  async take(weight: number, signal: AbortSignal): Promise<void> {
    for (;;) {
      signal.throwIfAborted()
      const wait = this.tryTake(weight)
      if (wait === 0) return
      await abortableSleep(wait, signal)
    }
  }

  /** Reads what the venue said about the budget: its used-weight count, 429/418 and Retry-After. */
  observe(res: Response): void {
    const now = this.#now()
    const header = this.#limits.usedWeightHeader
    const used = header === undefined ? NaN : Number(res.headers.get(header))
    if (Number.isFinite(used) && used >= 0) {
      this.stats.venueUsedWeight = used
      this.#venueUsed = used
      this.#sinceVenue = 0
      // The venue counts per fixed window (Binance: per minute): its figure holds until that ends.
      const w = this.#limits.windowMs
      this.#venueUsedUntilMs = Math.floor(now / w) * w + w
    }
    const other = this.#limits.pauseOn?.[res.status]
    if (res.status === 429 || res.status === 418 || other !== undefined) {
      if (res.status === 418) this.stats.banned++
      else this.stats.throttled++
      const retry = Number(res.headers.get('retry-after'))
      const waitMs =
        Number.isFinite(retry) && retry > 0 ? retry * 1000 : (other ?? this.#limits.windowMs)
      this.stats.pausedUntilMs = Math.max(this.stats.pausedUntilMs, now + waitMs)
    }
  }

  /** A fetch that only observes the answers (the caller has already taken the weight). */
  readonly observing: typeof fetch = Object.assign(
    async (input: string | URL | Request, init?: RequestInit): Promise<Response> => {
      const res = await this.#fetch(input, init)
      this.observe(res)
      return res
    },
    { preconnect: fetch.preconnect },
  )

  /** A fetch that takes each URL's cost from the budget first, then observes the answer. */
  readonly fetch: typeof fetch = Object.assign(
    async (input: string | URL | Request, init?: RequestInit): Promise<Response> => {
      const url = new URL(input instanceof Request ? input.url : String(input))
      const signal = init?.signal ?? AbortSignal.timeout(60_000)
      await this.take(this.#limits.cost?.(url) ?? 1, signal)
      return this.observing(input, init)
    },
    { preconnect: fetch.preconnect },
  )
}

/** Resolves after `ms`; rejects with the signal's reason when it aborts first. */
function abortableSleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    const done = () => {
      clearTimeout(timer)
      signal.removeEventListener('abort', onAbort)
    }
    const onAbort = () => {
      done()
      reject(signal.reason)
    }
    const timer = setTimeout(() => {
      done()
      resolve()
    }, ms)
    signal.addEventListener('abort', onAbort, { once: true })
  })
}
