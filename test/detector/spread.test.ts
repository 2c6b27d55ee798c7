import { describe, expect, test } from 'bun:test'
import {
  buyWithQuote,
  chainMaxSize,
  crossSpread,
  grossSpreadBps,
  maxSizeAtThreshold,
  sellBase,
  topNetBps,
  triangleSpread,
} from '../../src/detector/spread.ts'
import { toLevels } from '../../src/venues/venue.ts'

const L = (rows: [string, string][]) => toLevels(rows)

describe('depth walks', () => {
  test('buying with quote walks the asks level by level', () => {
    // 500 buys all 5 at 100, the other 500 buys 500/100.5 at 100.5.
    const r = buyWithQuote(
      L([
        ['100', '5'],
        ['100.5', '10'],
      ]),
      1000,
    )
    expect(r.filled).toBe(true)
    expect(r.out).toBeCloseTo(5 + 500 / 100.5, 12)
  })

  test('selling base walks the bids; running out says so', () => {
    expect(
      sellBase(
        L([
          ['101', '4'],
          ['100.8', '10'],
        ]),
        6,
      ).out,
    ).toBeCloseTo(4 * 101 + 2 * 100.8, 10)
    const short = sellBase(L([['101', '1']]), 2)
    expect(short.filled).toBe(false)
    expect(buyWithQuote(L([['100', '1']]), 101).filled).toBe(false)
  })
})

describe('cross-venue spread', () => {
  const asks = L([
    ['100', '5'],
    ['100.5', '10'],
  ])
  const bids = L([
    ['101', '4'],
    ['100.8', '10'],
  ])

  test('gross at the top, net at size after both taker fees (hand-computed)', () => {
    const r = crossSpread({
      asks,
      bids,
      buyFeeBps: 10,
      sellFeeBps: 10,
      sizeQuote: 1000,
      thresholdBps: 20,
    })
    // Buy: 5 BTC for 500, then 500 / 100.5 = 4.975124378 → 9.975124378 base; fee keeps 99.9 %.
    const base = 5 + 500 / 100.5
    const afterFee = base * 0.999 // 9.965149254
    // Sell: 4 at 101, the remaining 5.965149254 at 100.8; fee keeps 99.9 %.
    const proceeds = 4 * 101 + (afterFee - 4) * 100.8 // 1005.2870448
    const net = proceeds * 0.999 // 1004.2817578
    expect(r.grossBps).toBeCloseTo(100, 10)
    expect(r.depth).toBe('ok')
    expect(r.buyPrice).toBeCloseTo(1000 / base, 10)
    expect(r.sellPrice).toBeCloseTo(proceeds / afterFee, 10)
    expect(r.profitQuote).toBeCloseTo(net - 1000, 9)
    expect(r.netBps).toBeCloseTo(42.8175775, 5)
    expect(r.feeBps).toBe(20)
  })

  test('fees alone can erase a gross spread', () => {
    const r = crossSpread({
      asks: L([['100', '100']]),
      bids: L([['100.15', '100']]),
      buyFeeBps: 10,
      sellFeeBps: 10,
      sizeQuote: 1000,
      thresholdBps: 0,
    })
    expect(r.grossBps).toBeCloseTo(15, 10)
    // 1.0015 × 0.999 × 0.999 - 1 = -0.00049899…
    expect(r.netBps).toBeCloseTo((1.0015 * 0.999 * 0.999 - 1) * 10_000, 8)
    expect(r.netBps).toBeLessThan(0)
    expect(topNetBps(L([['100', '1']]), L([['100.15', '1']]), 10, 10)).toBeCloseTo(r.netBps, 8)
  })

  test('a book without enough depth says so instead of inventing a price', () => {
    const thinBuy = crossSpread({
      asks: L([['100', '1']]),
      bids,
      buyFeeBps: 0,
      sellFeeBps: 0,
      sizeQuote: 1000,
      thresholdBps: 0,
    })
    expect(thinBuy.depth).toBe('buy-side-too-thin')
    expect(thinBuy.netBps).toBeNaN()
    expect(thinBuy.buyPrice).toBeNaN()
    const thinSell = crossSpread({
      asks,
      bids: L([['101', '1']]),
      buyFeeBps: 0,
      sellFeeBps: 0,
      sizeQuote: 1000,
      thresholdBps: 0,
    })
    expect(thinSell.depth).toBe('sell-side-too-thin')
    expect(thinSell.grossBps).toBeCloseTo(100, 10)
    const empty = crossSpread({
      asks: [],
      bids,
      buyFeeBps: 0,
      sellFeeBps: 0,
      sizeQuote: 1000,
      thresholdBps: 0,
    })
    expect(empty.depth).toBe('empty-book')
    expect(grossSpreadBps([], bids)).toBeNaN()
  })

  test('max size: the average net falls to the threshold inside a level (hand-solved)', () => {
    // No fees. 100 quote buys 1 at 100 (1 %), then asks are at 102; everything sells at 101.
    // Average at q > 100: 101·(1 + (q−100)/102) / q = 1.005  ⇒  q = (101 − 10100/102) / (1.005 − 101/102)
    const q = (101 - 10100 / 102) / (1.005 - 101 / 102)
    const r = maxSizeAtThreshold({
      asks: L([
        ['100', '1'],
        ['102', '100'],
      ]),
      bids: L([['101', '100']]),
      buyFeeBps: 0,
      sellFeeBps: 0,
      sizeQuote: 1000,
      thresholdBps: 50,
    })
    expect(q).toBeCloseTo(133.7748, 3)
    expect(r.maxSizeQuote).toBeCloseTo(q, 8)
    expect(r.maxProfitQuote).toBeCloseTo(0.005 * q, 8)
  })

  test('max size is limited by depth, and is 0 when even the top is below the threshold', () => {
    const deep = maxSizeAtThreshold({
      asks: L([['100', '2']]),
      bids: L([['110', '10']]),
      buyFeeBps: 0,
      sellFeeBps: 0,
      sizeQuote: 1,
      thresholdBps: 50,
    })
    expect(deep.maxSizeQuote).toBeCloseTo(200, 10)
    expect(deep.maxProfitQuote).toBeCloseTo(20, 10)
    const none = maxSizeAtThreshold({
      asks: L([['100', '2']]),
      bids: L([['100.2', '10']]),
      buyFeeBps: 10,
      sellFeeBps: 10,
      sizeQuote: 1,
      thresholdBps: 10,
    })
    expect(none.maxSizeQuote).toBe(0)
  })

  test('max size agrees with the net at that size', () => {
    const input = {
      asks: L([
        ['100', '0.5'],
        ['100.1', '1'],
        ['100.3', '2'],
        ['100.6', '5'],
      ]),
      bids: L([
        ['101', '0.7'],
        ['100.9', '1.5'],
        ['100.7', '3'],
      ]),
      buyFeeBps: 10,
      sellFeeBps: 26,
      sizeQuote: 100,
      thresholdBps: 20,
    }
    const { maxSizeQuote } = maxSizeAtThreshold(input)
    expect(maxSizeQuote).toBeGreaterThan(100)
    expect(crossSpread({ ...input, sizeQuote: maxSizeQuote }).netBps).toBeCloseTo(20, 6)
    expect(crossSpread({ ...input, sizeQuote: maxSizeQuote * 1.01 }).netBps).toBeLessThan(20)
  })
})

describe('triangular spread', () => {
  // USDT → BTC → ETH → USDT over BTC/USDT (buy), ETH/BTC (buy), ETH/USDT (sell), 10 bps a leg.
  const legs = [
    { side: 'buy' as const, levels: L([['50000', '10']]), feeBps: 10 },
    { side: 'buy' as const, levels: L([['0.05', '1000']]), feeBps: 10 },
    { side: 'sell' as const, levels: L([['2600', '1000']]), feeBps: 10 },
  ]

  test('fees on every leg, hand-computed', () => {
    const r = triangleSpread(legs, 1000, 10)
    const btc = (1000 / 50000) * 0.999 // 0.01998
    const eth = (btc / 0.05) * 0.999 // 0.3992004
    const usdt = eth * 2600 * 0.999 // 1036.88311…
    expect(r.grossBps).toBeCloseTo(400, 8)
    expect(r.depth).toBe('ok')
    expect(r.profitQuote).toBeCloseTo(usdt - 1000, 8)
    expect(r.netBps).toBeCloseTo((usdt / 1000 - 1) * 10_000, 8)
    expect(r.legPrices).toEqual([50000, 0.05, 2600])
    expect(r.feeBps).toBe(30)
  })

  test('depth limits the size of a triangle', () => {
    const r = triangleSpread(legs, 1000, 10)
    // The first leg's 10 BTC at 50,000 are the scarcest: 500,000 USDT.
    expect(r.maxSizeQuote).toBeCloseTo(500_000, 0)
    const thin = triangleSpread(
      [legs[0]!, { ...legs[1]!, levels: L([['0.05', '0.1']]) }, legs[2]!],
      1000,
      10,
    )
    expect(thin.depth).toBe('too-thin')
    expect(thin.netBps).toBeNaN()
  })

  test('max size of a chain over several levels agrees with the net at that size', () => {
    // A cross-quote route: buy X/USDT on A, sell X/USD on B, buy USDT on B's USDT/USD.
    const route = [
      {
        side: 'buy' as const,
        levels: L([
          ['100', '0.5'],
          ['100.1', '1'],
          ['100.3', '2'],
        ]),
        feeBps: 10,
      },
      {
        side: 'sell' as const,
        levels: L([
          ['101.2', '0.7'],
          ['101', '1.5'],
          ['100.8', '3'],
        ]),
        feeBps: 26,
      },
      {
        side: 'buy' as const,
        levels: L([
          ['1.0001', '60'],
          ['1.0004', '1000'],
        ]),
        feeBps: 26,
      },
    ]
    const { maxSizeQuote, maxProfitQuote } = chainMaxSize(route, 20)
    expect(maxSizeQuote).toBeGreaterThan(60)
    const at = triangleSpread(route, maxSizeQuote, 20)
    expect(at.netBps).toBeCloseTo(20, 6)
    expect(at.profitQuote).toBeCloseTo(maxProfitQuote, 6)
    expect(triangleSpread(route, maxSizeQuote * 1.01, 20).netBps).toBeLessThan(20)
    // Nothing reaches a threshold above the top of book.
    expect(chainMaxSize(route, 200)).toEqual({ maxSizeQuote: 0, maxProfitQuote: 0 })
  })
})
