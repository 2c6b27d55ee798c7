import { describe, expect, test } from 'bun:test'
import { backtest, type BacktestRow } from '../../src/alerts/backtest.ts'

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
    expect(r.day).toEqual({ alerts: 3, medianDurationMs: 20_000, medianNetBps: 60 })
    expect(r.week).toEqual({ alerts: 4, medianDurationMs: 13_000, medianNetBps: 70 })
    expect(backtest(rows, 500, 1000, NOW).week).toEqual({
      alerts: 0,
      medianDurationMs: null,
      medianNetBps: null,
    })
  })
})
