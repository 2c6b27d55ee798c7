import { afterEach, describe, expect, test } from 'bun:test'
import { bitstamp, createBitstamp } from '../../src/exchanges/bitstamp.ts'
import type { Exchange } from '../../src/exchanges/exchange.ts'
import { FakeBitstamp } from '../fakes/bitstamp.ts'
import { makeBook, SimBook, type Row } from '../fakes/sim-book.ts'
import { rows, startFeed, until, type Feed } from '../support.ts'

const FIX = `${import.meta.dir}/../fixtures/bitstamp`

let fake: FakeBitstamp | undefined
let feed: Feed | undefined
afterEach(() => {
  feed?.stop()
  fake?.stop()
  feed = fake = undefined
})

function simFeed(
  pairs = ['BTC/USD', 'ETH/USD'],
  opts: Parameters<typeof startFeed>[3] = {},
  exchange: Exchange = bitstamp,
) {
  fake = new FakeBitstamp([
    { symbol: 'btcusd', name: 'BTC/USD', book: makeBook(60000, 20, 1, 0) },
    { symbol: 'ethusd', name: 'ETH/USD', book: makeBook(3000, 20, 0.1, 1) },
    { symbol: 'ethusdt', name: 'ETH/USDT', book: makeBook(3000, 20, 0.01) },
    { symbol: 'ltcusd', name: 'LTC/USD', trading: 'Disabled', book: makeBook(80) },
  ])
  feed = startFeed(exchange, fake, pairs, opts)
  return { fake, feed }
}

const entry = (f: Feed, pair: string) => f.books.get('bitstamp', pair)!

/** Waits until the book is live (it is seeded from REST as soon as its subscription is acked). */
const live = (f: Feed, pair: string) =>
  until(() => entry(f, pair).state === 'live', 3000, `${pair} live`)

const expectSame = (f: Feed, pair: string, book: SimBook) => {
  const e = entry(f, pair)
  expect(rows(e.book.bids)).toEqual(book.topBids())
  expect(rows(e.book.asks)).toEqual(book.topAsks())
}

const bookRequests = (fk: FakeBitstamp) =>
  fk.server.requests.filter((r) => r.startsWith('/api/v2/order_book/')).length

describe('bitstamp: recorded capture', () => {
  const MARKETS = [
    ['sgbeur', 'SGB/EUR'],
    ['ethusd', 'ETH/USD'],
    ['xrpeur', 'XRP/EUR'],
    ['bateur', 'BAT/EUR'],
    ['usdteur', 'USDT/EUR'],
    ['usdtusd', 'USDT/USD'],
    ['xlmgbp', 'XLM/GBP'],
    ['adaeur', 'ADA/EUR'],
    ['batbtc', 'BAT/BTC'],
    ['galaeur', 'GALA/EUR'],
  ] as const

  test('replays all 10 captured books from their REST snapshots, level by level', async () => {
    const snapshots = (await Bun.file(`${FIX}/BITSTAMP_http_0_0.rest_snapshots.jsonl`).text())
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { url: string; body: string })
    const frames = (await Bun.file(`${FIX}/BITSTAMP_ws_1_0.frames.jsonl`).text()).trim().split('\n')
    const sent = (await Bun.file(`${FIX}/BITSTAMP_ws_1_0.sent.jsonl`).text())
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { event: string; frame?: string })
      .filter((s) => s.event === 'sent' && s.frame!.includes('diff_order_book_'))
      .map((s) => s.frame!)

    fake = new FakeBitstamp(MARKETS.map(([symbol, name]) => ({ symbol, name })))
    for (const s of snapshots)
      fake.cannedSnapshots.set(new URL(s.url).pathname.split('/').filter(Boolean).pop()!, s.body)
    expect(fake.cannedSnapshots.size).toBe(10)

    // The reference: seed from the snapshot, drop diffs at or before its microtimestamp,
    // apply the rest.
    type Diff = {
      data: { microtimestamp: string; bids: Row[]; asks: Row[] }
      channel: string
      event: string
    }
    const expected = new Map<string, { book: SimBook; seq: number }>()
    let applied = 0
    for (const [symbol, pair] of MARKETS) {
      const snap = JSON.parse(fake.cannedSnapshots.get(symbol)!) as {
        microtimestamp: string
        bids: Row[]
        asks: Row[]
      }
      const book = new SimBook(snap.bids, snap.asks)
      let seq = Number(snap.microtimestamp)
      for (const f of frames) {
        const msg = JSON.parse(f) as Diff
        if (msg.event !== 'data' || msg.channel !== `diff_order_book_${symbol}`) continue
        if (Number(msg.data.microtimestamp) <= seq) continue
        book.apply(msg.data.bids, msg.data.asks)
        seq = Number(msg.data.microtimestamp)
        applied++
      }
      expected.set(pair, { book, seq })
    }
    expect(applied).toBe(615) // as the capture's README says

    feed = startFeed(
      bitstamp,
      fake,
      MARKETS.map(([, pair]) => pair),
    )
    await fake.server.waitFor(
      () => fake!.subscriptions.get(1)?.size === 10,
      3000,
      'ten subscriptions',
    )
    // The subscribe frames are exactly those the recording client sent to the real venue.
    expect(fake.server.received.map((r) => r.text).sort()).toEqual([...sent].sort())
    fake.replay(frames)

    await until(
      () =>
        MARKETS.every(
          ([, p]) =>
            entry(feed!, p).state === 'live' && entry(feed!, p).lastSeq === expected.get(p)!.seq,
        ),
      5000,
      'every book live at its last diff',
    )
    for (const [, pair] of MARKETS) {
      const e = entry(feed, pair)
      const { book } = expected.get(pair)!
      expect(rows(e.book.bids)).toEqual(book.topBids())
      expect(rows(e.book.asks)).toEqual(book.topAsks())
      expect(e.book.bids[0]!.px).toBeLessThan(e.book.asks[0]!.px)
      expect(e.resyncs).toBe(0)
    }
    expect(entry(feed, 'ETH/USD').book.bids.length).toBeGreaterThan(100)
    expect(feed.conn.stats.errors).toEqual({})
    expect(bookRequests(fake)).toBe(10)
  })

  test('parses the documented diff frame: seq is the microtimestamp, with no prevSeq', () => {
    const parse = bitstamp.createParser(new Map([['ethusd', 'ETH/USD']]))
    const [ev] = parse(
      '{"data":{"timestamp":"1641343691","microtimestamp":"1641343691406478","bids":[["3800.71","1.76200000"],["3799.64","0.00000000"]],"asks":[]},"channel":"diff_order_book_ethusd","event":"data"}',
      0,
    )
    expect(ev).toEqual({
      type: 'delta',
      pair: 'ETH/USD',
      seq: 1641343691406478,
      bids: [
        { px: 3800.71, qty: 1.762, pxText: '3800.71', qtyText: '1.76200000' },
        { px: 3799.64, qty: 0, pxText: '3799.64', qtyText: '0.00000000' },
      ],
      asks: [],
      exchangeTsMs: 1641343691406,
    })
    expect(ev && 'prevSeq' in ev).toBe(false)
    expect(parse('{"event":"bts:heartbeat","channel":"","data":{"status":"success"}}', 0)).toEqual([
      { type: 'info' },
    ])
    expect(parse('{"event":"bts:request_reconnect","channel":"","data":""}', 0)).toEqual([
      { type: 'reconnect', reason: 'bts:request_reconnect' },
    ])
    expect(bitstamp.subscribe(['btcusd'])).toEqual([
      '{"event":"bts:subscribe","data":{"channel":"diff_order_book_btcusd"}}',
    ])
    expect(bitstamp.wsUrl('wss://ws.bitstamp.net', ['btcusd'])).toBe('wss://ws.bitstamp.net')
  })
})

describe('bitstamp: synchronisation', () => {
  test('a quiet book is seeded from REST as soon as its subscription is acknowledged', async () => {
    const { fake, feed } = simFeed(['BTC/USD'])
    await live(feed, 'BTC/USD')
    const e = entry(feed, 'BTC/USD')
    expectSame(feed, 'BTC/USD', fake.state.get('btcusd')!.book)
    expect(e.lastSeq).toBe(fake.state.get('btcusd')!.micros)
    expect(fake.server.requests).toContain('/api/v2/order_book/btcusd/')
    expect(fake.server.received.map((r) => r.text)).toEqual([
      '{"event":"bts:subscribe","data":{"channel":"diff_order_book_btcusd"}}',
    ])
    fake.update('btcusd', [['59999', '2.5']], [['60001', '0']])
    await until(() => e.book.bids[0]!.qtyText === '2.5', 3000, 'diff applied')
    expect(e.lastSeq).toBe(fake.state.get('btcusd')!.micros)
    expectSame(feed, 'BTC/USD', fake.state.get('btcusd')!.book)
  })

  test('diffs buffered during the REST fetch are dropped up to the snapshot microtimestamp, then applied', async () => {
    const { fake, feed } = simFeed(['BTC/USD'])
    fake.holdSnapshots = true
    await until(() => bookRequests(fake) === 1, 3000, 'snapshot request')
    const snapMicros = fake.state.get('btcusd')!.micros
    // Stamped at the snapshot's moment: already in it (this bogus level must never show).
    fake.sendRawDiff('btcusd', [['59990.5', '7']], [], snapMicros)
    fake.update('btcusd', [['59999', '1.5']], [])
    fake.update(
      'btcusd',
      [],
      [
        ['60001', '0'],
        ['60000.5', '3'],
      ],
    )
    const e = entry(feed, 'BTC/USD')
    await until(() => e.buffer.length >= 3, 3000, 'three buffered diffs')
    expect(e.state).toBe('syncing')
    fake.releaseSnapshots()
    await live(feed, 'BTC/USD')
    expect(e.book.bids.some((l) => l.pxText === '59990.5')).toBe(false)
    expect(e.book.asks[0]!.pxText).toBe('60000.5')
    expect(e.lastSeq).toBe(fake.state.get('btcusd')!.micros)
    expectSame(feed, 'BTC/USD', fake.state.get('btcusd')!.book)
  })

  test('a live book ignores a diff stamped at or before its microtimestamp', async () => {
    const { fake, feed } = simFeed(['BTC/USD'])
    await live(feed, 'BTC/USD')
    const e = entry(feed, 'BTC/USD')
    const seq = e.lastSeq!
    fake.sendRawDiff('btcusd', [['59990.5', '7']], [], seq)
    fake.sendRawDiff('btcusd', [['59991.5', '7']], [], seq - 1)
    fake.update('btcusd', [['59999', '1']], [])
    await until(() => e.book.bids[0]!.qtyText === '1', 3000, 'later diff applied')
    expectSame(feed, 'BTC/USD', fake.state.get('btcusd')!.book)
    expect(e.resyncs).toBe(0)
  })

  test('heartbeats are answered and keep a quiet socket alive', async () => {
    const quick = createBitstamp({ pingIntervalMs: 50 })
    const { fake, feed } = simFeed(['BTC/USD'], { idleTimeoutMs: 250 }, quick)
    await live(feed, 'BTC/USD')
    const beats = () =>
      fake.server.received.filter((r) => r.text === '{"event":"bts:heartbeat"}').length
    // Eight heartbeats span twice the idle timeout with no book data at all.
    await fake.server.waitFor(() => beats() >= 8, 3000, 'heartbeats')
    expect(fake.server.connections).toBe(1)
    expect(feed.conn.stats.errors).toEqual({})
    expect(entry(feed, 'BTC/USD').state).toBe('live')
  })
})

describe('bitstamp: bad input', () => {
  test('unknown message types are counted and the books stay exact', async () => {
    const { fake, feed } = simFeed()
    await live(feed, 'BTC/USD')
    await live(feed, 'ETH/USD')
    const trade = (await Bun.file(`${FIX}/BITSTAMP_ws_1_0.frames.jsonl`).text())
      .split('\n')
      .find((l) => l.includes('"event":"trade"'))!
    fake.server.send(trade)
    fake.server.send(
      '{"data":{"timestamp":"1","microtimestamp":"1000000","bids":[],"asks":[]},"channel":"order_book_btcusd","event":"data"}',
    )
    fake.server.send('{"event":"bts:something_new","channel":"","data":{}}')
    fake.update('btcusd', [['59999', '4']], [])
    const btc = entry(feed, 'BTC/USD')
    await until(() => btc.book.bids[0]!.qtyText === '4', 3000, 'update after unknown frames')
    expect(feed.conn.stats.errors).toEqual({ 'unknown-message': 3 })
    for (const [pair, symbol] of [
      ['BTC/USD', 'btcusd'],
      ['ETH/USD', 'ethusd'],
    ] as const) {
      expect(entry(feed, pair).state).toBe('live')
      expect(entry(feed, pair).resyncs).toBe(0)
      expectSame(feed, pair, fake.state.get(symbol)!.book)
    }
  })

  test('malformed JSON resyncs every book on the connection (no gap detection), which recovers exactly', async () => {
    const { fake, feed } = simFeed()
    await live(feed, 'BTC/USD')
    await live(feed, 'ETH/USD')
    const requests = bookRequests(fake)
    // A truncated diff may have carried changes we can never see again: both books re-seed.
    fake.server.send('{"data":{"timestamp":"1","microtimestamp":"1","bids":[["1.0","1.0"]')
    await until(
      () => entry(feed, 'BTC/USD').resyncs === 1 && entry(feed, 'ETH/USD').resyncs === 1,
      3000,
      'resyncs',
    )
    fake.server.send('not json at all')
    await until(() => entry(feed, 'BTC/USD').resyncs === 2, 3000, 'second resync')
    fake.update('btcusd', [['59999', '4']], [])
    fake.update('ethusd', [], [['3000.1', '0']])
    await until(() => entry(feed, 'BTC/USD').book.bids[0]?.qtyText === '4', 3000, 'btc recovered')
    await until(
      () => entry(feed, 'ETH/USD').book.asks[0]?.pxText === '3000.2',
      3000,
      'eth recovered',
    )
    expect(feed.conn.stats.errors['malformed-json']).toBe(2)
    expect(bookRequests(fake)).toBeGreaterThan(requests)
    expectSame(feed, 'BTC/USD', fake.state.get('btcusd')!.book)
    expectSame(feed, 'ETH/USD', fake.state.get('ethusd')!.book)
  })

  test('a negative or non-numeric price or a bad microtimestamp rejects the diff and resyncs that book only', async () => {
    const { fake, feed } = simFeed()
    await live(feed, 'BTC/USD')
    await live(feed, 'ETH/USD')
    const btc = entry(feed, 'BTC/USD')
    const bad: [unknown[], string | undefined][] = [
      [['-1.00', '1.0'], undefined],
      [['abc', '1.0'], undefined],
      [['60000', '-5'], undefined],
      [[59999.5, '1.0'], undefined],
      [['59999.5', '1.0'], 'soon'],
    ]
    for (const [level, micros] of bad) {
      const before = btc.resyncs
      const data = {
        timestamp: '1',
        microtimestamp: micros ?? String(fake.nextMicros()),
        bids: [['59999.01', '1.0'], level],
        asks: [],
      }
      fake.pushToChannel(
        'diff_order_book_btcusd',
        JSON.stringify({ data, channel: 'diff_order_book_btcusd', event: 'data' }),
      )
      await until(() => btc.resyncs === before + 1, 3000, 'resync after a bad diff')
      expect(btc.book.bids.some((l) => l.pxText === '59999.01')).toBe(false)
      await live(feed, 'BTC/USD')
      expectSame(feed, 'BTC/USD', fake.state.get('btcusd')!.book)
    }
    expect(feed.conn.stats.errors['bad-level']).toBe(4)
    expect(feed.conn.stats.errors['bad-message']).toBe(1)
    expect(entry(feed, 'ETH/USD').resyncs).toBe(0)
    expect(entry(feed, 'ETH/USD').state).toBe('live')
  })

  test('a crossed book is never live: that book resyncs, the other stays live', async () => {
    const { fake, feed } = simFeed()
    await live(feed, 'BTC/USD')
    await live(feed, 'ETH/USD')
    const btc = entry(feed, 'BTC/USD')
    fake.sendRawDiff('btcusd', [['60005', '1']], [])
    await until(() => btc.resyncs === 1, 3000, 'resync')
    expect(btc.lastResyncReason).toContain('crossed')
    await live(feed, 'BTC/USD')
    expectSame(feed, 'BTC/USD', fake.state.get('btcusd')!.book)
    expect(btc.book.bids[0]!.px).toBeLessThan(btc.book.asks[0]!.px)
    expect(entry(feed, 'ETH/USD').resyncs).toBe(0)
    expect(entry(feed, 'ETH/USD').state).toBe('live')
  })

  test('a refused subscription is reported as a venue error; the other book carries on', async () => {
    fake = new FakeBitstamp([
      { symbol: 'btcusd', name: 'BTC/USD', book: makeBook(60000, 5, 1, 0) },
      { symbol: 'ethusd', name: 'ETH/USD', book: makeBook(3000, 5, 0.1, 1) },
    ])
    fake.refusedChannels.add('diff_order_book_ethusd')
    feed = startFeed(bitstamp, fake, ['BTC/USD', 'ETH/USD'])
    await live(feed, 'BTC/USD')
    await until(() => feed!.conn.stats.errors['venue-error'] === 1, 3000, 'venue error')
    expect(entry(feed, 'ETH/USD').state).toBe('syncing')
    expect(feed.conn.stats.state).toBe('connected')
  })
})

describe('bitstamp: connection faults', () => {
  test('a disconnect reconnects, resubscribes and re-seeds the book from REST without ghost levels', async () => {
    const { fake, feed } = simFeed(['BTC/USD'])
    await live(feed, 'BTC/USD')
    const e = entry(feed, 'BTC/USD')
    fake.server.disconnectAll()
    await until(() => feed.conn.stats.state !== 'connected', 3000, 'down')
    // While we are away a level disappears; the client never sees that diff.
    const s = fake.state.get('btcusd')!
    s.book.apply([['59999', '0']], [])
    s.micros = fake.nextMicros()
    await fake.server.waitFor(() => fake.server.connections === 2, 3000, 'reconnect')
    await live(feed, 'BTC/USD')
    const client = [...fake.server.clients][0]!
    expect(fake.channelsOf(client)).toEqual(['diff_order_book_btcusd'])
    expect(
      fake.server.received.filter((r) => r.client === client.data.id).map((r) => r.text),
    ).toEqual(['{"event":"bts:subscribe","data":{"channel":"diff_order_book_btcusd"}}'])
    expect(e.book.bids.some((l) => l.pxText === '59999')).toBe(false)
    expectSame(feed, 'BTC/USD', s.book)
    expect(e.lastSeq).toBe(s.micros)
    expect(bookRequests(fake)).toBe(2)
    expect(feed.conn.stats.reconnects).toBe(1)
  })

  test('bts:request_reconnect reconnects at once, replays subscriptions and re-seeds every book', async () => {
    const { fake, feed } = simFeed()
    await live(feed, 'BTC/USD')
    await live(feed, 'ETH/USD')
    // A change the client misses: only a fresh REST snapshot can show it.
    fake.state.get('ethusd')!.book.apply([['2999.9', '0']], [])
    fake.requestReconnect()
    await fake.server.waitFor(() => fake.server.connections === 2, 3000, 'planned reconnect')
    const client = [...fake.server.clients].find((c) => c.data.id === 2)!
    await fake.server.waitFor(
      () => fake.channelsOf(client).length === 2,
      3000,
      'subscriptions replayed',
    )
    expect(fake.channelsOf(client).sort()).toEqual([
      'diff_order_book_btcusd',
      'diff_order_book_ethusd',
    ])
    await until(() => bookRequests(fake) === 4, 3000, 'books re-seeded')
    await live(feed, 'BTC/USD')
    await live(feed, 'ETH/USD')
    expectSame(feed, 'BTC/USD', fake.state.get('btcusd')!.book)
    expectSame(feed, 'ETH/USD', fake.state.get('ethusd')!.book)
    expect(entry(feed, 'ETH/USD').book.bids.some((l) => l.pxText === '2999.9')).toBe(false)
    expect(feed.conn.stats.reconnects).toBe(1)
    expect(feed.conn.stats.errors).toEqual({})
  })

  test('a stalled feed is caught by the idle watchdog and reconnected', async () => {
    const { fake, feed } = simFeed(['BTC/USD'], { idleTimeoutMs: 200 })
    await live(feed, 'BTC/USD')
    fake.server.stalled = true
    await fake.server.waitFor(() => fake.server.connections === 2, 3000, 'watchdog reconnect')
    fake.server.stalled = false
    expect(feed.conn.stats.errors.idle).toBeGreaterThanOrEqual(1)
    await live(feed, 'BTC/USD')
    fake.update('btcusd', [['59999', '3']], [])
    await until(
      () => entry(feed, 'BTC/USD').book.bids[0]?.qtyText === '3',
      3000,
      'diff after reconnect',
    )
    expectSame(feed, 'BTC/USD', fake.state.get('btcusd')!.book)
  })

  test('a server closing mid-message is survived', async () => {
    const { fake, feed } = simFeed(['BTC/USD'])
    await live(feed, 'BTC/USD')
    const s = fake.state.get('btcusd')!
    fake.server.closeMidMessage(
      JSON.stringify({
        data: {
          timestamp: '1',
          microtimestamp: String(s.micros + 1),
          bids: [['1.0', '1.0']],
          asks: [],
        },
        channel: 'diff_order_book_btcusd',
        event: 'data',
      }),
    )
    await fake.server.waitFor(() => fake.server.connections === 2, 3000, 'reconnect')
    await live(feed, 'BTC/USD')
    expectSame(feed, 'BTC/USD', s.book)
  })

  test('markets the venue does not list or has disabled are reported; USD is not USDT', async () => {
    const unlisted: string[] = []
    const { fake, feed } = simFeed(
      ['BTC/USD', 'BTC/USDT', 'ETH/USD', 'ETH/USDT', 'LTC/USD', 'DOGE/USD'],
      {
        onUnlisted: (_v, p) => unlisted.push(...p),
      },
    )
    await fake.server.waitFor(() => fake.subscriptions.get(1)?.size === 3, 3000, 'subscriptions')
    expect(unlisted).toEqual(['BTC/USDT', 'LTC/USD', 'DOGE/USD'])
    expect(feed.conn.stats.unlisted).toEqual(['BTC/USDT', 'LTC/USD', 'DOGE/USD'])
    expect([...feed.conn.stats.markets]).toEqual([
      ['BTC/USD', 'btcusd'],
      ['ETH/USD', 'ethusd'],
      ['ETH/USDT', 'ethusdt'],
    ])
    expect([...fake.subscriptions.get(1)!].sort()).toEqual([
      'diff_order_book_btcusd',
      'diff_order_book_ethusd',
      'diff_order_book_ethusdt',
    ])
    await live(feed, 'ETH/USDT')
    expectSame(feed, 'ETH/USDT', fake.state.get('ethusdt')!.book)
    expectSame(feed, 'ETH/USD', fake.state.get('ethusd')!.book)
  })
})
