/**
 * @module
 * What a threshold and trade size would have given, from stored history (pure): how many alerts a
 * chat at that threshold and size would have had over the last day and week, how long those
 * opportunities lasted and their median net at that size. A chat is alerted when an opportunity
 * opens with its net at the chat's size at or above its threshold, so that is what is counted;
 * anomalies alert nobody and are left out.
 *
 * At the size history is stored at (the detector's TRADE_SIZE) the stored opening net is used. At
 * another size the net is recomputed from the opening's stored book walk (`walkNetBpsAt`); an
 * opening whose walk is missing (recorded before walks were kept) or does not reach that size
 * cannot be evaluated, and is counted as `unknown` rather than guessed.
 */
import type { OpportunityRecord } from '../detector/record.ts'
import { walkNetBpsAt } from '../detector/explain.ts'

/** The fields of a stored opportunity the backtest reads. */
export type BacktestRow = Pick<
  OpportunityRecord,
  | 'kind'
  | 'anomaly'
  | 'openedAtMs'
  | 'closedAtMs'
  | 'netBpsOpen'
  | 'peakNetBps'
  | 'sizeQuote'
  | 'walk'
>

export interface BacktestPeriod {
  /** Opportunities that would have alerted. */
  readonly alerts: number
  /**
   * Openings whose net at the size cannot be known (no stored walk, or a walk that does not reach
   * the size): neither counted in `alerts` nor in the medians. Always 0 at the stored size.
   */
  readonly unknown: number
  /** Median time they lasted (still open: until now), ms; null without any. */
  readonly medianDurationMs: number | null
  /** Median net when they opened, at the size, bps; null without any. */
  readonly medianNetBps: number | null
}

export interface BacktestResult {
  readonly thresholdBps: number
  /** The trade size the nets were taken at. */
  readonly sizeQuote: number
  readonly day: BacktestPeriod
  readonly week: BacktestPeriod
}

const DAY_MS = 86_400_000

/**
 * An opening's net at a trade size, bps: the stored opening net at the size it was stored at,
 * else recomputed from its stored walk.
 *
 * @returns undefined when it cannot be known at that size (no walk, or the size is beyond it)
 * @example
 * ```ts
 * openingNetAt(record, 500) // record.netBpsOpen at 1000 (TRADE_SIZE), from record.walk at 500
 * ```
 */
export function openingNetAt(row: BacktestRow, sizeQuote: number): number | undefined {
  if (sizeQuote === row.sizeQuote) return row.netBpsOpen
  return walkNetBpsAt(row.walk, sizeQuote)
}

function median(xs: number[]): number | null {
  if (xs.length === 0) return null
  const s = [...xs].sort((a, b) => a - b)
  const mid = s.length >> 1
  return s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2
}

/** A stored opening with its net at the size asked (undefined: unknown). */
interface Evaluated {
  readonly row: BacktestRow
  readonly netBps: number | undefined
}

function period(
  rows: readonly Evaluated[],
  thresholdBps: number,
  sinceMs: number,
  nowMs: number,
): BacktestPeriod {
  const inPeriod = rows.filter((e) => e.row.openedAtMs >= sinceMs)
  const hits = inPeriod.filter((e) => e.netBps !== undefined && e.netBps >= thresholdBps)
  return {
    alerts: hits.length,
    unknown: inPeriod.filter((e) => e.netBps === undefined).length,
    medianDurationMs: median(hits.map((e) => (e.row.closedAtMs ?? nowMs) - e.row.openedAtMs)),
    medianNetBps: median(hits.map((e) => e.netBps!)),
  }
}

/**
 * @param sizeQuote the chat's trade size; the stored nets serve at the size they were stored at
 * @example
 * ```ts
 * backtest(await store.opportunitiesSince(now - 7 * 86_400_000), 50, 1000, now).day.alerts
 * ```
 */
export function backtest(
  rows: readonly BacktestRow[],
  thresholdBps: number,
  sizeQuote: number,
  nowMs: number,
): BacktestResult {
  const weekAgo = nowMs - 7 * DAY_MS
  const evaluated = rows
    .filter((r) => !r.anomaly && r.openedAtMs >= weekAgo)
    .map((row): Evaluated => ({ row, netBps: openingNetAt(row, sizeQuote) }))
  return {
    thresholdBps,
    sizeQuote,
    day: period(evaluated, thresholdBps, nowMs - DAY_MS, nowMs),
    week: period(evaluated, thresholdBps, weekAgo, nowMs),
  }
}
