/** `/digest`, pure: when a digest is due, and what its one message says. */
import { describe, expect, test } from 'bun:test'
import { digestDueMs, formatDigest } from '../../src/alerts/digest.ts'
import { toRecord } from '../../src/detector/record.ts'
import type { Opportunity } from '../../src/detector/types.ts'
import { crossAt, quoteAt } from '../support.ts'

const H = 3_600_000
const T0 = Date.UTC(2030, 0, 1, 14)

/** An opportunity on `symbol` between two venues, opened at `openedAtMs`, peak `peakBps`. */
function opp(
  symbol: string,
  buy: string,
  sell: string,
  openedAtMs: number,
  peakBps: number,
  closedAfterMs?: number,
): Opportunity {
  const o = crossAt(peakBps, symbol)
  return {
    ...o,
    id: `cross:${symbol}:${buy}>${sell}:${openedAtMs}`,
    buyVenue: buy,
    sellVenue: sell,
    openedAtMs,
    updatedAtMs: openedAtMs,
    last: quoteAt(closedAfterMs === undefined ? peakBps - 5 : 3),
    peakNetBps: peakBps,
    closedAtMs: closedAfterMs === undefined ? undefined : openedAtMs + closedAfterMs,
    closeReason: closedAfterMs === undefined ? undefined : 'spread fell below the threshold',
  }
}

describe('digest', () => {
  test('periods are counted from 00:00 UTC: 1 h on the hour, 1 d at midnight, 30 min on the half hour', () => {
    expect(digestDueMs(T0 + 20 * 60_000, H)).toBe(T0 + H)
    expect(digestDueMs(T0, H)).toBe(T0 + H) // an opening at 14:00 belongs to 14:00-15:00
    expect(digestDueMs(T0 + 5 * 60_000, 86_400_000)).toBe(Date.UTC(2030, 0, 2))
    expect(digestDueMs(T0 + 31 * 60_000, H / 2)).toBe(T0 + H)
  })

  test('one message: the count, the best by peak net with how long they lasted, and those still open', () => {
    const records = [
      opp('BTC/USDT', 'kraken', 'binance', T0 + 60_000, 81, 42_000),
      opp('ETH/USDT', 'okx', 'bybit', T0 + 120_000, 62),
      opp('BTC/USDT', 'kraken', 'okx', T0 + 60_000, 40, 5_000),
    ].map(toRecord)
    const text = formatDigest(records, { fromMs: T0, toMs: T0 + H }, T0 + H)
    expect(text.title).toBe('Digest 2030-01-01 14:00–15:00 UTC: 3 openings')
    expect(text.tone).toBe('info')
    expect(text.buttons).toBeUndefined()
    expect(text.lines).toEqual([
      '3 openings in 2 markets, 1 still open.',
      'Best by peak net (at the trade size):',
      '1. BTC/USDT buy Kraken, sell Binance: peak 0.81%, lasted 42 s',
      '2. ETH/USDT buy OKX, sell Bybit: peak 0.62%, open for 58 min, now 0.57%',
      '3. BTC/USDT buy Kraken, sell OKX: peak 0.40%, lasted 5 s',
      'Still open (1):',
      '• ETH/USDT buy OKX, sell Bybit: now 0.57%, open for 58 min',
      `The arithmetic of the best: /explain ${records[0]!.id}`,
    ])
    expect(text.footer).toBe('/digest off: single alerts again')
  })

  test('the best five are named, the rest counted; a period over midnight names both dates', () => {
    const records = Array.from({ length: 8 }, (_, i) =>
      toRecord(opp('SOL/USDT', 'binance', 'okx', T0 + i * 1000, 20 + i)),
    )
    const text = formatDigest(
      records,
      { fromMs: Date.UTC(2029, 11, 31), toMs: Date.UTC(2030, 0, 1) },
      T0,
    )
    expect(text.title).toBe('Digest 2029-12-31 00:00–2030-01-01 00:00 UTC: 8 openings')
    expect(text.lines.filter((l) => /^\d\. /.test(l))).toHaveLength(5)
    expect(text.lines[2]).toContain('peak 0.27%')
    expect(text.lines).toContain('…and 3 more')
    expect(text.lines[0]).toBe('8 openings in 1 market, 8 still open.')
  })
})
