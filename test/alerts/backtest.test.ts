import { describe, expect, test } from 'bun:test'
import { backtest, openingNetAt, type BacktestRow } from '../../src/alerts/backtest.ts'
import { HAND_WALK } from '../support.ts'

const NOW = 1_800_000_000_000
const H = 3_600_000
const row = (over: Partial<BacktestRow>): BacktestRow => ({
  kind: 'cross',
  anomaly: false,
  openedAtMs: NOW - H,
  closedAtMs: NOW - H + 10_000,
  netBpsOpen: 60,
  peakNetBps: 70,
  sizeQuote: 1000,
  ...over,
})

describe('backtest from stored history', () => {
  test('counts openings at or above the threshold in the last day and week, with medians', () => {
    const rows = [
      row({ netBpsOpen: 60, closedAtMs: NOW - H + 4_000 }), // 4 s, today
      row({ netBpsOpen: 80, closedAtMs: NOW - H + 20_000 }), // 20 s, today
      row({ netBpsOpen: 30 }), // below 0.5 %: no alert
      row({ netBpsOpen: 90, anomaly: true }), // anomalies alert nobody
      row({ netBpsOpen: 100, openedAtMs: NOW - 3 * 24 * H, closedAtMs: NOW - 3 * 24 * H + 6_000 }),
      row({ netBpsOpen: 55, openedAtMs: NOW - 60_000, closedAtMs: null }), // still open: 60 s so far
    ]
    const r = backtest(rows, 50, 1000, NOW)
    expect(r.sizeQuote).toBe(1000)
    expect(r.day).toEqual({ alerts: 3, unknown: 0, medianDurationMs: 20_000, medianNetBps: 60 })
    expect(r.week).toEqual({ alerts: 4, unknown: 0, medianDurationMs: 13_000, medianNetBps: 70 })
    expect(backtest(rows, 500, 1000, NOW).week).toEqual({
      alerts: 0,
      unknown: 0,
      medianDurationMs: null,
      medianNetBps: null,
    })
  })

  test('at the stored size the stored net; at another the net from the walk, or unknown', () => {
    // HAND_WALK nets 110.27 bps at 1000 (the stored size), 279.41 at 500, 53.85 at 1500, and
    // cannot say above 1524.
    const walked = row({ netBpsOpen: 110.26789296875, walk: HAND_WALK })
    const old = row({ netBpsOpen: 300 }) // stored before walks were kept
    expect(openingNetAt(walked, 1000)).toBe(110.26789296875)
    expect(openingNetAt(walked, 500)).toBeCloseTo(279.4103, 9)
    expect(openingNetAt(walked, 2000)).toBeUndefined()
    expect(openingNetAt(old, 1000)).toBe(300)
    expect(openingNetAt(old, 500)).toBeUndefined()
  })

  test('a smaller size crosses the threshold; rows it cannot evaluate are counted as unknown', () => {
    const today = (over: Partial<BacktestRow>) => row({ closedAtMs: NOW - H + 8_000, ...over })
    const rows = [
      today({ netBpsOpen: 110.26789296875, walk: HAND_WALK }),
      today({ netBpsOpen: 300, closedAtMs: NOW - H + 2_000 }), // no walk
      row({
        netBpsOpen: 110.26789296875,
        walk: HAND_WALK,
        openedAtMs: NOW - 3 * 24 * H,
        closedAtMs: NOW - 3 * 24 * H + 30_000,
      }),
      today({ netBpsOpen: 110.26789296875, walk: HAND_WALK, anomaly: true }), // never counted
      row({ netBpsOpen: 300, openedAtMs: NOW - 8 * 24 * H }), // older than a week
    ]
    // At the stored size (TRADE_SIZE) as before: only the 3 % without a walk reaches 2 %.
    const stored = backtest(rows, 200, 1000, NOW)
    expect(stored.day).toEqual({
      alerts: 1,
      unknown: 0,
      medianDurationMs: 2_000,
      medianNetBps: 300,
    })
    expect(stored.week).toMatchObject({ alerts: 1, unknown: 0 })
    // At 500 the walked ones net 2.79 % and alert; the one without a walk cannot be told.
    const half = backtest(rows, 200, 500, NOW)
    expect(half.sizeQuote).toBe(500)
    expect(half.day.alerts).toBe(1)
    expect(half.day.unknown).toBe(1)
    expect(half.day.medianDurationMs).toBe(8_000)
    expect(half.day.medianNetBps).toBeCloseTo(279.4103, 9)
    expect(half.week.alerts).toBe(2)
    expect(half.week.unknown).toBe(1)
    expect(half.week.medianDurationMs).toBe(19_000)
    expect(half.week.medianNetBps).toBeCloseTo(279.4103, 9)
    // At 1500 (beyond the size walked, within the levels read) 0.54 %: alerts at 0.5 %, not 1 %.
    expect(backtest(rows, 50, 1500, NOW).week).toMatchObject({ alerts: 2, unknown: 1 })
    expect(backtest(rows, 100, 1500, NOW).week).toMatchObject({ alerts: 0, unknown: 1 })
    // Beyond every walk: nothing can be told, nothing is counted.
    expect(backtest(rows, 0, 5000, NOW).day).toEqual({
      alerts: 0,
      unknown: 2,
      medianDurationMs: null,
      medianNetBps: null,
    })
    expect(backtest(rows, 0, 5000, NOW).week).toMatchObject({ alerts: 0, unknown: 3 })
  })
})
