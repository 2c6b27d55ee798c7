import { afterEach, describe, expect, test } from 'bun:test'
import { coinbase } from '../../src/exchanges/coinbase.ts'
import type { ExchangeEvent } from '../../src/exchanges/exchange.ts'
import {
  encodeExchangeCapture,
  FakeCoinbase,
  toUpdates,
  type CoinbaseProduct,
  type FakeCoinbaseOptions,
} from '../fakes/coinbase.ts'
import { makeBook, SimBook, type Row } from '../fakes/sim-book.ts'
import { rows, startFeed, until, type Feed } from '../support.ts'

const FIX = `${import.meta.dir}/../fixtures/coinbase`

let fake: FakeCoinbase | undefined
let feed: Feed | undefined
afterEach(() => {
  feed?.stop()
  fake?.stop()
  feed = fake = undefined
})

const PRODUCTS = (): CoinbaseProduct[] => [
  { productId: 'BTC-USD', base: 'BTC', quote: 'USD', book: makeBook(60000, 20, 0.01) },
  { productId: 'ETH-USD', base: 'ETH', quote: 'USD', book: makeBook(3000, 20, 0.01) },
  { productId: 'BTC-USDT', base: 'BTC', quote: 'USDT', book: makeBook(59990, 20, 0.01) },
  // USDC books are the USD books: listed by the venue as aliases, not markets of their own.
  { productId: 'BTC-USDC', base: 'BTC', quote: 'USDC', alias: 'BTC-USD' },
  { productId: 'DOGE-USD', base: 'DOGE', quote: 'USD', status: 'delisted' },
  { productId: 'XRP-USD', base: 'XRP', quote: 'USD', tradingDisabled: true },
]

function simFeed(
  pairs = ['BTC/USD', 'ETH/USD'],
  opts: Parameters<typeof startFeed>[3] = {},
  fakeOpts: FakeCoinbaseOptions = {},
) {
  fake = new FakeCoinbase(PRODUCTS(), fakeOpts)
  feed = startFeed(coinbase, fake, pairs, opts)
  return { fake, feed }
}

const entry = (f: Feed, pair: string) => f.books.get('coinbase', pair)!

async function allLive(f: Feed, pairs = ['BTC/USD', 'ETH/USD']) {
  const what = `${pairs.join(', ')} live`
  await until(() => pairs.every((p) => entry(f, p).state === 'live'), 3000, what)
}

const expectSame = (f: Feed, pair: string, book: SimBook) => {
  const e = entry(f, pair)
  expect(rows(e.book.bids)).toEqual(book.topBids())
  expect(rows(e.book.asks)).toEqual(book.topAsks())
}

/** The quantity text of a bid level in the client's book, if present. */
const bidQty = (f: Feed, pair: string, px: string) =>
  entry(f, pair).book.bids.find((l) => l.pxText === px)?.qtyText

/** Waits until every one of `pairs` has resynced `n` times. */
const resynced = (f: Feed, pairs: string[], n = 1) =>
  until(() => pairs.every((p) => entry(f, p).resyncs === n), 3000, `${pairs.join(', ')} resync`)

const simBook = (fk: FakeCoinbase, productId: string) => fk.products.get(productId)!.book

/** Level2 frames a client sent after the first `from` frames, as `type product` strings. */
const level2Requests = (fk: FakeCoinbase, from = 0) =>
  fk
    .receivedFrom(fk.client)
    .slice(from)
    .filter((m) => m.channel === 'level2')
    .map((m) => `${m.type} ${m.product_ids!.join(',')}`)

/** Waits until the client has consumed every frame the fake sent it. */
const drained = (f: Feed, fk: FakeCoinbase) =>
  until(() => f.conn.stats.messages === fk.session(fk.client).sent, 3000, 'all frames consumed')

/** The old Exchange-feed frames of the capture (level2 ones; others are skipped). */
interface CapturedFrame {
  type: string
  product_id: string
  bids: Row[]
  asks: Row[]
  changes: [side: string, price: string, size: string][]
}

describe('coinbase: recorded capture', () => {
  test('replays the captured price paths as Advanced Trade frames into exact books', async () => {
    const lines = (await Bun.file(`${FIX}/COINBASE_ws_28_0.frames.jsonl`).text()).trim().split('\n')
    const natives = ['SKL-USD', 'SKL-BTC', 'SKL-GBP', 'BAND-GBP', 'BAND-BTC']
    natives.push('NMR-EUR', 'YFI-BTC', 'DASH-BTC', 'NU-GBP', 'CRV-EUR')
    const pairOf = (n: string) => n.replace('-', '/')

    // The reference: the original Exchange-feed frames applied independently to SimBooks.
    const expected = new Map<string, SimBook>()
    let applied = 0
    for (const line of lines) {
      const f = JSON.parse(line) as CapturedFrame
      if (f.type === 'snapshot') expected.set(f.product_id, new SimBook(f.bids, f.asks))
      if (f.type !== 'l2update') continue
      for (const [side, px, qty] of f.changes) {
        if (side === 'buy') expected.get(f.product_id)!.apply([[px, qty]], [])
        else expected.get(f.product_id)!.apply([], [[px, qty]])
        applied++
      }
    }
    expect(applied).toBe(9719)
    expect([...expected.keys()].sort()).toEqual([...natives].sort())

    fake = new FakeCoinbase(
      natives.map((n) => ({ productId: n, base: n.split('-')[0]!, quote: n.split('-')[1]! })),
      { heartbeatIntervalMs: 0, snapshotsOnSubscribe: false },
    )
    feed = startFeed(coinbase, fake, natives.map(pairOf))
    await fake.server.waitFor(() => fake!.server.received.length >= 2, 3000, 'subscriptions')
    expect(fake.receivedFrom(fake.client)).toEqual([
      { type: 'subscribe', product_ids: natives, channel: 'level2' },
      { type: 'subscribe', product_ids: natives, channel: 'heartbeats' },
    ])

    const bodies = encodeExchangeCapture(lines)
    const l2Frames = bodies.filter((b) => b.channel === 'l2_data').length
    expect(bodies.filter((b) => b.channel === 'heartbeats').length).toBeGreaterThan(25)
    expect(l2Frames).toBeGreaterThan(300)
    fake.replay(fake.client, bodies)
    await drained(feed, fake)

    for (const n of natives) {
      const e = entry(feed, pairOf(n))
      const book = expected.get(n)!
      expect(e.state).toBe('live')
      expect(e.resyncs).toBe(0)
      expect(rows(e.book.bids)).toEqual(book.topBids())
      expect(rows(e.book.asks)).toEqual(book.topAsks())
    }
    expect(entry(feed, 'SKL/USD').book.asks.length).toBeGreaterThan(1000)
    expect(feed.conn.stats.errors).toEqual({})
    expect(feed.conn.stats.latencyMs).toBeDefined()
  })
})

describe('coinbase: published message shapes', () => {
  const markets = new Map([['BTC-USD', 'BTC/USD']])

  test('the documented level2 snapshot, offers, heartbeats, subscriptions and errors parse', () => {
    const parse = coinbase.createParser(markets)
    // The level2 example from the Advanced Trade docs (two bids).
    const at = '1970-01-01T00:00:00Z'
    const doc = {
      channel: 'l2_data',
      client_id: '',
      timestamp: '2023-02-09T20:32:50.714964855Z',
      sequence_num: 0,
      events: [
        {
          type: 'snapshot',
          product_id: 'BTC-USD',
          updates: [
            { side: 'bid', event_time: at, price_level: '21921.73', new_quantity: '0.06317902' },
            { side: 'bid', event_time: at, price_level: '21921.3', new_quantity: '0.02' },
          ],
        },
      ],
    }
    const [snap] = parse(JSON.stringify(doc), 0) as Extract<ExchangeEvent, { type: 'snapshot' }>[]
    expect(snap!.type).toBe('snapshot')
    expect(snap!.pair).toBe('BTC/USD')
    expect(rows(snap!.bids)).toEqual([
      ['21921.73', '0.06317902'],
      ['21921.3', '0.02'],
    ])
    expect(snap!.asks).toEqual([])
    expect(snap!.exchangeTsMs).toBe(Date.UTC(2023, 1, 9, 20, 32, 50, 714))

    // The wire says "offer"; the prose docs say "ask": both are the ask side.
    const updates = [
      { side: 'offer', event_time: at, price_level: '21922.1', new_quantity: '1.5' },
      { side: 'ask', event_time: at, price_level: '21923', new_quantity: '0' },
    ]
    const events = [{ type: 'update', product_id: 'BTC-USD', updates }]
    const update = { ...doc, sequence_num: 1, events }
    const [delta] = parse(JSON.stringify(update), 0) as Extract<ExchangeEvent, { type: 'delta' }>[]
    expect(delta!.type).toBe('delta')
    expect(rows(delta!.asks)).toEqual([
      ['21922.1', '1.5'],
      ['21923', '0'],
    ])

    const hb = {
      channel: 'heartbeats',
      client_id: '',
      timestamp: '2023-06-23T20:31:26.122969572Z',
      sequence_num: 2,
      events: [{ current_time: '2023-06-23 20:31:56.121961769 +0000 UTC', heartbeat_counter: 9 }],
    }
    expect(parse(JSON.stringify(hb), 0)).toEqual([{ type: 'info' }])
    const subscriptions = { level2: ['BTC-USD'], heartbeats: ['heartbeats'] }
    const subs = { ...hb, channel: 'subscriptions', sequence_num: 3, events: [{ subscriptions }] }
    expect(parse(JSON.stringify(subs), 0)).toEqual([{ type: 'info' }])
    expect(parse(JSON.stringify({ type: 'error', message: 'failure to subscribe' }), 0)).toEqual([
      { type: 'venue-error', message: 'failure to subscribe' },
    ])
    const ticker = JSON.stringify({ ...hb, channel: 'ticker', sequence_num: 4 })
    expect(parse(ticker, 0)).toEqual([{ type: 'unknown', what: 'channel ticker' }])
  })

  test('the sequence is checked across channels: a gap or a step back resets every book', () => {
    const parse = coinbase.createParser(markets)
    const hb = (seq: number) =>
      JSON.stringify({ channel: 'heartbeats', timestamp: '', sequence_num: seq, events: [] })
    const reset = (reason: string): ExchangeEvent[] => [{ type: 'reset', reason }, { type: 'info' }]
    expect(parse(hb(7), 0)).toEqual([{ type: 'info' }]) // a connection may start anywhere
    expect(parse(hb(8), 0)).toEqual([{ type: 'info' }])
    expect(parse(hb(10), 0)).toEqual(reset('sequence gap: expected 9, got 10'))
    expect(parse(hb(10), 0)).toEqual(reset('sequence_num went back from 10 to 10'))
    expect(parse(hb(11), 0)).toEqual([{ type: 'info' }])
    // A new connection has its own sequence.
    expect(coinbase.createParser(markets)(hb(0), 0)).toEqual([{ type: 'info' }])
  })

  test('bad levels reject the frame with the book named, so only that book resyncs', () => {
    const parse = coinbase.createParser(markets)
    let seq = 0
    const l2 = (updates: unknown[], product = 'BTC-USD') => {
      const events = [{ type: 'update', product_id: product, updates }]
      return JSON.stringify({ channel: 'l2_data', timestamp: '', sequence_num: seq++, events })
    }
    const bad = [
      { side: 'bid', price_level: '-1.00', new_quantity: '1' },
      { side: 'bid', price_level: 'abc', new_quantity: '1' },
      { side: 'bid', price_level: '1.00', new_quantity: '-5' },
      { side: 'bid', price_level: '0', new_quantity: '5' },
      { side: 'bid', price_level: 1.5, new_quantity: '5' },
      { side: 'buy', price_level: '1.00', new_quantity: '5' },
    ]
    for (const level of bad) {
      const err = (() => {
        try {
          parse(l2([{ side: 'bid', price_level: '2.00', new_quantity: '1' }, level]), 0)
        } catch (e) {
          return e as { kind: string; pair?: string }
        }
      })()
      expect(err).toMatchObject({ kind: 'bad-level', pair: 'BTC/USD' })
    }
    expect(() => parse(l2('nope' as never), 0)).toThrow('has no updates')
    // A frame whose books cannot be told resets them all; one without a sequence number is
    // rejected (its continuity cannot be checked).
    const noEvents = { channel: 'l2_data', timestamp: '', sequence_num: seq++, events: 'x' }
    const resetAll: ExchangeEvent[] = [{ type: 'reset', reason: 'l2_data frame without events' }]
    expect(parse(JSON.stringify(noEvents), 0)).toEqual(resetAll)
    const noSeq = { channel: 'l2_data', events: [{ type: 'update', product_id: 'BTC-USD' }] }
    expect(() => parse(JSON.stringify(noSeq), 0)).toThrow('without sequence_num')
    // Data for a product we did not subscribe is counted, not applied.
    expect(parse(l2([], 'SOL-USD'), 0)).toEqual([{ type: 'unknown', what: 'l2_data for SOL-USD' }])
  })
})

describe('coinbase: synchronisation', () => {
  test('subscribes one channel per message; books come from the WebSocket snapshot', async () => {
    const { fake, feed } = simFeed()
    await allLive(feed)
    expect(fake.receivedFrom(fake.client)).toEqual([
      { type: 'subscribe', product_ids: ['BTC-USD', 'ETH-USD'], channel: 'level2' },
      { type: 'subscribe', product_ids: ['BTC-USD', 'ETH-USD'], channel: 'heartbeats' },
    ])
    expect(fake.server.requests).toEqual(['/api/v3/brokerage/market/products?product_type=SPOT'])
    expectSame(feed, 'BTC/USD', simBook(fake, 'BTC-USD'))
    expectSame(feed, 'ETH/USD', simBook(fake, 'ETH-USD'))
  })

  test('absolute updates keep the books exact while heartbeats interleave', async () => {
    const { fake, feed } = simFeed(['BTC/USD', 'ETH/USD'], {}, { heartbeatIntervalMs: 5 })
    await allLive(feed)
    let x = 7
    const rnd = (n: number) => (x = (x * 1103515245 + 12345) % 2147483648) % n
    for (let i = 0; i < 300; i++) {
      const px = (60000 + (rnd(2) ? 1 : -1) * (1 + rnd(40)) * 0.01).toFixed(2)
      const qty = rnd(3) === 0 ? '0' : (rnd(1000) / 100 + 0.01).toFixed(8)
      if (Number(px) < 60000) fake.update('BTC-USD', [[px, qty]], [])
      else fake.update('BTC-USD', [], [[px, qty]])
      if (i % 10 === 0) fake.update('ETH-USD', [['2999.99', String(i + 1)]], [['3000.01', '0']])
      if (i % 50 === 0) await Bun.sleep(1) // let heartbeats in
    }
    await drained(feed, fake)
    expect(fake.heartbeatsSent).toBeGreaterThan(0)
    expectSame(feed, 'BTC/USD', simBook(fake, 'BTC-USD'))
    expectSame(feed, 'ETH/USD', simBook(fake, 'ETH-USD'))
    expect(entry(feed, 'BTC/USD').resyncs).toBe(0)
    expect(feed.conn.stats.errors).toEqual({})
  })

  test('a sequence gap resyncs every book on the connection by resubscribing', async () => {
    const { fake, feed } = simFeed()
    await allLive(feed)
    const from = fake.receivedFrom(fake.client).length
    fake.update('BTC-USD', [['59999.95', '3.00000000']], [], { skip: 2 })
    await resynced(feed, ['BTC/USD', 'ETH/USD'])
    expect(entry(feed, 'ETH/USD').lastResyncReason).toContain('sequence gap')
    await allLive(feed)
    expect(level2Requests(fake, from)).toEqual([
      'unsubscribe BTC-USD',
      'subscribe BTC-USD',
      'unsubscribe ETH-USD',
      'subscribe ETH-USD',
    ])
    await drained(feed, fake)
    expectSame(feed, 'BTC/USD', simBook(fake, 'BTC-USD'))
    expectSame(feed, 'ETH/USD', simBook(fake, 'ETH-USD'))
    expect(bidQty(feed, 'BTC/USD', '59999.95')).toBe('3.00000000')
    expect(feed.conn.stats.errors).toEqual({ resync: 1 })
  })

  test('a lost heartbeat is a gap too: the sequence spans channels', async () => {
    const { fake, feed } = simFeed(['BTC/USD', 'ETH/USD'], {}, { heartbeatIntervalMs: 0 })
    await allLive(feed)
    fake.heartbeat({ skip: 1 })
    await resynced(feed, ['BTC/USD', 'ETH/USD'])
    await allLive(feed)
    await drained(feed, fake)
    expectSame(feed, 'BTC/USD', simBook(fake, 'BTC-USD'))
    expectSame(feed, 'ETH/USD', simBook(fake, 'ETH-USD'))
  })

  test('a sequence number going back resyncs every book too', async () => {
    const { fake, feed } = simFeed(['BTC/USD', 'ETH/USD'], {}, { heartbeatIntervalMs: 0 })
    await allLive(feed)
    fake.update('ETH-USD', [['2999.95', '1.00000000']], [], { skip: -3 })
    await resynced(feed, ['BTC/USD', 'ETH/USD'])
    expect(entry(feed, 'BTC/USD').lastResyncReason).toContain('went back')
    await allLive(feed)
    await drained(feed, fake)
    expectSame(feed, 'BTC/USD', simBook(fake, 'BTC-USD'))
    expectSame(feed, 'ETH/USD', simBook(fake, 'ETH-USD'))
  })
})

describe('coinbase: bad input', () => {
  test('malformed JSON and unknown messages are counted, and the books stay exact', async () => {
    const { fake, feed } = simFeed()
    await allLive(feed)
    fake.sendRaw('{"channel":"l2_data","events":[{"type":"upd', fake.client)
    fake.sendRaw('not json at all', fake.client)
    fake.sendEnvelope(fake.client, 'market_trades', [{ type: 'update', trades: [] }])
    fake.sendRaw(JSON.stringify({ type: 'mystery' }), fake.client)
    fake.update('BTC-USD', [['59999.97', '4.00000000']], [])
    await drained(feed, fake)
    expect(bidQty(feed, 'BTC/USD', '59999.97')).toBe('4.00000000')
    expect(feed.conn.stats.errors).toEqual({ 'malformed-json': 2, 'unknown-message': 2 })
    expect(entry(feed, 'BTC/USD').state).toBe('live')
    expect(entry(feed, 'BTC/USD').resyncs).toBe(0)
    expectSame(feed, 'BTC/USD', simBook(fake, 'BTC-USD'))
  })

  test('venue error frames are counted as venue errors', async () => {
    const { fake, feed } = simFeed()
    await allLive(feed)
    fake.errorFrame('failure to subscribe')
    await drained(feed, fake)
    expect(feed.conn.stats.errors).toEqual({ 'venue-error': 1 })
    expect(entry(feed, 'BTC/USD').state).toBe('live')
  })

  test('a negative or non-numeric price rejects the message and resyncs that book', async () => {
    const { fake, feed } = simFeed()
    await allLive(feed)
    const btc = entry(feed, 'BTC/USD')
    const from = fake.receivedFrom(fake.client).length
    for (const bad of [
      ['-1.00', '1.0'],
      ['abc', '1.0'],
    ] as Row[]) {
      const before = btc.resyncs
      // Pushed without touching the fake's book: the good level must not survive either.
      fake.pushUpdates('BTC-USD', toUpdates([['59999.01', '1.0'], bad], []))
      await until(() => btc.resyncs === before + 1, 3000, 'resync after bad level')
      expect(btc.book.bids.some((l) => l.pxText === '59999.01')).toBe(false)
      await allLive(feed)
    }
    await drained(feed, fake)
    expectSame(feed, 'BTC/USD', simBook(fake, 'BTC-USD'))
    const again = ['unsubscribe BTC-USD', 'subscribe BTC-USD']
    expect(level2Requests(fake, from)).toEqual([...again, ...again])
    expect(feed.conn.stats.errors).toEqual({ 'bad-level': 2 })
    expect(entry(feed, 'ETH/USD').resyncs).toBe(0)
    expect(entry(feed, 'ETH/USD').state).toBe('live')
  })

  test('a bad event in a frame for two books rejects the frame and resyncs both', async () => {
    const { fake, feed } = simFeed(['BTC/USD', 'ETH/USD', 'BTC/USDT'])
    await allLive(feed, ['BTC/USD', 'ETH/USD', 'BTC/USDT'])
    // The good half is real venue data: the fake's book has it, so the resync must bring it back.
    simBook(fake, 'BTC-USD').apply([['59999.96', '2.5']], [])
    fake.sendEnvelope(fake.client, 'l2_data', [
      { type: 'update', product_id: 'BTC-USD', updates: toUpdates([['59999.96', '2.5']], []) },
      { type: 'update', product_id: 'ETH-USD', updates: toUpdates([['NaN', '2.5']], []) },
    ])
    await resynced(feed, ['BTC/USD', 'ETH/USD'])
    await allLive(feed)
    await drained(feed, fake)
    expectSame(feed, 'BTC/USD', simBook(fake, 'BTC-USD'))
    expect(bidQty(feed, 'BTC/USD', '59999.96')).toBe('2.5')
    expect(entry(feed, 'BTC/USDT').resyncs).toBe(0)
  })

  test('a crossed book is never live: it resyncs, and the other book stays live', async () => {
    const { fake, feed } = simFeed()
    await allLive(feed)
    const from = fake.receivedFrom(fake.client).length
    const ethUpdates = entry(feed, 'ETH/USD').updates
    expect(fake.crossBook('BTC-USD')).toBe('60000.01')
    fake.update('ETH-USD', [['2999.98', '7.00000000']], [])
    await until(() => entry(feed, 'BTC/USD').resyncs === 1, 3000, 'resync')
    expect(entry(feed, 'BTC/USD').lastResyncReason).toContain('crossed')
    await allLive(feed)
    await drained(feed, fake)
    const btc = entry(feed, 'BTC/USD').book
    expect(btc.bids[0]!.px).toBeLessThan(btc.asks[0]!.px)
    expectSame(feed, 'BTC/USD', simBook(fake, 'BTC-USD'))
    expect(level2Requests(fake, from)).toEqual(['unsubscribe BTC-USD', 'subscribe BTC-USD'])
    expect(entry(feed, 'ETH/USD').resyncs).toBe(0)
    expect(entry(feed, 'ETH/USD').updates).toBeGreaterThan(ethUpdates)
    expectSame(feed, 'ETH/USD', simBook(fake, 'ETH-USD'))
  })
})

describe('coinbase: connection faults', () => {
  test('a disconnect reconnects, resubscribes and rebuilds the books without ghosts', async () => {
    const { fake, feed } = simFeed()
    await allLive(feed)
    fake.server.disconnectAll()
    await until(() => feed.conn.stats.state !== 'connected', 3000, 'down')
    // While we are away a level disappears; the client never sees that delete.
    simBook(fake, 'BTC-USD').apply([['59999.99', '0']], [])
    const server = fake.server
    const resubscribed = () => server.connections === 2 && server.received.length >= 4
    await server.waitFor(resubscribed, 3000, 'resubscribe')
    expect(fake.receivedFrom(fake.client)).toEqual([
      { type: 'subscribe', product_ids: ['BTC-USD', 'ETH-USD'], channel: 'level2' },
      { type: 'subscribe', product_ids: ['BTC-USD', 'ETH-USD'], channel: 'heartbeats' },
    ])
    await allLive(feed)
    expect(entry(feed, 'BTC/USD').book.bids.some((l) => l.pxText === '59999.99')).toBe(false)
    expectSame(feed, 'BTC/USD', simBook(fake, 'BTC-USD'))
    expect(feed.conn.stats.reconnects).toBe(1)
    // The new connection's sequence starts again at 0: that is not a gap.
    expect(feed.conn.stats.errors.resync).toBeUndefined()
  })

  test('heartbeats keep a quiet connection open', async () => {
    const { fake, feed } = simFeed(['BTC/USD'], { idleTimeoutMs: 100 }, { heartbeatIntervalMs: 10 })
    await allLive(feed, ['BTC/USD'])
    await until(() => fake.heartbeatsSent >= 30, 3000, 'heartbeats for more than the idle timeout')
    expect(fake.server.connections).toBe(1)
    expect(feed.conn.stats.errors.idle).toBeUndefined()
  })

  test('a stalled feed is caught by the idle watchdog and reconnected', async () => {
    const { fake, feed } = simFeed(['BTC/USD'], { idleTimeoutMs: 150 }, { heartbeatIntervalMs: 20 })
    await allLive(feed, ['BTC/USD'])
    fake.server.stalled = true
    await until(() => (feed.conn.stats.errors.idle ?? 0) >= 1, 3000, 'watchdog')
    fake.server.stalled = false
    await fake.server.waitFor(() => fake.server.connections >= 2, 3000, 'watchdog reconnect')
    await allLive(feed, ['BTC/USD'])
    expectSame(feed, 'BTC/USD', simBook(fake, 'BTC-USD'))
  })

  test('a server closing mid-message is survived', async () => {
    const { fake, feed } = simFeed()
    await allLive(feed)
    const updates = toUpdates([['1.0', '1.0']], [])
    const events = [{ type: 'update', product_id: 'BTC-USD', updates }]
    const sequence_num = fake.takeSeq(fake.client)
    const frame = JSON.stringify({ channel: 'l2_data', timestamp: '', sequence_num, events })
    fake.server.closeMidMessage(frame)
    await fake.server.waitFor(() => fake.server.connections === 2, 3000, 'reconnect')
    await allLive(feed)
    expectSame(feed, 'BTC/USD', simBook(fake, 'BTC-USD'))
  })

  test('unlisted markets are reported; USDC aliases are not markets; USD is not USDT', async () => {
    const unlisted: string[] = []
    const pairs = ['BTC/USD', 'BTC/USDT', 'BTC/USDC', 'ETH/USDT', 'DOGE/USD', 'XRP/USD']
    const { fake, feed } = simFeed(pairs, { onUnlisted: (_v, p) => unlisted.push(...p) })
    await allLive(feed, ['BTC/USD', 'BTC/USDT'])
    expect(unlisted).toEqual(['BTC/USDC', 'ETH/USDT', 'DOGE/USD', 'XRP/USD'])
    expect(feed.conn.stats.unlisted).toEqual(unlisted)
    expect([...feed.conn.stats.markets]).toEqual([
      ['BTC/USD', 'BTC-USD'],
      ['BTC/USDT', 'BTC-USDT'],
    ])
    expectSame(feed, 'BTC/USD', simBook(fake, 'BTC-USD'))
    expectSame(feed, 'BTC/USDT', simBook(fake, 'BTC-USDT'))
  })

  test('the product list is read page by page', async () => {
    fake = new FakeCoinbase(PRODUCTS(), { pageSize: 2 })
    const signal = new AbortController().signal
    const listed = await coinbase.listMarkets(fake.restUrl, { fetch, signal })
    expect([...listed]).toEqual([
      ['BTC/USD', 'BTC-USD'],
      ['ETH/USD', 'ETH-USD'],
      ['BTC/USDT', 'BTC-USDT'],
    ])
    expect(fake.server.requests).toEqual([
      '/api/v3/brokerage/market/products?product_type=SPOT',
      '/api/v3/brokerage/market/products?product_type=SPOT&offset=2',
      '/api/v3/brokerage/market/products?product_type=SPOT&offset=4',
    ])
  })
})
