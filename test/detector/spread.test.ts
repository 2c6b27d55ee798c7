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
      thresholdBps: 50,
    })
    expect(deep.maxSizeQuote).toBeCloseTo(200, 10)
    expect(deep.maxProfitQuote).toBeCloseTo(20, 10)
    const none = maxSizeAtThreshold({
      asks: L([['100', '2']]),
      bids: L([['100.2', '10']]),
      buyFeeBps: 10,
      sellFeeBps: 10,
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

describe('largest profitable size at a chat’s own threshold', () => {
  // No fees: between level boundaries each extra unit of quote returns bid/ask, so where the
  // average return falls to 1 + T (T the threshold) is solved by hand per segment.
  // Buy 1 at 100, then 1 at 101, then 10 at 103; sell everything at 102.
  const cross = (thresholdBps: number) =>
    maxSizeAtThreshold({
      asks: L([
        ['100', '1'],
        ['101', '1'],
        ['103', '10'],
      ]),
      bids: L([['102', '100']]),
      buyFeeBps: 0,
      sellFeeBps: 0,
      thresholdBps,
    })
  // After the first two levels: 201 spent, 204 back (1.4925 % on average); the third returns
  // 102/103 per unit: 204 + (102/103)(q − 201) = (1 + T) q  ⇒  q = (204 − 201·102/103) / (1 + T − 102/103).
  const inThird = (t: number) => (204 - (201 * 102) / 103) / (1 + t - 102 / 103)

  test('a cross route: a threshold above the global one gives a smaller size, below it a larger one', () => {
    const global = cross(100) // MIN_SPREAD_PCT 1 %
    expect(global.maxSizeQuote).toBeCloseTo(inThird(0.01), 9)
    expect(global.maxSizeQuote).toBeCloseTo(251.23, 2)
    expect(global.maxProfitQuote).toBeCloseTo(0.01 * inThird(0.01), 9)
    const low = cross(50) // a chat on /threshold 0.5
    expect(low.maxSizeQuote).toBeCloseTo(inThird(0.005), 9)
    expect(low.maxSizeQuote).toBeCloseTo(336.63, 2)
    expect(low.maxProfitQuote).toBeCloseTo(0.005 * inThird(0.005), 9)
    const high = cross(130) // /threshold 1.3: still past the second level
    expect(high.maxSizeQuote).toBeCloseTo(inThird(0.013), 9)
    expect(high.maxSizeQuote).toBeCloseTo(218.04, 2)
    // /threshold 1.6: the average falls to it inside the second level (102/101 per unit after
    // 100 spent for 102 back): q = (102 − 100·102/101) / (1.016 − 102/101).
    const higher = cross(160)
    const inSecond = (102 - (100 * 102) / 101) / (1.016 - 102 / 101)
    expect(higher.maxSizeQuote).toBeCloseTo(inSecond, 9)
    expect(higher.maxSizeQuote).toBeCloseTo(165.58, 2)
    expect(higher.maxProfitQuote).toBeCloseTo(0.016 * inSecond, 9)
    expect(low.maxSizeQuote).toBeGreaterThan(global.maxSizeQuote)
    expect(high.maxSizeQuote).toBeLessThan(global.maxSizeQuote)
    // The top of book is 2 %: a threshold above it gets nothing.
    expect(cross(250)).toEqual({ maxSizeQuote: 0, maxProfitQuote: 0 })
  })

  test('a cross-quote route, every leg’s fee: smaller above the global threshold, larger below, 0 above the top', () => {
    // Buy X/USDT (1 at 100, then 10 at 102), sell X/USD at 103, buy USDT/USD at 1.0; 0.1 % a leg.
    const keep = 0.999 ** 3
    const route = [
      {
        side: 'buy' as const,
        levels: L([
          ['100', '1'],
          ['102', '10'],
        ]),
        feeBps: 10,
      },
      { side: 'sell' as const, levels: L([['103', '100']]), feeBps: 10 },
      { side: 'buy' as const, levels: L([['1', '1000000']]), feeBps: 10 },
    ]
    const r1 = (103 / 100) * keep // the first 100 USDT return 2.69 %
    const r2 = (103 / 102) * keep // the next 1,020 return 0.68 %
    // Past the first level: 100·r1 + r2 (q − 100) = (1 + T) q  ⇒  q = 100 (r1 − r2) / (1 + T − r2).
    const inSecond = (t: number) => (100 * (r1 - r2)) / (1 + t - r2)
    const global = chainMaxSize(route, 100)
    expect(global.maxSizeQuote).toBeCloseTo(inSecond(0.01), 8)
    expect(global.maxSizeQuote).toBeCloseTo(624.85, 2)
    expect(global.maxProfitQuote).toBeCloseTo(0.01 * inSecond(0.01), 8)
    const high = chainMaxSize(route, 150)
    expect(high.maxSizeQuote).toBeCloseTo(inSecond(0.015), 8)
    expect(high.maxSizeQuote).toBeCloseTo(244.88, 2)
    // At 0.5 % the average never falls that low: the asks' depth (100 + 1,020 USDT) is the limit.
    const low = chainMaxSize(route, 50)
    expect(low.maxSizeQuote).toBeCloseTo(1120, 8)
    expect(low.maxProfitQuote).toBeCloseTo(100 * r1 + 1020 * r2 - 1120, 8)
    expect(chainMaxSize(route, 300)).toEqual({ maxSizeQuote: 0, maxProfitQuote: 0 })
  })

  test('a triangle: the same, over its three books', () => {
    // USDT → BTC (100 USDT at 50,000, then 50,500 at 50,500) → ETH at 0.05 → USDT at 2,600; no fees.
    const legs = [
      {
        side: 'buy' as const,
        levels: L([
          ['50000', '0.002'],
          ['50500', '1'],
        ]),
        feeBps: 0,
      },
      { side: 'buy' as const, levels: L([['0.05', '1000']]), feeBps: 0 },
      { side: 'sell' as const, levels: L([['2600', '1000']]), feeBps: 0 },
    ]
    const r2 = 2600 / (50500 * 0.05) // 1.0297…: past the first 100 USDT
    const inSecond = (t: number) => (104 - 100 * r2) / (1 + t - r2)
    expect(chainMaxSize(legs, 300).maxSizeQuote).toBeCloseTo(inSecond(0.03), 6)
    expect(chainMaxSize(legs, 300).maxSizeQuote).toBeCloseTo(3466.67, 2)
    expect(chainMaxSize(legs, 350).maxSizeQuote).toBeCloseTo(inSecond(0.035), 6)
    expect(chainMaxSize(legs, 350).maxSizeQuote).toBeCloseTo(194.39, 2)
    // Below 2.97 % nothing but depth stops it: 100 + 50,500 USDT.
    expect(chainMaxSize(legs, 200).maxSizeQuote).toBeCloseTo(50_600, 6)
    expect(chainMaxSize(legs, 450)).toEqual({ maxSizeQuote: 0, maxProfitQuote: 0 })
  })
})
