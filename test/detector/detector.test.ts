import { describe, expect, test } from 'bun:test'
import { Books } from '../../src/book/books.ts'
import { Detector, triangleMarkets, type DetectorOptions } from '../../src/detector/detector.ts'
import { chainMaxSize, maxSizeAtThreshold } from '../../src/detector/spread.ts'
import { toRecord } from '../../src/detector/record.ts'
import type { OpportunityEvent } from '../../src/detector/types.ts'
import type { VenueId } from '../../src/types.ts'
import { venueById } from '../../src/venues/index.ts'
import { toLevels } from '../../src/venues/venue.ts'
import { transferCheck } from '../../src/transfers/check.ts'
import { TransferFacts } from '../../src/transfers/facts.ts'
import type { TransferFact } from '../../src/transfers/types.ts'
import { scriptFeed, stopAfterEach, type ScriptedFeed } from '../support.ts'

const FEES = { binance: 10, kraken: 10, coinbase: 10, bitstamp: 10, okx: 10, bybit: 10 }
const track = stopAfterEach()

function setup(opts: Partial<DetectorOptions> = {}, symbols = ['BTC/USDT']) {
  let now = 1_000_000
  const venues: VenueId[] = ['binance', 'kraken', 'okx']
  const books = new Books()
  const feeds = new Map<VenueId, ScriptedFeed>()
  for (const v of venues) feeds.set(v, track(scriptFeed(books, venueById(v)!, symbols, now)))
  const detector = new Detector({
    books,
    venues,
    symbols,
    feeBps: FEES,
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
  const feed = (venue: VenueId) => feeds.get(venue)!
  const book = (venue: VenueId, bid: string, ask: string, qty = '100', pair = 'BTC/USDT') =>
    feed(venue).snapshot(pair, [[bid, qty]], [[ask, qty]], now)
  return {
    books,
    detector,
    events,
    book,
    feed,
    tick: (ms: number) => (now += ms),
    types: () => events.map((e) => e.type),
  }
}

describe('detector: cross-venue opportunities', () => {
  test('the openings of one book update share its pass; the next update is another pass', () => {
    const { book, events } = setup()
    book('binance', '99.9', '100')
    book('okx', '99.9', '100')
    // Kraken's bid jumps: buy Binance and buy OKX, both selling on Kraken, open in one pass.
    book('kraken', '100.5', '100.6')
    const opened = events.filter((e) => e.type === 'opened')
    expect(opened.map((e) => e.opportunity.buyVenue).sort()).toEqual(['binance', 'okx'])
    const [first, second] = opened
    expect(first!.pass).toBeNumber()
    expect(second!.pass).toBe(first!.pass)
    expect(second!.atMs).toBe(first!.atMs)
    // Binance's ask drops below Kraken's too: a later pass.
    book('kraken', '99.9', '100')
    book('binance', '100.5', '100.6')
    const later = events.filter((e) => e.type === 'opened').slice(2)
    expect(later.length).toBeGreaterThan(0)
    for (const e of later) expect(e.pass).toBeGreaterThan(first!.pass!)
  })

  test('opens once with the right numbers when the net spread reaches the threshold', () => {
    const { book, events } = setup()
    book('binance', '99.9', '100')
    book('okx', '99.9', '100.6')
    expect(events).toHaveLength(0)
    book('kraken', '100.5', '100.6') // buy binance at 100, sell kraken at 100.5
    expect(events.map((e) => e.type)).toEqual(['opened'])
    const o = events[0]!.opportunity
    expect(o).toMatchObject({
      kind: 'cross',
      symbol: 'BTC/USDT',
      buyVenue: 'binance',
      sellVenue: 'kraken',
      anomaly: false,
    })
    // (100.5 / 100) · 0.999 · 0.999 − 1 = 0.0029960…
    const net = (1.005 * 0.999 * 0.999 - 1) * 10_000
    expect(o.open.grossBps).toBeCloseTo(50, 9)
    expect(o.open.netBps).toBeCloseTo(net, 9)
    expect(o.open.profitQuote).toBeCloseTo(net / 10, 9)
    expect(o.open.buyPrice).toBeCloseTo(100, 12)
    expect(o.open.sellPrice).toBeCloseTo(100.5, 12)
    expect(o.open.feeBps).toBe(20)
    // 100 BTC at 100 is the buy side's whole depth: 10,000 quote.
    expect(o.open.maxSizeQuote).toBeCloseTo(10_000, 6)
    expect(o.open.buyAgeMs).toBe(0)
  })

  test('hysteresis: stays open between the close and open thresholds, closes below, no flapping', () => {
    const { book, events, types } = setup()
    book('binance', '99.9', '100')
    book('kraken', '100.2', '100.5') // (1.002 · 0.998001 − 1) < 0: nothing
    expect(events).toHaveLength(0)
    book('kraken', '100.32', '100.5') // 11.95 bps: opens (threshold 10)
    for (const bid of ['100.27', '100.33', '100.28', '100.34', '100.27'])
      book('kraken', bid, '100.5') // 7.0–12.9 bps
    expect(types().filter((t) => t !== 'updated')).toEqual(['opened'])
    book('kraken', '100.24', '100.5') // 3.96 bps: below 10 − 5
    expect(types().at(-1)).toBe('closed')
    expect(events.at(-1)!.opportunity.closeReason).toContain('below the threshold')
    book('kraken', '100.29', '100.5') // 8.97 bps: above the close line but below the open line
    expect(types().filter((t) => t === 'opened')).toHaveLength(1)
    // The closed opportunity keeps its opening, peak and closing nets apart: the last is the one
    // that closed it (3.96 bps), not the last value while it was open.
    const o = events[0]!.opportunity
    expect(o.open.netBps).toBeCloseTo((1.0032 * 0.998001 - 1) * 10_000, 8)
    expect(o.peakNetBps).toBeCloseTo((1.0034 * 0.998001 - 1) * 10_000, 8)
    expect(o.last.netBps).toBeCloseTo((1.0024 * 0.998001 - 1) * 10_000, 8)
    expect(toRecord(o)).toMatchObject({ netBpsOpen: o.open.netBps, peakNetBps: o.peakNetBps })
    expect(toRecord(o).netBps).toBeCloseTo(3.96, 1)
  })

  test('a leg that goes quiet past MAX_QUOTE_AGE_MS closes the opportunity', () => {
    const { book, events, detector, tick } = setup()
    book('binance', '99.9', '100')
    book('kraken', '100.5', '100.6')
    tick(900)
    detector.sweep()
    expect(events.map((e) => e.type)).toEqual(['opened'])
    tick(200)
    detector.sweep()
    expect(events.map((e) => e.type)).toEqual(['opened', 'closed'])
    expect(events[1]!.opportunity.closeReason).toMatch(
      /leg stale: binance BTC\/USDT quote older than 1000 ms/,
    )
  })

  test('no signal from a stale quote: the other book updating does not open on old data', () => {
    const { book, events, tick } = setup()
    book('binance', '99.9', '100')
    tick(1500)
    book('kraken', '100.5', '100.6')
    expect(events).toHaveLength(0)
  })

  test('a resync or a dropped connection closes the opportunity at once', () => {
    const { book, events, feed } = setup()
    book('binance', '99.9', '100')
    book('kraken', '100.5', '100.6')
    // Kraken's checksum over the book it sends does not match: the book resyncs.
    feed('kraken').snapshot('BTC/USDT', [['100.5', '100']], [['100.6', '100']], 0, { checksum: 1 })
    expect(events.map((e) => e.type)).toEqual(['opened', 'closed'])
    expect(events[1]!.opportunity.closeReason).toContain('checksum mismatch')
    book('kraken', '100.5', '100.6')
    feed('binance').down(0)
    expect(events.map((e) => e.type)).toEqual(['opened', 'closed', 'opened', 'closed'])
    expect(events[3]!.opportunity.closeReason).toContain('connection down')
  })

  test('spreads above MAX_SPREAD_PCT are recorded as anomalies, never as opportunities', () => {
    const { book, events } = setup()
    book('binance', '99.9', '100')
    book('kraken', '106', '106.1') // 600 bps gross > 500
    expect(events.map((e) => e.type)).toEqual(['opened'])
    expect(events[0]!.opportunity.anomaly).toBe(true)
    book('kraken', '100.5', '100.6') // back to a normal spread: the anomaly closes, an opportunity opens
    expect(events.map((e) => [e.type, e.opportunity.anomaly])).toEqual([
      ['opened', true],
      ['closed', true],
      ['opened', false],
    ])
  })

  test('a book too thin for the trade size gives no opportunity', () => {
    const { book, events } = setup()
    book('binance', '99.9', '100', '5') // 500 quote of asks < 1000
    book('kraken', '100.5', '100.6')
    expect(events).toHaveLength(0)
  })

  test('work per update is the venue pairs of that symbol only', () => {
    const symbols = Array.from({ length: 20 }, (_, i) => `C${i}/USDT`)
    const { book, detector } = setup({}, symbols)
    const before = detector.stats.evaluations
    book('binance', '99.9', '100', '100', 'C7/USDT')
    // binance is in 2 · (3 − 1) = 4 ordered pairs of C7/USDT, whatever the number of symbols.
    expect(detector.stats.evaluations - before).toBe(4)
  })

  test('maxSizeAt: an open opportunity’s largest profitable size at another threshold, from the live books', () => {
    const { feed, events, detector, tick } = setup()
    const asks: [string, string][] = [
      ['100', '10'],
      ['100.2', '10'],
      ['100.4', '100'],
    ]
    feed('binance').snapshot('BTC/USDT', [['99.9', '100']], asks, tick(0))
    feed('kraken').snapshot('BTC/USDT', [['100.5', '1000']], [['100.6', '100']], tick(0))
    const o = events.find((e) => e.type === 'opened')!.opportunity
    // The same walk as the pure function over the same books, with both venues' fees.
    const at = (bid: string, thresholdBps: number) =>
      maxSizeAtThreshold({
        asks: toLevels(asks),
        bids: toLevels([[bid, '1000']]),
        buyFeeBps: 10,
        sellFeeBps: 10,
        thresholdBps,
      })
    // At MIN_SPREAD_PCT it is the opportunity's own figure.
    expect(detector.maxSizeAt(o, 10)!.maxSizeQuote).toBeCloseTo(o.open.maxSizeQuote, 9)
    expect(detector.maxSizeAt(o, 10)!.maxProfitQuote).toBeCloseTo(o.open.maxProfitQuote, 9)
    const low = detector.maxSizeAt(o, 5)!
    const high = detector.maxSizeAt(o, 20)!
    expect(low).toEqual(at('100.5', 5))
    expect(high).toEqual(at('100.5', 20))
    expect(low.maxSizeQuote).toBeGreaterThan(o.open.maxSizeQuote)
    expect(high.maxSizeQuote).toBeLessThan(o.open.maxSizeQuote)
    // Above the top of book (29.96 bps after fees): nothing.
    expect(detector.maxSizeAt(o, 30)).toEqual({ maxSizeQuote: 0, maxProfitQuote: 0 })
    // It follows the books: Kraken's bid moves while the opportunity stays open.
    feed('kraken').snapshot('BTC/USDT', [['100.45', '1000']], [['100.6', '100']], tick(1))
    expect(events.at(-1)!.type).toBe('updated')
    expect(detector.maxSizeAt(o, 5)).toEqual(at('100.45', 5))
    // Closed: no answer.
    feed('kraken').snapshot('BTC/USDT', [['99.9', '1000']], [['100.6', '100']], tick(1))
    expect(events.at(-1)!.type).toBe('closed')
    expect(detector.maxSizeAt(o, 5)).toBeUndefined()
  })

  test('spreads() reports every ordered pair at a chosen size', () => {
    const { book, detector } = setup()
    book('binance', '99.9', '100')
    book('kraken', '100.5', '100.6')
    const rows = detector.spreads(500)
    expect(rows).toHaveLength(6)
    const row = rows.find((r) => r.buyVenue === 'binance' && r.sellVenue === 'kraken')!
    expect(row).toMatchObject({ fresh: true, depth: 'ok', sizeQuote: 500 })
    expect(row.netBps).toBeCloseTo((1.005 * 0.999 * 0.999 - 1) * 10_000, 9)
    expect(rows.find((r) => r.buyVenue === 'okx')!.fresh).toBe(false)
  })
})

describe('detector: triangles', () => {
  test('markets and sides of a cycle', () => {
    expect(triangleMarkets(['USDT', 'BTC', 'ETH'])).toEqual([
      { market: 'BTC/USDT', side: 'buy' },
      { market: 'ETH/BTC', side: 'buy' },
      { market: 'ETH/USDT', side: 'sell' },
    ])
    expect(triangleMarkets(['USDT', 'ETH', 'BTC'])).toEqual([
      { market: 'ETH/USDT', side: 'buy' },
      { market: 'ETH/BTC', side: 'sell' },
      { market: 'BTC/USDT', side: 'sell' },
    ])
  })

  test('a profitable cycle on one venue opens a triangle opportunity with its three legs', () => {
    const { book, events } = setup({ triangles: [['USDT', 'BTC', 'ETH']] }, [
      'BTC/USDT',
      'ETH/BTC',
      'ETH/USDT',
    ])
    const snap = (pair: string, bid: string, ask: string, qty: string) =>
      book('binance', bid, ask, qty, pair)
    snap('BTC/USDT', '49990', '50000', '10')
    snap('ETH/BTC', '0.0499', '0.05', '1000')
    expect(events).toHaveLength(0)
    snap('ETH/USDT', '2600', '2601', '1000')
    expect(events.map((e) => e.type)).toEqual(['opened'])
    const o = events[0]!.opportunity
    expect(o).toMatchObject({
      kind: 'triangle',
      symbol: 'USDT>BTC>ETH>USDT',
      buyVenue: 'binance',
      sellVenue: 'binance',
    })
    const usdt = (((1000 / 50000) * 0.999) / 0.05) * 0.999 * 2600 * 0.999
    expect(o.open.netBps).toBeCloseTo((usdt / 1000 - 1) * 10_000, 8)
    expect(o.open.grossBps).toBeCloseTo(400, 8)
    expect(o.open.legs).toEqual([
      { venue: 'binance', market: 'BTC/USDT', side: 'buy', price: 50000 },
      { venue: 'binance', market: 'ETH/BTC', side: 'buy', price: 0.05 },
      { venue: 'binance', market: 'ETH/USDT', side: 'sell', price: 2600 },
    ])
  })
})

describe('detector: a triangle’s largest profitable size at another threshold', () => {
  test('maxSizeAt walks its three books on the venue, each leg paying its fee', () => {
    const { feed, events, detector, tick } = setup({ triangles: [['USDT', 'BTC', 'ETH']] }, [
      'BTC/USDT',
      'ETH/BTC',
      'ETH/USDT',
    ])
    const btcAsks: [string, string][] = [
      ['50000', '0.1'],
      ['50500', '10'],
    ]
    feed('binance').snapshot('BTC/USDT', [['49990', '10']], btcAsks, tick(0))
    feed('binance').snapshot('ETH/BTC', [['0.0499', '1000']], [['0.05', '1000']], tick(0))
    feed('binance').snapshot('ETH/USDT', [['2600', '1000']], [['2601', '1000']], tick(0))
    const o = events.find((e) => e.type === 'opened')!.opportunity
    expect(o.kind).toBe('triangle')
    const cycle = (thresholdBps: number) =>
      chainMaxSize(
        [
          { side: 'buy', levels: toLevels(btcAsks), feeBps: 10 },
          { side: 'buy', levels: toLevels([['0.05', '1000']]), feeBps: 10 },
          { side: 'sell', levels: toLevels([['2600', '1000']]), feeBps: 10 },
        ],
        thresholdBps,
      )
    expect(detector.maxSizeAt(o, 10)!.maxSizeQuote).toBeCloseTo(o.open.maxSizeQuote, 9)
    // 5,000 USDT at 3.69 % after fees, then 2.66 % per unit: at MIN_SPREAD_PCT the depth is the
    // limit (510,000 USDT); 3 % and 3.5 % are reached inside the second level.
    expect(o.open.maxSizeQuote).toBeCloseTo(510_000, 6)
    const at300 = detector.maxSizeAt(o, 300)!
    const at350 = detector.maxSizeAt(o, 350)!
    expect(at300).toEqual(cycle(300))
    expect(at350).toEqual(cycle(350))
    expect(at300.maxSizeQuote).toBeLessThan(o.open.maxSizeQuote)
    expect(at350.maxSizeQuote).toBeLessThan(at300.maxSizeQuote)
    expect(at350.maxSizeQuote).toBeGreaterThan(5000)
    expect(detector.maxSizeAt(o, 400)).toEqual({ maxSizeQuote: 0, maxProfitQuote: 0 })
  })
})

describe('detector: resuming after a restart', () => {
  /** The record an earlier process stored for an opportunity it had open when it died. */
  function openedEarlier() {
    const first = setup()
    first.book('binance', '99.9', '100')
    first.book('kraken', '100.5', '100.6')
    const o = first.events[0]!.opportunity
    expect(o.closedAtMs).toBeUndefined()
    return toRecord(o)
  }

  test('an opportunity still on the live books is the same one: no second opened event', () => {
    const record = openedEarlier()
    const { book, detector, events, types } = setup()
    detector.resume([record])
    expect(detector.openOpportunities().map((o) => o.id)).toEqual([record.id])
    book('binance', '99.9', '100')
    book('kraken', '100.5', '100.6')
    expect(types()).not.toContain('opened')
    book('kraken', '100.45', '100.6')
    expect(types()).toEqual(['updated', 'updated'])
    expect(events.at(-1)!.opportunity.id).toBe(record.id)
    expect(events.at(-1)!.opportunity.openedAtMs).toBe(record.openedAtMs)
  })

  test('one the live books no longer show closes with reason restart', () => {
    const record = openedEarlier()
    const { book, detector, events } = setup()
    detector.resume([record])
    book('binance', '99.9', '100')
    book('kraken', '100.0', '100.6') // the dislocation is over
    expect(events.map((e) => [e.type, e.opportunity.id, e.opportunity.closeReason])).toEqual([
      ['closed', record.id, 'restart'],
    ])
  })

  test('one whose books never come back closes with reason restart after the grace period', () => {
    const record = openedEarlier()
    const { detector, events, tick } = setup({ resumeGraceMs: 5_000 })
    detector.resume([record])
    detector.sweep()
    expect(events).toEqual([]) // the books are still syncing: it waits
    tick(5_000)
    detector.sweep()
    expect(events.map((e) => [e.type, e.opportunity.closeReason])).toEqual([['closed', 'restart']])
  })

  test('one this process no longer watches closes at once', () => {
    const record = { ...openedEarlier(), symbol: 'DOGE/USDT' }
    const { detector, events } = setup()
    detector.resume([record])
    expect(events.map((e) => [e.type, e.opportunity.closeReason])).toEqual([['closed', 'restart']])
  })
})

/**
 * Books on a scripted clock: each venue lists its own markets (a scripted feed each), and the
 * detector watches them with cross-quote routes between USDT and USD unless told otherwise.
 */
function world(
  listings: Record<VenueId, readonly string[]>,
  opts: Partial<DetectorOptions> = {},
  fees: Record<VenueId, number> = { binance: 10, kraken: 26, okx: 10, bitstamp: 40 },
) {
  let now = 1_000_000
  const books = new Books()
  const feeds = new Map<VenueId, ScriptedFeed>()
  const list = (venue: VenueId, pairs: readonly string[]) =>
    feeds.set(venue, track(scriptFeed(books, venueById(venue)!, pairs, now)))
  for (const [venue, pairs] of Object.entries(listings)) list(venue, pairs)
  const detector = new Detector({
    books,
    venues: Object.keys(fees),
    quotes: ['USDT', 'USD'],
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
  const book = (venue: VenueId, pair: string, bid: [string, string], ask: [string, string]) =>
    feeds.get(venue)!.snapshot(pair, [bid], [ask], now)
  const routes = (kind: string) =>
    detector
      .spreads()
      .filter((r) => r.kind === kind)
      .map((r) => `${r.symbol} ${r.buyVenue}>${r.sellVenue}`)
      .sort()
  return {
    books,
    detector,
    events,
    book,
    list,
    feed: (venue: VenueId) => feeds.get(venue)!,
    routes,
    tick: (ms: number) => (now += ms),
    types: () => events.map((e) => e.type),
  }
}

describe('detector: cross-quote routes', () => {
  /** Binance quotes BTC in USDT, Kraken in USD and converts on its USDT/USD book. */
  const LISTINGS = { binance: ['BTC/USDT'], kraken: ['BTC/USD', 'USDT/USD'] }

  test('buy X/USDT, sell X/USD, buy USDT back on USDT/USD: exact net, every fee, legs listed', () => {
    const { book, events, routes, detector } = world(LISTINGS)
    expect(routes('cross-quote')).toEqual(['BTC/USDT>BTC/USD binance>kraken'])
    book('binance', 'BTC/USDT', ['99.9', '100'], ['100', '100'])
    book('kraken', 'BTC/USD', ['102', '100'], ['102.1', '100'])
    expect(events).toHaveLength(0) // no conversion rate yet: no route
    book('kraken', 'USDT/USD', ['1.0005', '100000'], ['1.001', '100000'])
    expect(events.map((e) => e.type)).toEqual(['opened'])
    const o = events[0]!.opportunity
    expect(o).toMatchObject({
      kind: 'cross-quote',
      symbol: 'BTC/USDT>BTC/USD',
      buyVenue: 'binance',
      sellVenue: 'kraken',
      anomaly: false,
    })
    // 1,000 USDT → 10 BTC, less Binance's 0.10 % → 9.99 BTC → × 102 USD, less Kraken's 0.26 %
    // → ÷ 1.001 USDT per USD, less Kraken's 0.26 % again.
    const btc = (1000 / 100) * (1 - 0.001)
    const usd = btc * 102 * (1 - 0.0026)
    const usdt = (usd / 1.001) * (1 - 0.0026)
    expect(o.open.netBps).toBeCloseTo((usdt / 1000 - 1) * 10_000, 9)
    expect(o.open.profitQuote).toBeCloseTo(usdt - 1000, 9)
    expect(o.open.grossBps).toBeCloseTo((102 / 100 / 1.001 - 1) * 10_000, 9)
    expect(o.open.feeBps).toBe(10 + 26 + 26)
    expect(o.open.buyPrice).toBeCloseTo(100, 12)
    expect(o.open.sellPrice).toBeCloseTo(102, 12)
    expect(o.open.legs).toEqual([
      { venue: 'binance', market: 'BTC/USDT', side: 'buy', price: 100 },
      { venue: 'kraken', market: 'BTC/USD', side: 'sell', price: 102 },
      { venue: 'kraken', market: 'USDT/USD', side: 'buy', price: 1.001 },
    ])
    // Depth: Binance's 100 BTC at 100 (10,000 USDT) run out first, at a constant return.
    const r = usdt / 1000
    expect(o.open.maxSizeQuote).toBeCloseTo(10_000, 6)
    expect(o.open.maxProfitQuote).toBeCloseTo(10_000 * (r - 1), 6)
    expect(toRecord(o).legs).toEqual(o.open.legs!)
    // The API's row for the route, chosen before any spread is computed.
    const rows = detector.spreads(1000, undefined, (r) => r.markets.includes('USDT/USD'))
    expect(rows.map((r) => [r.kind, r.symbol, r.fresh, r.openId])).toEqual([
      ['cross-quote', 'BTC/USDT>BTC/USD', true, o.id],
    ])
    expect(rows[0]!.netBps).toBeCloseTo(o.open.netBps, 9)
    expect(rows[0]!.legs!.map((l) => `${l.side} ${l.market} on ${l.venue}`)).toEqual([
      'buy BTC/USDT on binance',
      'sell BTC/USD on kraken',
      'buy USDT/USD on kraken',
    ])
  })

  test('maxSizeAt walks all three books of a cross-quote route, with every leg’s fee', () => {
    const { feed, events, detector, tick } = world(LISTINGS)
    const btcUsdtAsks: [string, string][] = [
      ['100', '1'],
      ['102', '10'],
    ]
    feed('binance').snapshot('BTC/USDT', [['99.9', '100']], btcUsdtAsks, tick(0))
    feed('kraken').snapshot('BTC/USD', [['103', '100']], [['103.1', '100']], tick(0))
    feed('kraken').snapshot('USDT/USD', [['0.9995', '1000000']], [['1', '1000000']], tick(0))
    const o = events.find((e) => e.type === 'opened')!.opportunity
    const route = (thresholdBps: number) =>
      chainMaxSize(
        [
          { side: 'buy', levels: toLevels(btcUsdtAsks), feeBps: 10 },
          { side: 'sell', levels: toLevels([['103', '100']]), feeBps: 26 },
          { side: 'buy', levels: toLevels([['1', '1000000']]), feeBps: 26 },
        ],
        thresholdBps,
      )
    expect(detector.maxSizeAt(o, 10)!.maxSizeQuote).toBeCloseTo(o.open.maxSizeQuote, 9)
    const sizes = [5, 10, 100, 150].map((t) => detector.maxSizeAt(o, t)!)
    expect(sizes).toEqual([5, 10, 100, 150].map(route))
    // Up to 0.53 % (the average over both levels) the asks' depth is the limit, 1,120 USDT; above
    // it, the higher the threshold, the smaller the size.
    expect(sizes[0]!.maxSizeQuote).toBeCloseTo(1120, 9)
    expect(sizes[1]!.maxSizeQuote).toBeCloseTo(1120, 9)
    expect(sizes[2]!.maxSizeQuote).toBeLessThan(1120)
    expect(sizes[3]!.maxSizeQuote).toBeLessThan(sizes[2]!.maxSizeQuote)
    expect(detector.maxSizeAt(o, 300)).toEqual({ maxSizeQuote: 0, maxProfitQuote: 0 })
  })

  test('a conversion book listed the other way round (USD/USDT) is sold into', () => {
    const { book, events } = world({ binance: ['BTC/USDT'], kraken: ['BTC/USD', 'USD/USDT'] })
    book('binance', 'BTC/USDT', ['99.9', '100'], ['100', '100'])
    book('kraken', 'BTC/USD', ['102', '100'], ['102.1', '100'])
    book('kraken', 'USD/USDT', ['0.999', '100000'], ['0.9995', '100000'])
    const o = events[0]!.opportunity
    const usdt = (1000 / 100) * 0.999 * 102 * 0.9974 * 0.999 * 0.9974
    expect(o.open.netBps).toBeCloseTo((usdt / 1000 - 1) * 10_000, 9)
    expect(o.open.legs![2]).toEqual({
      venue: 'kraken',
      market: 'USD/USDT',
      side: 'sell',
      price: 0.999,
    })
  })

  test('no conversion book, or none live: no route and no opportunity, USD is never USDT', () => {
    const none = world({ binance: ['BTC/USDT'], kraken: ['BTC/USD'] })
    none.book('binance', 'BTC/USDT', ['99.9', '100'], ['100', '100'])
    none.book('kraken', 'BTC/USD', ['110', '100'], ['110.1', '100'])
    expect(none.routes('cross-quote')).toEqual([])
    expect(none.events).toEqual([])
    // The conversion book is listed but has no data yet (syncing).
    const syncing = world(LISTINGS)
    syncing.book('binance', 'BTC/USDT', ['99.9', '100'], ['100', '100'])
    syncing.book('kraken', 'BTC/USD', ['110', '100'], ['110.1', '100'])
    expect(syncing.routes('cross-quote')).toHaveLength(1)
    expect(syncing.detector.spreads().find((r) => r.kind === 'cross-quote')!.fresh).toBe(false)
    expect(syncing.events).toEqual([])
    // Without QUOTES there are no cross-quote routes at all.
    const off = world(LISTINGS, { quotes: undefined })
    off.book('binance', 'BTC/USDT', ['99.9', '100'], ['100', '100'])
    off.book('kraken', 'BTC/USD', ['110', '100'], ['110.1', '100'])
    off.book('kraken', 'USDT/USD', ['1.0005', '100000'], ['1.001', '100000'])
    expect(off.detector.spreads().map((r) => r.kind)).toEqual([])
    expect(off.events).toEqual([])
  })

  test('the route closes when its conversion book resyncs, and when it goes quiet', () => {
    const { book, events, feed, detector, tick, types } = world(LISTINGS)
    const open = () => {
      book('binance', 'BTC/USDT', ['99.9', '100'], ['100', '100'])
      book('kraken', 'BTC/USD', ['102', '100'], ['102.1', '100'])
      book('kraken', 'USDT/USD', ['1.0005', '100000'], ['1.001', '100000'])
    }
    open()
    expect(types()).toEqual(['opened'])
    // Kraken's checksum over the conversion book does not match: that book resyncs.
    feed('kraken').snapshot('USDT/USD', [['1.0005', '1']], [['1.001', '1']], 0, { checksum: 1 })
    expect(types()).toEqual(['opened', 'closed'])
    expect(events[1]!.opportunity.closeReason).toMatch(/^leg stale: kraken USDT\/USD .*checksum/)
    open()
    expect(types()).toEqual(['opened', 'closed', 'opened'])
    tick(600)
    book('binance', 'BTC/USDT', ['99.9', '100'], ['100', '100'])
    book('kraken', 'BTC/USD', ['102', '100'], ['102.1', '100'])
    tick(600) // the conversion book is 1,200 ms old, the others 600 ms
    detector.sweep()
    expect(types().filter((t) => t !== 'updated')).toEqual(['opened', 'closed', 'opened', 'closed'])
    expect(events.at(-1)!.opportunity.closeReason).toBe(
      'leg stale: kraken USDT/USD quote older than 1000 ms',
    )
  })

  test('a conversion update alone opens the routes it makes profitable, and skips the others', () => {
    const bases = Array.from({ length: 30 }, (_, i) => `C${i}`)
    const { book, events, detector } = world({
      binance: bases.map((b) => `${b}/USDT`),
      kraken: [...bases.map((b) => `${b}/USD`), 'USDT/USD'],
    })
    for (const b of bases) book('binance', `${b}/USDT`, ['99.9', '100'], ['100', '100'])
    // C7 sells 1 % higher on Kraken; the others at par.
    for (const b of bases) {
      book('kraken', `${b}/USD`, b === 'C7' ? ['101', '100'] : ['100', '100'], ['101.1', '100'])
    }
    // USDT at 1.01 USD: C7 returns 1.01 / 1.01 less fees, a loss.
    book('kraken', 'USDT/USD', ['1.0095', '100000'], ['1.01', '100000'])
    expect(events).toEqual([])
    let before = detector.stats.evaluations
    book('kraken', 'USDT/USD', ['1.0096', '100000'], ['1.0101', '100000'])
    // 30 routes convert through this book, none near the threshold: none is evaluated.
    expect(detector.stats.evaluations - before).toBe(0)
    before = detector.stats.evaluations
    // USDT back at par: C7's route reaches 1.01 × 0.999 × 0.9974² − 1 ≈ 42 bps.
    book('kraken', 'USDT/USD', ['0.9999', '100000'], ['1', '100000'])
    expect(events.map((e) => [e.type, e.opportunity.symbol])).toEqual([
      ['opened', 'C7/USDT>C7/USD'],
    ])
    expect(events[0]!.opportunity.open.netBps).toBeCloseTo(
      (1.01 * 0.999 * 0.9974 * 0.9974 - 1) * 10_000,
      9,
    )
    expect(detector.stats.evaluations - before).toBe(1)
    // The open route is evaluated on every conversion update, and closes when the rate turns.
    book('kraken', 'USDT/USD', ['1.0095', '100000'], ['1.01', '100000'])
    expect(events.map((e) => e.type)).toEqual(['opened', 'closed'])
  })

  test('anomaly cap and hysteresis apply as for cross routes', () => {
    const { book, events, types } = world(LISTINGS)
    book('binance', 'BTC/USDT', ['99.9', '100'], ['100', '100'])
    book('kraken', 'USDT/USD', ['0.9999', '100000'], ['1', '100000'])
    book('kraken', 'BTC/USD', ['110', '100'], ['110.1', '100']) // 1,000 bps gross > 500
    expect(events.map((e) => [e.type, e.opportunity.anomaly])).toEqual([['opened', true]])
    // Net: 1.0xx × 0.999 × 0.9974² − 1; 100.7 gives ~ 8.8 bps: under 10 but over 10 − 5.
    book('kraken', 'BTC/USD', ['100.8', '100'], ['100.9', '100'])
    expect(types()).toEqual(['opened', 'closed', 'opened'])
    book('kraken', 'BTC/USD', ['100.7', '100'], ['100.8', '100'])
    expect(types()).toEqual(['opened', 'closed', 'opened', 'updated'])
    book('kraken', 'BTC/USD', ['100.6', '100'], ['100.7', '100']) // ~ 3 bps: below 10 − 5
    expect(types().at(-1)).toBe('closed')
    expect(events.at(-1)!.opportunity.closeReason).toBe('spread fell below the threshold')
  })
})

describe('detector: markets joining and leaving the universe', () => {
  test('without SYMBOLS, every market on two venues or more gets its routes as books appear', () => {
    const { list, routes } = world({ binance: ['BTC/USDT', 'ETH/USDT'] }, { quotes: undefined })
    expect(routes('cross')).toEqual([])
    list('okx', ['BTC/USDT', 'SOL/USDT'])
    expect(routes('cross')).toEqual(['BTC/USDT binance>okx', 'BTC/USDT okx>binance'])
    list('bitstamp', ['ETH/USDT'])
    expect(routes('cross')).toEqual([
      'BTC/USDT binance>okx',
      'BTC/USDT okx>binance',
      'ETH/USDT binance>bitstamp',
      'ETH/USDT bitstamp>binance',
    ])
  })

  test('with SYMBOLS, cross routes stay limited to them', () => {
    const { list, routes } = world({ binance: ['BTC/USDT', 'ETH/USDT'] }, { symbols: ['BTC/USDT'] })
    list('okx', ['BTC/USDT', 'ETH/USDT'])
    expect(routes('cross')).toEqual(['BTC/USDT binance>okx', 'BTC/USDT okx>binance'])
  })

  test('a cross-quote route appears with its last book, whichever comes last', () => {
    const { list, routes } = world({ kraken: ['USDT/USD'] })
    list('binance', ['BTC/USDT'])
    expect(routes('cross-quote')).toEqual([])
    list('bitstamp', ['BTC/USD'])
    expect(routes('cross-quote')).toEqual([]) // Bitstamp has no conversion book
    list('kraken', ['BTC/USD'])
    expect(routes('cross-quote')).toEqual(['BTC/USDT>BTC/USD binance>kraken'])
  })

  test('a book leaving closes what its routes had open, drops them, and costs nothing after', () => {
    const { books, book, events, detector, routes } = world({
      binance: ['BTC/USDT'],
      kraken: ['BTC/USD', 'USDT/USD', 'BTC/USDT'],
    })
    book('binance', 'BTC/USDT', ['99.9', '100'], ['100', '100'])
    book('kraken', 'BTC/USDT', ['100.5', '100'], ['100.6', '100'])
    book('kraken', 'BTC/USD', ['102', '100'], ['102.1', '100'])
    book('kraken', 'USDT/USD', ['1.0005', '100000'], ['1.001', '100000'])
    expect(events.map((e) => [e.type, e.opportunity.kind])).toEqual([
      ['opened', 'cross'],
      ['opened', 'cross-quote'],
    ])
    expect(routes('cross')).toHaveLength(2)
    books.remove('kraken', ['USDT/USD'], 'listed on too few venues')
    expect(
      events.slice(2).map((e) => [e.type, e.opportunity.kind, e.opportunity.closeReason]),
    ).toEqual([['closed', 'cross-quote', 'market left the universe: listed on too few venues']])
    expect(routes('cross-quote')).toEqual([])
    expect(routes('cross')).toHaveLength(2) // the cross route does not read that book
    books.remove('kraken', ['BTC/USDT'], 'delisted')
    expect(events.at(-1)!.opportunity).toMatchObject({
      kind: 'cross',
      closeReason: 'market left the universe: delisted',
    })
    expect(detector.spreads()).toEqual([])
    expect(detector.openOpportunities()).toEqual([])
    const before = detector.stats.evaluations
    book('binance', 'BTC/USDT', ['99.8', '100'], ['100', '100'])
    expect(detector.stats.evaluations).toBe(before)
  })

  test('a resumed opportunity waits for its route to appear, and stays the same one', () => {
    const first = world(
      { binance: ['BTC/USDT'], kraken: ['BTC/USD', 'USDT/USD'] },
      { resumeGraceMs: 5_000 },
    )
    first.book('binance', 'BTC/USDT', ['99.9', '100'], ['100', '100'])
    first.book('kraken', 'BTC/USD', ['102', '100'], ['102.1', '100'])
    first.book('kraken', 'USDT/USD', ['1.0005', '100000'], ['1.001', '100000'])
    const record = toRecord(first.events[0]!.opportunity)
    const gone = { ...record, id: 'cross-quote:ETH/USDT>ETH/USD:binance>kraken:1' }
    gone.symbol = 'ETH/USDT>ETH/USD'

    const next = world({}, { resumeGraceMs: 5_000 })
    next.detector.resume([record, gone])
    expect(next.events).toEqual([]) // no books yet: both wait
    expect(next.detector.openOpportunities().map((o) => o.id)).toEqual([record.id, gone.id])
    next.list('binance', ['BTC/USDT'])
    next.list('kraken', ['BTC/USD', 'USDT/USD'])
    next.book('binance', 'BTC/USDT', ['99.9', '100'], ['100', '100'])
    next.book('kraken', 'BTC/USD', ['102', '100'], ['102.1', '100'])
    next.book('kraken', 'USDT/USD', ['1.0005', '100000'], ['1.001', '100000'])
    expect(next.types()).toEqual(['updated'])
    expect(next.events[0]!.opportunity.id).toBe(record.id)
    next.tick(5_000)
    next.detector.sweep()
    const closed = next.events.filter((e) => e.type === 'closed').map((e) => e.opportunity)
    expect(closed.find((o) => o.id === gone.id)?.closeReason).toBe('restart')
  })

  test('a resumed route this detector can never watch closes at once', () => {
    const { detector, events } = world({}, { quotes: undefined })
    detector.resume([
      {
        ...toRecord(crossQuote()),
      },
    ])
    expect(events.map((e) => [e.type, e.opportunity.closeReason])).toEqual([['closed', 'restart']])
  })
})

/** A stored-looking open cross-quote opportunity, binance>kraken. */
function crossQuote() {
  const first = world({ binance: ['BTC/USDT'], kraken: ['BTC/USD', 'USDT/USD'] })
  first.book('binance', 'BTC/USDT', ['99.9', '100'], ['100', '100'])
  first.book('kraken', 'BTC/USD', ['102', '100'], ['102.1', '100'])
  first.book('kraken', 'USDT/USD', ['1.0005', '100000'], ['1.001', '100000'])
  return first.events[0]!.opportunity
}

describe('detector: the transfer truth behind a cross-venue route', () => {
  const fact = (venue: VenueId, over: Partial<TransferFact> = {}): TransferFact => ({
    venue,
    asset: 'BTC',
    network: 'BTC',
    venueNetwork: 'BTC',
    depositEnabled: true,
    withdrawEnabled: true,
    withdrawFee: 0.0002,
    withdrawMin: 0.001,
    contract: undefined,
    fetchedAtMs: 1_000_000,
    source: 'GET /test',
    ...over,
  })
  function withFacts() {
    const facts = new TransferFacts()
    let now = 1_000_000
    const transferOf = transferCheck({
      facts,
      venueName: (v) => venueById(v)!.name,
      maxAgeMs: 3_600_000,
      now: () => now,
    })
    const s = setup({ transferOf })
    return { ...s, facts, at: (ms: number) => (now = ms) }
  }

  test('an opening carries its status; withdrawals switched off update it to blocked, at once', () => {
    const { book, events, facts, detector } = withFacts()
    for (const v of ['binance', 'kraken', 'okx'] as const) facts.replace(v, [fact(v)], 1_000_000)
    book('binance', '99.9', '100')
    book('okx', '99.9', '100.6')
    book('kraken', '100.5', '100.6')
    const opened = events.at(-1)!.opportunity
    expect(opened.transfer?.status).toBe('transferable')
    expect(opened.transfer?.network).toBe('BTC')
    // 0.0002 BTC at 100 is 0.02 of the 1,000 traded: 0.2 bps off the net.
    expect(opened.transfer?.netAfterFeeBps).toBeCloseTo(opened.open.netBps - 0.2, 9)
    expect(toRecord(opened).transfer?.status).toBe('transferable')
    facts.replace('binance', [fact('binance', { withdrawEnabled: false })], 1_000_500)
    detector.recheckTransfers('BTC')
    const last = events.at(-1)!
    expect(last.type).toBe('updated')
    expect(last.opportunity.transfer?.status).toBe('blocked')
    expect(last.opportunity.transfer?.line).toContain('Binance')
    expect(last.opportunity.closedAtMs).toBeUndefined()
  })

  test('no facts for a venue: unknown, never transferable', () => {
    const { book, events, facts } = withFacts()
    facts.replace('binance', [fact('binance')], 1_000_000)
    book('binance', '99.9', '100')
    book('okx', '99.9', '100.6')
    book('kraken', '100.5', '100.6')
    expect(events.at(-1)!.opportunity.transfer?.status).toBe('unknown')
  })

  test('two venues naming different tokens: the route opens as an anomaly', () => {
    const { book, events, facts } = withFacts()
    const token = (venue: VenueId, contract: string) =>
      fact(venue, { network: 'ETH', venueNetwork: 'ERC20', contract })
    facts.replace('binance', [token('binance', '0xaaaa')], 1_000_000)
    facts.replace('kraken', [token('kraken', '0xbbbb')], 1_000_000)
    facts.replace('okx', [token('okx', '0xaaaa')], 1_000_000)
    book('binance', '99.9', '100')
    book('okx', '99.9', '100.6')
    book('kraken', '100.5', '100.6')
    const o = events.at(-1)!.opportunity
    expect(o.transfer?.collision).toBe(true)
    expect(o.anomaly).toBe(true)
  })
})
