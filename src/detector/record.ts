/**
 * @module
 * The one flat record of an opportunity, mapped once: the store writes it, the API and the event
 * stream send it, the dashboard reads it, alerts are formatted from it. A new field is one edit
 * here plus a schema column and its generated migration.
 */
import type { RouteTransfer } from '../transfers/types.ts'
import type { Pair } from '../types.ts'
import type { OpeningWalk, Opportunity, Quote, RouteLeg } from './types.ts'

/**
 * An opportunity as plain JSON-friendly data: its identity from `Opportunity`, the latest numbers
 * of its `Quote` (documented there), the spread it opened with and the best net seen.
 */
export interface OpportunityRecord
  extends
    Pick<Opportunity, 'id' | 'kind' | 'buyVenue' | 'sellVenue' | 'anomaly' | 'openedAtMs'>,
    Omit<Quote, 'legs'> {
  readonly symbol: Pair
  readonly updatedAtMs: number
  readonly closedAtMs: number | null
  readonly closeReason: string | null
  /** The spread when it opened. */
  readonly grossBpsOpen: number
  readonly netBpsOpen: number
  readonly peakNetBps: number
  /** Triangles and cross-quote routes: the three legs in order, each with its venue. */
  readonly legs: readonly RouteLeg[] | null
  /**
   * Cross-venue routes: whether the coins can move, why, and the net after the cheapest open
   * network's withdrawal fee (null for triangles and when no transfer facts are wired).
   */
  readonly transfer: RouteTransfer | null
  /**
   * The book levels the opening quote walked, each leg's fee and amounts (`explain.ts` renders
   * the arithmetic). Always a key of the record; undefined (so absent from its JSON) on
   * opportunities recorded before walks were kept.
   */
  readonly walk?: OpeningWalk | undefined
}

/**
 * The record of an opportunity's current state.
 *
 * @param o the detector's live opportunity
 * @returns a snapshot: later changes to `o` do not show in it
 * @example
 * ```ts
 * detector.subscribe((e) => send(JSON.stringify(toRecord(e.opportunity))))
 * ```
 */
export function toRecord(o: Opportunity): OpportunityRecord {
  const { open, last } = o
  return {
    id: o.id,
    kind: o.kind,
    symbol: o.symbol,
    buyVenue: o.buyVenue,
    sellVenue: o.sellVenue,
    anomaly: o.anomaly,
    openedAtMs: o.openedAtMs,
    updatedAtMs: o.updatedAtMs,
    closedAtMs: o.closedAtMs ?? null,
    closeReason: o.closeReason ?? null,
    sizeQuote: last.sizeQuote,
    grossBpsOpen: open.grossBps,
    netBpsOpen: open.netBps,
    grossBps: last.grossBps,
    netBps: last.netBps,
    profitQuote: last.profitQuote,
    maxSizeQuote: last.maxSizeQuote,
    maxProfitQuote: last.maxProfitQuote,
    buyPrice: last.buyPrice,
    sellPrice: last.sellPrice,
    feeBps: last.feeBps,
    buyAgeMs: last.buyAgeMs,
    sellAgeMs: last.sellAgeMs,
    peakNetBps: o.peakNetBps,
    legs: last.legs ?? open.legs ?? null,
    transfer: o.transfer ?? null,
    walk: o.walk,
  }
}
