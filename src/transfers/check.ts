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

/**
 * One line on whether an asset's coins can move on each venue, for `/status`: which venues have
 * withdrawals and deposits open on some network, which have them suspended, and which are unknown
 * (no facts, stale, or a key needed).
 * @example
 * ```ts
 * transferSummary(facts, ['binance', 'kraken'], name, 3_600_000, Date.now())('BTC')
 * // 'BTC: open on Binance, Kraken'
 * ```
 */
export function transferSummary(
  facts: Pick<TransferFacts, 'of' | 'outcome'>,
  venues: readonly VenueId[],
  venueName: (venue: VenueId) => string,
  maxAgeMs: number,
  now: () => number = Date.now,
): (asset: string) => string {
  return (asset) => {
    const open: string[] = []
    const closed: string[] = []
    const unknown: string[] = []
    for (const v of venues) {
      const own = facts.of(v, asset)
      const fresh = own?.filter((f) => now() - f.fetchedAtMs <= maxAgeMs) ?? []
      if (fresh.length === 0) {
        const o = facts.outcome(v)
        const why = o?.missingKey
          ? `needs ${o.missingKey}`
          : o?.error
            ? 'endpoint failing'
            : own
              ? 'facts too old'
              : 'no facts'
        unknown.push(`${venueName(v)} (${why})`)
        continue
      }
      const wd = fresh.some((f) => f.withdrawEnabled === true)
      const dep = fresh.some((f) => f.depositEnabled === true)
      const wdOff = fresh.every((f) => f.withdrawEnabled === false)
      const depOff = fresh.every((f) => f.depositEnabled === false)
      if (wd && dep) open.push(venueName(v))
      else if (wdOff || depOff) {
        const what = wdOff && depOff ? 'both' : wdOff ? 'withdrawals' : 'deposits'
        closed.push(`${venueName(v)} (${what})`)
      } else unknown.push(`${venueName(v)} (partly unknown)`)
    }
    const parts = [
      open.length > 0 ? `open on ${open.join(', ')}` : undefined,
      closed.length > 0 ? `suspended on ${closed.join(', ')}` : undefined,
      unknown.length > 0 ? `unknown on ${unknown.join(', ')}` : undefined,
    ].filter((p) => p !== undefined)
    return `${asset}: ${parts.join('; ')}`
  }
}
