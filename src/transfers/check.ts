/**
 * @module
 * The detector's transfer check over the kept facts: a route's asset, venues and quote in, its
 * `RouteTransfer` out (transfers/status.ts judges; this only looks the facts up).
 */
import type { TransferQuery } from '../detector/types.ts'
import type { VenueId } from '../types.ts'
import type { TransferFacts } from './facts.ts'
import { routeTransfer } from './status.ts'
import type { RouteTransfer } from './types.ts'

export interface TransferCheckOptions {
  readonly facts: Pick<TransferFacts, 'of' | 'outcome'>
  readonly venueName: (venue: VenueId) => string
  /** Facts older than this are not relied on (their route is `unknown`). */
  readonly maxAgeMs: number
  readonly now?: () => number
}

/**
 * @example
 * ```ts
 * new Detector({ ...options, transferOf: transferCheck({ facts, venueName, maxAgeMs: 3_600_000 }) })
 * ```
 */
export function transferCheck(o: TransferCheckOptions): (q: TransferQuery) => RouteTransfer {
  const now = o.now ?? Date.now
  return (q) =>
    routeTransfer({
      asset: q.asset,
      buyVenue: q.buyVenue,
      sellVenue: q.sellVenue,
      buyFacts: o.facts.of(q.buyVenue, q.asset),
      sellFacts: o.facts.of(q.sellVenue, q.asset),
      buyOutcome: o.facts.outcome(q.buyVenue),
      sellOutcome: o.facts.outcome(q.sellVenue),
      venueName: o.venueName,
      sizeQuote: q.quote.sizeQuote,
      buyPrice: q.quote.buyPrice,
      netBps: q.quote.netBps,
      nowMs: now(),
      maxAgeMs: o.maxAgeMs,
    })
}
