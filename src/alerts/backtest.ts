/**
 * @module
 * What a threshold would have given, from stored history (pure): how many alerts a chat at that
 * threshold would have had over the last day and week, how long those opportunities lasted and
 * their median net. A chat is alerted when an opportunity opens at or above its threshold, so
 * that is what is counted; anomalies alert nobody and are left out.
 */
import type { OpportunityRecord } from '../detector/record.ts'

/** The fields of a stored opportunity the backtest reads. */
export type BacktestRow = Pick<
  OpportunityRecord,
  'kind' | 'anomaly' | 'openedAtMs' | 'closedAtMs' | 'netBpsOpen' | 'peakNetBps' | 'sizeQuote'
>

export interface BacktestPeriod {
  /** Opportunities that would have alerted. */
  readonly alerts: number
  /** Median time they lasted (still open: until now), ms; null without any. */
  readonly medianDurationMs: number | null
  /** Median net when they opened, bps; null without any. */
  readonly medianNetBps: number | null
}

export interface BacktestResult {
  readonly thresholdBps: number
  /** The trade size the stored nets were computed at (the detector's TRADE_SIZE). */
  readonly sizeQuote: number
  readonly day: BacktestPeriod
  readonly week: BacktestPeriod
}

const DAY_MS = 86_400_000

function median(xs: number[]): number | null {
  if (xs.length === 0) return null
  const s = [...xs].sort((a, b) => a - b)
  const mid = s.length >> 1
  return s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2
}

function period(rows: readonly BacktestRow[], sinceMs: number, nowMs: number): BacktestPeriod {
  const hits = rows.filter((r) => r.openedAtMs >= sinceMs)
  return {
    alerts: hits.length,
    medianDurationMs: median(hits.map((r) => (r.closedAtMs ?? nowMs) - r.openedAtMs)),
    medianNetBps: median(hits.map((r) => r.netBpsOpen)),
  }
}

/**
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
  const alerting = rows.filter((r) => !r.anomaly && r.netBpsOpen >= thresholdBps)
  return {
    thresholdBps,
    sizeQuote,
    day: period(alerting, nowMs - DAY_MS, nowMs),
    week: period(alerting, nowMs - 7 * DAY_MS, nowMs),
  }
}
