import { describe, expect, test } from 'bun:test'
import { bookDepth } from '../../src/book/depth.ts'
import type { Level } from '../../src/types.ts'

const lv = (px: number, qty: number): Level => ({
  px,
  qty,
  pxText: String(px),
  qtyText: String(qty),
})
const book = (bids: [number, number][], asks: [number, number][]) => ({
  bids: bids.map(([p, q]) => lv(p, q)),
  asks: asks.map(([p, q]) => lv(p, q)),
})

describe('bookDepth', () => {
  test('sums quote volume within ±0.5 % and ±2 % of the mid', () => {
    // mid 100: ±0.5 % is [99.5, 100.5], ±2 % is [98, 102].
    const d = bookDepth(
      book(
        [
          [99.9, 1], // 99.9
          [99.6, 2], // 199.2
          [99, 3], // 297 (wide only)
          [97, 10], // outside both
        ],
        [
          [100.1, 1], // 100.1
          [101, 2], // 202 (wide only)
          [103, 5], // outside both
        ],
      ),
    )!
    expect(d.mid).toBe(100)
    expect(d.bidNear).toBeCloseTo(299.1, 9)
    expect(d.askNear).toBeCloseTo(100.1, 9)
    expect(d.bidWide).toBeCloseTo(596.1, 9)
    expect(d.askWide).toBeCloseTo(302.1, 9)
    expect(d.imbalance).toBeCloseTo((299.1 - 100.1) / (299.1 + 100.1), 12)
  })

  test('levels exactly at a band edge are inside it; just beyond are not', () => {
    const d = bookDepth(
      book(
        [
          [99.9, 1],
          [99.5, 1], // exactly −0.5 %
          [98, 1], // exactly −2 %
          [97.99, 1],
        ],
        [
          [100.1, 1],
          [100.5, 1], // exactly +0.5 %
          [102, 1], // exactly +2 %
          [102.01, 1],
        ],
      ),
    )!
    expect(d.mid).toBe(100)
    expect(d.bidNear).toBeCloseTo(99.9 + 99.5, 9)
    expect(d.askNear).toBeCloseTo(100.1 + 100.5, 9)
    expect(d.bidWide).toBeCloseTo(99.9 + 99.5 + 98, 9)
    expect(d.askWide).toBeCloseTo(100.1 + 100.5 + 102, 9)
    expect(d.imbalance).toBeCloseTo((199.4 - 200.6) / 400, 12)
  })

  test('an empty side: the mid is the other best price, imbalance ±1', () => {
    const onlyBids = bookDepth(
      book(
        [
          [50, 2],
          [49.9, 1],
          [49, 1],
        ],
        [],
      ),
    )!
    expect(onlyBids.mid).toBe(50)
    expect(onlyBids.bidNear).toBeCloseTo(149.9, 9)
    expect(onlyBids.askNear).toBe(0)
    expect(onlyBids.bidWide).toBeCloseTo(198.9, 9)
    expect(onlyBids.imbalance).toBe(1)
    const onlyAsks = bookDepth(book([], [[10, 1]]))!
    expect(onlyAsks.mid).toBe(10)
    expect(onlyAsks.bidNear).toBe(0)
    expect(onlyAsks.askNear).toBe(10)
    expect(onlyAsks.imbalance).toBe(-1)
  })

  test('an empty book has no depth; a wide spread leaves the near band empty', () => {
    expect(bookDepth(book([], []))).toBeNull()
    // mid 100, best bid and ask 5 % away: nothing within ±0.5 % or ±2 %.
    const d = bookDepth(book([[95, 1]], [[105, 1]]))!
    expect(d.mid).toBe(100)
    expect([d.bidNear, d.askNear, d.bidWide, d.askWide]).toEqual([0, 0, 0, 0])
    expect(d.imbalance).toBeNull()
  })

  test('a balanced book has imbalance 0', () => {
    expect(bookDepth(book([[99.9, 1]], [[100.1, 0.998001998001998]]))!.imbalance).toBeCloseTo(0, 9)
    expect(bookDepth(book([[1, 3]], [[1.002, 3 / 1.002]]))!.imbalance).toBeCloseTo(0, 12)
  })
})
