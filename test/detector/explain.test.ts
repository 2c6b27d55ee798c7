/**
 * The opening walk and `/explain`: the detector records the book levels behind an opening quote
 * (and only then), the walk reproduces the quote's net exactly, and the rendered arithmetic ends
 * with the net the opportunity opened at.
 */
import { describe, expect, test } from 'bun:test'
import { Books } from '../../src/book/books.ts'
import { Detector, type DetectorOptions } from '../../src/detector/detector.ts'
import {
  explain,
  spreadText,
  walkAt,
  walkNetBps,
  walkNetBpsAt,
} from '../../src/detector/explain.ts'
import { toRecord } from '../../src/detector/record.ts'
import {
  crossSpread,
  triangleSpread,
  walkChain,
  type WalkLegBook,
} from '../../src/detector/spread.ts'
import type { OpeningWalk, OpportunityEvent } from '../../src/detector/types.ts'
import type { Level, VenueId } from '../../src/types.ts'
import { venueById } from '../../src/venues/index.ts'
import { HAND_WALK, scriptFeed, stopAfterEach, type ScriptedFeed } from '../support.ts'

const track = stopAfterEach()
type Rows = [string, string][]

/** Books on a scripted clock, each venue listing `listings[venue]`, and a detector over them. */
function setup(
  listings: Record<VenueId, readonly string[]>,
  fees: Record<VenueId, number>,
  opts: Partial<DetectorOptions> = {},
) {
  let now = 1_795_307_804_603
  const books = new Books()
  const feeds = new Map<VenueId, ScriptedFeed>()
  for (const [venue, pairs] of Object.entries(listings)) {
    feeds.set(venue, track(scriptFeed(books, venueById(venue)!, pairs, now)))
  }
  const detector = new Detector({
    books,
    venues: Object.keys(fees),
    feeBps: fees,
    sizeQuote: 1000,
    minSpreadBps: 10,
    hysteresisBps: 5,
    maxSpreadBps: 500,
    maxQuoteAgeMs: 1000,
    updateIntervalMs: 0,
    now: () => now,
    ...opts,
  })
  track(detector).start()
  const events: OpportunityEvent[] = []
  detector.subscribe((e) => events.push(e))
  const book = (venue: VenueId, pair: string, bids: Rows, asks: Rows) =>
    feeds.get(venue)!.snapshot(pair, bids, asks, now)
  return { events, book, tick: (ms: number) => (now += ms) }
}

/** What the last line of `explain` must say: the record's opening net, in % and in bps. */
const netText = (netBps: number) => spreadText(netBps)

describe('the opening walk', () => {
  test('a cross records both books’ levels walked, and reproduces the opening net exactly', () => {
    const { events, book, tick } = setup(
      { binance: ['BTC/USDT'], kraken: ['BTC/USDT'] },
      { binance: 10, kraken: 26 },
    )
    book(
      'binance',
      'BTC/USDT',
      [['99.5', '100']],
      [
        ['100.00', '3'],
        ['100.10', '5'],
        ['100.20', '100'],
      ],
    )
    book(
      'kraken',
      'BTC/USDT',
      [
        ['101.30', '2'],
        ['101.10', '4'],
        ['100.90', '100'],
      ],
      [['101.5', '100']],
    )
    expect(events.map((e) => e.type)).toEqual(['opened'])
    const o = events[0]!.opportunity
    const walk = o.walk!
    expect(walk.sizeQuote).toBe(1000)
    const [buy, sell] = walk.legs
    // 1,000 USDT: 3 BTC at 100 (300), 5 at 100.1 (500.5), the last 199.5 USDT at 100.2.
    expect(buy).toMatchObject({ venue: 'binance', market: 'BTC/USDT', side: 'buy', feeBps: 10 })
    expect(buy!.levels.map((l) => [l.pxText, l.qtyText])).toEqual([
      ['100.00', '3'],
      ['100.10', '5'],
      ['100.20', '100'],
    ])
    expect(buy!.levels[0]!.taken).toBe(3)
    expect(buy!.levels[1]!.taken).toBe(5)
    expect(buy!.levels[2]!.taken).toBeCloseTo(199.5 / 100.2, 12)
    expect(buy!.amountIn).toBe(1000)
    expect(buy!.amountOut).toBeCloseTo(8 + 199.5 / 100.2, 12)
    expect(buy!.amountAfterFee).toBeCloseTo(buy!.amountOut * 0.999, 12)
    // The base left after Binance's fee is sold on Kraken's bids: 2, 4, then the rest.
    expect(sell).toMatchObject({ venue: 'kraken', market: 'BTC/USDT', side: 'sell', feeBps: 26 })
    expect(sell!.amountIn).toBe(buy!.amountAfterFee)
    expect(sell!.levels.map((l) => l.taken)).toEqual([2, 4, buy!.amountAfterFee - 6])
    expect(sell!.amountAfterFee).toBeCloseTo(sell!.amountOut * (1 - 0.0026), 12)
    // The very numbers of the opening quote.
    expect(walkNetBps(walk)).toBe(o.open.netBps)
    expect(sell!.amountAfterFee - 1000).toBe(o.open.profitQuote)
    expect(buy!.amountIn / buy!.amountOut).toBe(o.open.buyPrice)
    expect(toRecord(o).walk).toBe(walk)

    // Updates and the close keep the walk of the opening, the same object: never walked again.
    tick(1)
    book('kraken', 'BTC/USDT', [['101.40', '50']], [['101.5', '100']])
    tick(1)
    book('kraken', 'BTC/USDT', [['99', '50']], [['101.5', '100']])
    expect(events.map((e) => e.type)).toEqual(['opened', 'updated', 'closed'])
    for (const e of events) expect(e.opportunity.walk).toBe(walk)
    expect(events[1]!.opportunity.last.netBps).not.toBe(o.open.netBps)

    // The rendered arithmetic ends with the record's opening net.
    const r = toRecord(o)
    const lines = explain(r)
    expect(lines.at(-1)).toContain(netText(r.netBpsOpen))
    expect(lines.at(-1)).toStartWith('Net: ')
    expect(lines.join('\n')).not.toContain('recorded at the opening')
  })

  test('a triangle records its three legs, and the rendered net is the stored one', () => {
    const { events, book } = setup(
      { okx: ['BTC/USDT', 'ETH/BTC', 'ETH/USDT'] },
      { okx: 10 },
      { symbols: [], triangles: [['USDT', 'BTC', 'ETH']] },
    )
    book(
      'okx',
      'BTC/USDT',
      [['49990', '10']],
      [
        ['50000', '0.01'],
        ['50010.5', '10'],
      ],
    )
    book('okx', 'ETH/BTC', [['0.0499', '1000']], [['0.05', '1000']])
    expect(events).toHaveLength(0)
    book(
      'okx',
      'ETH/USDT',
      [
        ['2600', '0.1'],
        ['2599.5', '1000'],
      ],
      [['2601', '1000']],
    )
    expect(events.map((e) => e.type)).toEqual(['opened'])
    const o = events[0]!.opportunity
    expect(o.kind).toBe('triangle')
    const walk = o.walk!
    expect(walk.legs.map((l) => [l.venue, l.market, l.side, l.levels.length])).toEqual([
      ['okx', 'BTC/USDT', 'buy', 2],
      ['okx', 'ETH/BTC', 'buy', 1],
      ['okx', 'ETH/USDT', 'sell', 2],
    ])
    // Each leg spends what the one before it kept after its fee.
    for (let k = 1; k < 3; k++)
      expect(walk.legs[k]!.amountIn).toBe(walk.legs[k - 1]!.amountAfterFee)
    expect(walkNetBps(walk)).toBe(o.open.netBps)
    const r = toRecord(o)
    const lines = explain(r)
    expect(lines.at(-1)).toContain(netText(r.netBpsOpen))
    expect(lines[0]).toContain('triangle USDT>BTC>ETH>USDT on okx')
    expect(
      lines.some((l) => l.includes('buy 0.01 BTC at 50,000 = 500 USDT (the whole level)')),
    ).toBe(true)
  })

  test('a cross-quote route records its three legs across the two venues', () => {
    const { events, book } = setup(
      { binance: ['BTC/USDT'], kraken: ['BTC/USD', 'USDT/USD'] },
      { binance: 10, kraken: 26 },
      { quotes: ['USDT', 'USD'] },
    )
    book('binance', 'BTC/USDT', [['99.9', '100']], [['100', '100']])
    book('kraken', 'BTC/USD', [['102', '100']], [['102.1', '100']])
    book('kraken', 'USDT/USD', [['1.0005', '100000']], [['1.001', '100000']])
    const opened = events.filter((e) => e.type === 'opened')
    expect(opened).toHaveLength(1)
    const o = opened[0]!.opportunity
    expect(o.kind).toBe('cross-quote')
    expect(o.walk!.legs.map((l) => `${l.side} ${l.market}@${l.venue}`)).toEqual([
      'buy BTC/USDT@binance',
      'sell BTC/USD@kraken',
      'buy USDT/USD@kraken',
    ])
    expect(walkNetBps(o.walk!)).toBe(o.open.netBps)
    expect(explain(toRecord(o)).at(-1)).toContain(netText(o.open.netBps))
  })

  test('walkChain matches crossSpread and triangleSpread to the last bit on random books', () => {
    let seed = 42
    const rand = () => (seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31) / 2 ** 31
    const levels = (start: number, step: number): Level[] =>
      Array.from({ length: 1 + Math.floor(rand() * 6) }, (_, i) => {
        const px = Number((start + step * i * (1 + rand())).toFixed(4))
        const qty = Number((0.5 + rand() * 4).toFixed(3))
        return { px, qty, pxText: String(px), qtyText: String(qty) }
      })
    for (let i = 0; i < 300; i++) {
      const asks = levels(100, 0.05)
      const bids = levels(100.4, -0.05)
      const size = 50 + rand() * 600
      const legs: WalkLegBook[] = [
        { venue: 'binance', market: 'BTC/USDT', side: 'buy', levels: asks, feeBps: 10 },
        { venue: 'kraken', market: 'BTC/USDT', side: 'sell', levels: bids, feeBps: 26 },
      ]
      const cross = crossSpread({
        asks,
        bids,
        buyFeeBps: 10,
        sellFeeBps: 26,
        sizeQuote: size,
        thresholdBps: 10,
      })
      const walk = walkChain(legs, size)
      if (cross.depth !== 'ok') {
        expect(walk).toBeUndefined()
        continue
      }
      expect(walkNetBps(walk!)).toBe(cross.netBps)
      const third = levels(1, 0.0001)
      const chain = [...legs, { ...legs[0]!, market: 'USDT/USD', levels: third }]
      const tri = triangleSpread(chain, size, 10)
      const triWalk = walkChain(chain, size)
      if (tri.depth === 'ok') expect(walkNetBps(triWalk!)).toBe(tri.netBps)
      else expect(triWalk).toBeUndefined()
    }
  })
})

describe('the opening net at another size, from the walk', () => {
  test('a cross by hand: smaller nets more, a little beyond the size walked is exact, further is unknown', () => {
    // HAND_WALK (test/support.ts) works each size out by hand.
    expect(walkNetBpsAt(HAND_WALK, 1000)).toBeCloseTo(110.26789296875, 9)
    expect(walkNetBpsAt(HAND_WALK, 500)).toBeCloseTo(279.4103, 9)
    expect(walkNetBpsAt(HAND_WALK, 1500)).toBeCloseTo(53.853790625, 9)
    expect(walkNetBpsAt(HAND_WALK, 1524)).toBeDefined() // every ask the walk read
    expect(walkNetBpsAt(HAND_WALK, 1525)).toBeUndefined() // would need an ask never read
    expect(walkNetBpsAt(HAND_WALK, 5000)).toBeUndefined()
    // At 500 only the first level of each book is taken.
    const at500 = walkAt(HAND_WALK, 500)!
    expect(at500.sizeQuote).toBe(500)
    expect(at500.legs.map((l) => l.levels.map((v) => [v.pxText, v.taken]))).toEqual([
      [['100', 5]],
      [['103', 4.995]],
    ])
  })

  test('a cycle by hand: the last leg running out makes the size unknown', () => {
    // USDT → BTC → ETH → USDT, no fees, walked at 1000: 10 BTC at 50 and 500 / 51.2 = 9.765625
    // at 51.2; 20 ETH at 0.5 and 9.765625 / 0.512 = 19.073486328125 at 0.512; sold 20 at 25.5
    // (510) and the rest at 25 (476.837158203125): 986.837158203125 back, −131.62841796875 bps.
    const walk: OpeningWalk = {
      sizeQuote: 1000,
      legs: [
        {
          venue: 'okx',
          market: 'BTC/USDT',
          side: 'buy',
          feeBps: 0,
          levels: [
            { pxText: '50', qtyText: '10', taken: 10 },
            { pxText: '51.2', qtyText: '10', taken: 9.765625 },
          ],
          amountIn: 1000,
          amountOut: 19.765625,
          amountAfterFee: 19.765625,
        },
        {
          venue: 'okx',
          market: 'ETH/BTC',
          side: 'buy',
          feeBps: 0,
          levels: [
            { pxText: '0.5', qtyText: '20', taken: 20 },
            { pxText: '0.512', qtyText: '30', taken: 19.073486328125 },
          ],
          amountIn: 19.765625,
          amountOut: 39.073486328125,
          amountAfterFee: 39.073486328125,
        },
        {
          venue: 'okx',
          market: 'ETH/USDT',
          side: 'sell',
          feeBps: 0,
          levels: [
            { pxText: '25.5', qtyText: '20', taken: 20 },
            { pxText: '25', qtyText: '19.5', taken: 19.073486328125 },
          ],
          amountIn: 39.073486328125,
          amountOut: 986.837158203125,
          amountAfterFee: 986.837158203125,
        },
      ],
    }
    expect(walkNetBpsAt(walk, 1000)).toBeCloseTo(-131.62841796875, 9)
    // 500: 10 BTC, 20 ETH, sold at 25.5 for 510: +200 bps.
    expect(walkNetBpsAt(walk, 500)).toBeCloseTo(200, 9)
    // 1012 buys all 20 BTC read, which buy 39.53125 ETH: more than the 39.5 bid the walk read.
    expect(walkNetBpsAt(walk, 1011)).toBeDefined()
    expect(walkNetBpsAt(walk, 1012)).toBeUndefined()
  })

  test('no walk, an empty walk or a size that is no size: unknown', () => {
    expect(walkNetBpsAt(undefined, 1000)).toBeUndefined()
    expect(walkNetBpsAt({ sizeQuote: 1000, legs: [] }, 500)).toBeUndefined()
    for (const size of [0, -1, NaN, Infinity]) expect(walkNetBpsAt(HAND_WALK, size)).toBeUndefined()
  })

  test('a detector’s walk at other sizes is the detector’s net there, cross and cross-quote', () => {
    // Random books; the walk at `walked` recomputed at other sizes gives what crossSpread and
    // triangleSpread give on the whole books wherever the walk knows, and never a guess beyond.
    let seed = 7
    const rand = () => (seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31) / 2 ** 31
    const levels = (start: number, step: number): Level[] =>
      Array.from({ length: 1 + Math.floor(rand() * 8) }, (_, i) => {
        const px = Number((start + step * i * (1 + rand())).toFixed(4))
        const qty = Number((0.5 + rand() * 4).toFixed(3))
        return { px, qty, pxText: String(px), qtyText: String(qty) }
      })
    let known = 0
    let unknown = 0
    for (let i = 0; i < 200; i++) {
      const asks = levels(100, 0.05)
      const bids = levels(100.4, -0.05)
      const third = levels(1, 0.0001)
      const cross: WalkLegBook[] = [
        { venue: 'binance', market: 'BTC/USDT', side: 'buy', levels: asks, feeBps: 10 },
        { venue: 'kraken', market: 'BTC/USD', side: 'sell', levels: bids, feeBps: 26 },
      ]
      const chain = [...cross, { ...cross[0]!, venue: 'kraken', market: 'USDT/USD', levels: third }]
      const walked = 50 + rand() * 300
      for (const legs of [cross, chain]) {
        const walk = walkChain(legs, walked)
        if (walk === undefined) continue
        for (const size of [walked * rand(), walked, walked * (1 + rand()), walked * 3]) {
          const full =
            legs.length === 2
              ? crossSpread({
                  asks,
                  bids,
                  buyFeeBps: 10,
                  sellFeeBps: 26,
                  sizeQuote: size,
                  thresholdBps: 10,
                }).netBps
              : triangleSpread(legs, size, 10).netBps
          const net = walkNetBpsAt(walk, size)
          if (size <= walked) expect(net).toBeDefined()
          if (net === undefined) {
            unknown++
            continue
          }
          known++
          expect(net).toBe(full)
        }
      }
    }
    expect(known).toBeGreaterThan(100)
    expect(unknown).toBeGreaterThan(10)
  })
})

describe('explain', () => {
  test('each level, the size-weighted price, each fee, the gross and the net, by hand', () => {
    const { events, book } = setup(
      { binance: ['BTC/USDT'], kraken: ['BTC/USDT'] },
      { binance: 10, kraken: 10 },
    )
    book('binance', 'BTC/USDT', [['59000', '1']], [['60000.10', '0.5']])
    book('kraken', 'BTC/USDT', [['60300.00', '0.5']], [['60400', '1']])
    const r = toRecord(events[0]!.opportunity)
    const lines = explain(r)
    const base = 1000 / 60000.1
    expect(lines[0]).toBe(
      `cross BTC/USDT: buy on binance, sell on kraken, opened ${new Date(r.openedAtMs).toISOString()} at a trade of 1,000 USDT.`,
    )
    expect(lines).toContain('1. buy BTC/USDT on binance, walking its asks with 1,000 USDT:')
    expect(lines).toContain('   buy 0.01666663889 BTC at 60,000.10 = 1,000 USDT (of 0.5 offered)')
    expect(lines).toContain(
      '   1,000 USDT for 0.01666663889 BTC: size-weighted price 1,000 / 0.01666663889 = 60,000.1 USDT',
    )
    expect(lines).toContain(
      `   taker fee 10 bps of 0.01666663889 BTC = ${new Intl.NumberFormat('en-US', { maximumSignificantDigits: 10 }).format(base * 0.001)} BTC, leaving 0.01664997225 BTC`,
    )
    expect(lines).toContain('2. sell BTC/USDT on kraken, walking its bids with 0.01664997225 BTC:')
    expect(lines.some((l) => l.startsWith('   sell 0.01664997225 BTC at 60,300.00 = '))).toBe(true)
    expect(lines).toContain('Fees: 10 + 10 = 20 bps, each taken from what its leg got.')
    expect(lines).toContain(`Gross at the top of book: ${spreadText(r.grossBpsOpen)}.`)
    expect(lines.some((l) => l.startsWith('Gross at this size before fees: '))).toBe(true)
    expect(lines.at(-1)).toBe(
      `Net: (${new Intl.NumberFormat('en-US', { maximumSignificantDigits: 10 }).format(r.walk!.legs[1]!.amountAfterFee)} − 1,000) / 1,000 = ${spreadText(r.netBpsOpen)}.`,
    )
    // (60300 / 60000.1) · 0.999² − 1 = +29.89 bps: % with two decimals, and bps.
    expect(spreadText(r.netBpsOpen)).toBe('+0.30% (+29.89 bps)')
  })

  test('an opportunity stored before walks were kept says so', () => {
    const { events, book } = setup(
      { binance: ['BTC/USDT'], kraken: ['BTC/USDT'] },
      { binance: 10, kraken: 10 },
    )
    book('binance', 'BTC/USDT', [['99.9', '100']], [['100', '100']])
    book('kraken', 'BTC/USDT', [['100.5', '100']], [['100.6', '100']])
    const r = { ...toRecord(events[0]!.opportunity), walk: undefined }
    const lines = explain(r)
    expect(lines).toHaveLength(1)
    expect(lines[0]).toContain('recorded before opening walks were kept')
  })
})
