import { describe, expect, test } from 'bun:test'
import { Books } from '../../src/book/books.ts'
import { Detector, triangleMarkets, type DetectorOptions } from '../../src/detector/detector.ts'
import { toRecord } from '../../src/detector/record.ts'
import type { OpportunityEvent } from '../../src/detector/types.ts'
import type { VenueId } from '../../src/types.ts'
import { venueById } from '../../src/venues/index.ts'
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
    const o = events[0]!.opportunity
    expect(o.peakNetBps).toBeCloseTo((1.0034 * 0.998001 - 1) * 10_000, 8)
    expect(o.last.netBps).toBeCloseTo((1.0027 * 0.998001 - 1) * 10_000, 8)
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
