import { afterEach, describe, expect, test } from 'bun:test'
import { okxChecksum } from '../../src/book/checksum.ts'
import { okx } from '../../src/exchanges/okx.ts'
import { FakeOkx, okxChecksumOf } from '../fakes/okx.ts'
import { makeBook, SimBook, type Row } from '../fakes/sim-book.ts'
import { rows, startFeed, until, type Feed } from '../support.ts'

const FIX = `${import.meta.dir}/../fixtures`

let fake: FakeOkx | undefined
let feed: Feed | undefined
afterEach(() => {
  feed?.stop()
  fake?.stop()
  feed = fake = undefined
})

type FeedOptions = Parameters<typeof startFeed>[3]

function simFeed(pairs = ['BTC/USDT', 'ETH/USDT'], opts: FeedOptions = {}, exchange = okx) {
  fake = new FakeOkx([
    { instId: 'BTC-USDT', base: 'BTC', quote: 'USDT', book: makeBook(60000, 20, 0.1, 1) },
    { instId: 'ETH-USDT', base: 'ETH', quote: 'USDT', book: makeBook(3000, 20, 0.01) },
    { instId: 'BTC-USDC', base: 'BTC', quote: 'USDC', book: makeBook(60001, 20, 0.1, 1) },
    { instId: 'DOGE-USDT', base: 'DOGE', quote: 'USDT', state: 'suspend', book: makeBook(0.2) },
    { instId: 'BTC-USD-SWAP', base: 'BTC', quote: 'USD', instType: 'SWAP', book: makeBook(60000) },
  ])
  feed = startFeed(exchange, fake, pairs, opts)
  return { fake, feed }
}

/** True once the newest connection has subscribed to `instId`. */
const subscribed = (fk: FakeOkx, instId: string) =>
  fk.subscriptions.get([...fk.server.clients].at(-1)?.data.id ?? -1)?.has(instId) === true

/** Sends keep-alive updates until the book is live (the first one triggers the REST fetch). */
async function live(f: Feed, fk: FakeOkx, pair: string, instId: string) {
  await until(() => subscribed(fk, instId), 3000, `${instId} subscribed`)
  const e = f.books.get('okx', pair)!
  while (e.state !== 'live') {
    fk.keepAlive(instId)
    await until(() => e.state === 'live' || e.buffer.length > 0, 3000, `${pair} update`)
    await Bun.sleep(5)
  }
}

const expectSame = (f: Feed, pair: string, book: SimBook) => {
  const e = f.books.get('okx', pair)!
  expect(rows(e.book.bids)).toEqual(book.topBids())
  expect(rows(e.book.asks)).toEqual(book.topAsks())
}

/** The REST book requests the fake served (for one instrument, or all). */
const bookRequests = (fk: FakeOkx, instId?: string) =>
  fk.server.requests.filter(
    (r) => r.startsWith('/api/v5/market/books') && (!instId || r.includes(`=${instId}&`)),
  )

interface Sides {
  bids_descending: Row[]
  asks_ascending: Row[]
}

interface CapturedBooks {
  event?: string
  arg: { channel: string; instId: string }
  action: 'snapshot' | 'update'
  data: { asks: string[][]; bids: string[][]; ts: string; checksum: number }[]
}

/** The capture's `books` pushes for one instrument, in order. */
async function capturedBooks(instId: string): Promise<{ raw: string; msg: CapturedBooks }[]> {
  const lines = (await Bun.file(`${FIX}/okx/OKX_ws_1_0.frames.jsonl`).text()).trim().split('\n')
  return lines
    .map((raw) => ({ raw, msg: JSON.parse(raw) as CapturedBooks }))
    .filter(({ msg }) => !msg.event && msg.arg?.channel === 'books' && msg.arg.instId === instId)
}

const toRows = (levels: string[][]): Row[] => levels.map((l) => [l[0]!, l[1]!])

/** Applies one captured message's levels to a reference book. */
const applyTo = (ref: SimBook, msg: CapturedBooks) =>
  ref.apply(toRows(msg.data[0]!.bids), toRows(msg.data[0]!.asks))

describe('okx: recorded capture', () => {
  test('replays the 2022 BTC-USDT frames as recorded: all checksums pass, the book matches', async () => {
    const books = await capturedBooks('BTC-USDT')
    expect(books.length).toBe(98)
    expect(books[0]!.msg.action).toBe('snapshot')

    // The reference: the capture applied independently with SimBook, checked against its checksums.
    const ref = new SimBook()
    for (const { msg } of books) {
      if (msg.action === 'snapshot') (ref.bids.clear(), ref.asks.clear())
      applyTo(ref, msg)
      expect(okxChecksumOf(ref.topBids(25), ref.topAsks(25))).toBe(msg.data[0]!.checksum)
    }

    fake = new FakeOkx([{ instId: 'BTC-USDT', base: 'BTC', quote: 'USDT' }])
    feed = startFeed(okx, fake, ['BTC/USDT'])
    await until(() => subscribed(fake!, 'BTC-USDT'), 3000, 'subscription')
    expect(JSON.parse(fake.server.received[0]!.text)).toEqual({
      op: 'subscribe',
      args: [{ channel: 'books', instId: 'BTC-USDT' }],
    })

    // The parser carries every recorded checksum (none is 0 in 2022), so Books verifies all 98.
    const parse = okx.createParser(new Map([['BTC-USDT', 'BTC/USDT']]))
    for (const { raw, msg } of books) {
      const type = msg.action === 'snapshot' ? 'snapshot' : 'delta'
      expect(parse(raw, 0)).toMatchObject([{ type, checksum: msg.data[0]!.checksum }])
    }

    const all = (await Bun.file(`${FIX}/okx/OKX_ws_1_0.frames.jsonl`).text()).trim().split('\n')
    expect(fake.replay(all)).toBe(98) // the derivatives' books go nowhere: nobody subscribed
    const e = feed.books.get('okx', 'BTC/USDT')!
    await until(() => e.updates === 98, 5000, 'all 98 messages applied')

    expect(e.state).toBe('live')
    expect(e.resyncs).toBe(0)
    expect(e.book.bids.length).toBe(400)
    expect(rows(e.book.bids)).toEqual(ref.topBids())
    expect(rows(e.book.asks)).toEqual(ref.topAsks())
    expect(e.exchangeTsMs).toBe(Number(books.at(-1)!.msg.data[0]!.ts))
    expect(bookRequests(fake)).toEqual([]) // the WS snapshot seeded the book
    expect(feed.conn.stats.errors).toEqual({})
  })

  test('replays the price path re-encoded as today: REST seqId snapshot + prevSeqId chain', async () => {
    const books = await capturedBooks('BTC-USDT')
    const updates = books.slice(1)
    // Current wire format: no WS snapshot; seqIds are large and not consecutive.
    let seq = 12_345_678_901
    const seqs = updates.map((_, i) => (seq += 1 + (i % 4)))
    const frames = updates.map(({ msg }, i) =>
      JSON.stringify({
        arg: msg.arg,
        action: 'update',
        data: [{ ...msg.data[0]!, prevSeqId: seqs[i - 1] ?? 12_345_678_901, seqId: seqs[i] }],
      }),
    )
    const ref = new SimBook()
    applyTo(ref, books[0]!.msg)
    const SNAP_AFTER = 5 // the REST snapshot is taken after the 5th update; the client buffers 10
    for (let i = 0; i < SNAP_AFTER; i++) applyTo(ref, updates[i]!.msg)
    const level = ([p, q]: Row) => [p, q, '0', '1']
    const ts = '1652459228000'
    const snap = { asks: ref.topAsks().map(level), bids: ref.topBids().map(level), ts }
    const data = [{ ...snap, seqId: seqs[SNAP_AFTER - 1] }]
    const restBody = JSON.stringify({ code: '0', msg: '', data })
    for (let i = SNAP_AFTER; i < updates.length; i++) applyTo(ref, updates[i]!.msg)

    fake = new FakeOkx([{ instId: 'BTC-USDT', base: 'BTC', quote: 'USDT' }])
    fake.holdSnapshots = true
    feed = startFeed(okx, fake, ['BTC/USDT'])
    await until(() => subscribed(fake!, 'BTC-USDT'), 3000, 'subscription')
    const e = feed.books.get('okx', 'BTC/USDT')!
    for (let i = 0; i < 10; i++) fake.push('BTC-USDT', frames[i]!)
    const held = () => e.buffer.length === 10 && bookRequests(fake!).length === 1
    await until(held, 3000, 'ten buffered updates and a REST request')
    expect(bookRequests(fake)).toEqual(['/api/v5/market/books?instId=BTC-USDT&sz=400'])
    fake.cannedSnapshots.set('BTC-USDT', restBody)
    fake.releaseSnapshots()
    await until(() => e.state === 'live', 3000, 'live')
    expect(e.lastSeq).toBe(seqs[9]!)
    for (let i = 10; i < frames.length; i++) fake.push('BTC-USDT', frames[i]!)
    await until(() => e.lastSeq === seqs.at(-1), 5000, 'the last update')

    expect(e.resyncs).toBe(0) // the recorded checksums (kept in the re-encoded frames) all passed
    expect(rows(e.book.bids)).toEqual(ref.topBids())
    expect(rows(e.book.asks)).toEqual(ref.topAsks())
    expect(bookRequests(fake).length).toBe(1)
    expect(feed.conn.stats.errors).toEqual({})
  })
})

describe('okx: checksum vectors', () => {
  test('the published OKX vectors match okxChecksum (and the fake computes the same)', async () => {
    const v = (await Bun.file(`${FIX}/vectors/okx-checksum.json`).json()) as {
      vectors: (Sides & { expected_checksum_int32_as_sent_by_okx: number })[]
      string_only_examples: (Sides & { computed_checksum_int32: number })[]
    }
    const levels = (r: Row[]) => r.map(([p, q]) => ({ px: +p, qty: +q, pxText: p, qtyText: q }))
    const cases = [
      ...v.vectors.map((x) => [x, x.expected_checksum_int32_as_sent_by_okx] as const),
      ...v.string_only_examples.map((x) => [x, x.computed_checksum_int32] as const),
    ]
    expect(cases.length).toBe(3)
    for (const [{ bids_descending: bids, asks_ascending: asks }, sum] of cases) {
      expect(okxChecksum({ bids: levels(bids), asks: levels(asks) })).toBe(sum)
      expect(okxChecksumOf(bids, asks)).toBe(sum)
    }
    expect(cases[0]![1]).toBe(831078360)
  })
})

describe('okx: synchronisation', () => {
  test('buffers updates while the REST snapshot is on its way and applies the ones after it', async () => {
    const { fake, feed } = simFeed(['BTC/USDT'])
    await until(() => subscribed(fake, 'BTC-USDT'), 3000, 'subscription')
    fake.holdSnapshots = true
    fake.update('BTC-USDT', [['59999.9', '2.00000000']], [])
    await until(() => bookRequests(fake).length === 1, 3000, 'snapshot request')
    fake.update('BTC-USDT', [], [['60000.1', '0']])
    fake.update('BTC-USDT', [['59999.95', '1.50000000']], [['60000.15', '3.00000000']])
    const e = feed.books.get('okx', 'BTC/USDT')!
    await until(() => e.buffer.length === 3, 3000, 'three buffered updates')
    expect(e.state).toBe('syncing')
    fake.releaseSnapshots()
    await until(() => e.state === 'live', 3000, 'live')
    expectSame(feed, 'BTC/USDT', fake.state.get('BTC-USDT')!.book)
    expect(e.book.asks[0]!.pxText).toBe('60000.15')
    expect(e.lastSeq).toBe(fake.state.get('BTC-USDT')!.seqId)
    expect(bookRequests(fake)).toEqual(['/api/v5/market/books?instId=BTC-USDT&sz=400'])
  })

  test('keep-alives (seqId === prevSeqId) and a maintenance reset (seqId < prevSeqId): no resync', async () => {
    const { fake, feed } = simFeed(['BTC/USDT'])
    await live(feed, fake, 'BTC/USDT', 'BTC-USDT')
    const e = feed.books.get('okx', 'BTC/USDT')!
    const fetched = bookRequests(fake).length
    fake.keepAlive('BTC-USDT')
    fake.keepAlive('BTC-USDT')
    fake.update('BTC-USDT', [['59999.91', '1.00000000']], [])
    fake.maintenanceReset('BTC-USDT', 3, [['59999.92', '2.00000000']], [])
    expect(fake.state.get('BTC-USDT')!.seqId).toBe(3)
    fake.keepAlive('BTC-USDT')
    fake.update('BTC-USDT', [['59999.93', '3.00000000']], [['60000.1', '0']], { step: 2 })
    await until(() => e.lastSeq === 5, 3000, 'the chain after the reset')
    expect(e.resyncs).toBe(0)
    expect(e.state).toBe('live')
    expectSame(feed, 'BTC/USDT', fake.state.get('BTC-USDT')!.book)
    expect(bookRequests(fake).length).toBe(fetched)
  })

  test('fetches the snapshot again when it is older than the buffered updates', async () => {
    const { fake, feed } = simFeed(['BTC/USDT'])
    fake.update('BTC-USDT', [['59990.0', '1.00000000']], [])
    fake.update('BTC-USDT', [['59991.0', '1.00000000']], [])
    fake.staleSnapshots = 1
    await live(feed, fake, 'BTC/USDT', 'BTC-USDT')
    expect(bookRequests(fake).length).toBe(2)
    expect(feed.books.get('okx', 'BTC/USDT')!.resyncs).toBe(0)
    expectSame(feed, 'BTC/USDT', fake.state.get('BTC-USDT')!.book)
  })

  test('a lost update (sequence gap) resyncs that book only, from a new REST snapshot', async () => {
    const { fake, feed } = simFeed()
    await live(feed, fake, 'BTC/USDT', 'BTC-USDT')
    await live(feed, fake, 'ETH/USDT', 'ETH-USDT')
    const btc = feed.books.get('okx', 'BTC/USDT')!
    const eth = feed.books.get('okx', 'ETH/USDT')!
    expect(bookRequests(fake, 'BTC-USDT').length).toBe(1)
    fake.holdSnapshots = true
    fake.update('BTC-USDT', [['59999.9', '0']], [], { lost: true })
    fake.update('BTC-USDT', [['59999.99', '9.00000000']], [])
    await until(() => btc.resyncs === 1, 3000, 'resync')
    expect(btc.lastResyncReason).toContain('sequence gap')
    expect(btc.state).toBe('syncing')
    expect(btc.book.bids.length).toBe(0)
    fake.update('ETH-USDT', [['3000.00', '1.00000000']], [])
    await until(() => eth.book.bids[0]!.pxText === '3000.00', 3000, 'ETH keeps updating')
    fake.releaseSnapshots()
    await live(feed, fake, 'BTC/USDT', 'BTC-USDT')
    expectSame(feed, 'BTC/USDT', fake.state.get('BTC-USDT')!.book)
    expect(btc.book.bids.some((l) => l.pxText === '59999.9')).toBe(false) // no ghost level
    expect(bookRequests(fake, 'BTC-USDT').length).toBe(2)
    expect(bookRequests(fake, 'ETH-USDT').length).toBe(1)
    expect(eth.state).toBe('live')
    expect(eth.resyncs).toBe(0)
    expectSame(feed, 'ETH/USDT', fake.state.get('ETH-USDT')!.book)
  })

  test('a lost maintenance reset (the chain goes back) resyncs instead of freezing', async () => {
    const { fake, feed } = simFeed()
    await live(feed, fake, 'BTC/USDT', 'BTC-USDT')
    await live(feed, fake, 'ETH/USDT', 'ETH-USDT')
    const btc = feed.books.get('okx', 'BTC/USDT')!
    fake.maintenanceReset('BTC-USDT', 3, [['59999.92', '2.00000000']], [], true)
    fake.update('BTC-USDT', [['59999.93', '3.00000000']], [], { step: 2 })
    await until(() => btc.resyncs === 1, 3000, 'resync')
    expect(btc.lastResyncReason).toContain('seqId chain went back')
    await live(feed, fake, 'BTC/USDT', 'BTC-USDT')
    expect(btc.lastSeq).toBe(5)
    expectSame(feed, 'BTC/USDT', fake.state.get('BTC-USDT')!.book)
    expect(feed.books.get('okx', 'ETH/USDT')!.resyncs).toBe(0)
  })

  test('a repeated update (OKX never repeats on one connection) is not applied: it resyncs', async () => {
    const { fake, feed } = simFeed(['BTC/USDT'])
    await live(feed, fake, 'BTC/USDT', 'BTC-USDT')
    const e = feed.books.get('okx', 'BTC/USDT')!
    const frame = fake.update('BTC-USDT', [['59999.96', '1.00000000']], [])
    fake.update('BTC-USDT', [['59999.96', '0']], [])
    fake.push('BTC-USDT', frame)
    await until(() => e.resyncs === 1, 3000, 'resync')
    await live(feed, fake, 'BTC/USDT', 'BTC-USDT')
    expect(e.book.bids.some((l) => l.pxText === '59999.96')).toBe(false)
    expectSame(feed, 'BTC/USDT', fake.state.get('BTC-USDT')!.book)
  })

  test('real checksums are verified; a wrong non-zero checksum resyncs that book only', async () => {
    const { fake, feed } = simFeed()
    fake.checksums = 'real'
    await live(feed, fake, 'BTC/USDT', 'BTC-USDT')
    await live(feed, fake, 'ETH/USDT', 'ETH-USDT')
    const btc = feed.books.get('okx', 'BTC/USDT')!
    const eth = feed.books.get('okx', 'ETH/USDT')!
    for (let i = 0; i < 30; i++) {
      const bids: Row[] = [
        [(59998 - i).toFixed(1), '0.25000000'],
        ['59999.9', i % 2 ? '0' : '1.1'],
      ]
      fake.update('BTC-USDT', bids, [[(60002 + i / 10).toFixed(1), '0.50000000']])
    }
    await until(() => btc.lastSeq === fake.state.get('BTC-USDT')!.seqId, 3000, '30 updates')
    expect(btc.resyncs).toBe(0)
    expectSame(feed, 'BTC/USDT', fake.state.get('BTC-USDT')!.book)

    fake.holdSnapshots = true
    fake.update('BTC-USDT', [['59999.98', '1.00000000']], [], { checksum: 'wrong' })
    await until(() => btc.resyncs === 1, 3000, 'checksum resync')
    expect(btc.lastResyncReason).toContain('checksum mismatch')
    fake.update('ETH-USDT', [['3000.00', '1.00000000']], [])
    await until(() => eth.book.bids[0]!.pxText === '3000.00', 3000, 'ETH keeps updating')
    fake.releaseSnapshots()
    await live(feed, fake, 'BTC/USDT', 'BTC-USDT')
    expectSame(feed, 'BTC/USDT', fake.state.get('BTC-USDT')!.book)
    expect(eth.resyncs).toBe(0)
    expect(eth.state).toBe('live')
  })

  test('a WebSocket snapshot from an older server seeds the book without a REST request', async () => {
    const book = makeBook(60000, 20, 0.1, 1)
    fake = new FakeOkx([{ instId: 'BTC-USDT', base: 'BTC', quote: 'USDT', book }])
    fake.wsSnapshots = true
    fake.checksums = 'real'
    feed = startFeed(okx, fake, ['BTC/USDT'])
    const e = feed.books.get('okx', 'BTC/USDT')!
    await until(() => e.state === 'live', 3000, 'live from the WS snapshot')
    fake.update('BTC-USDT', [['59999.94', '1.00000000']], [['60000.1', '0']])
    await until(() => e.lastSeq === fake!.state.get('BTC-USDT')!.seqId, 3000, 'an update')
    expectSame(feed, 'BTC/USDT', fake.state.get('BTC-USDT')!.book)
    expect(e.resyncs).toBe(0)
    expect(bookRequests(fake)).toEqual([])
  })
})

describe('okx: bad input', () => {
  test('malformed JSON and unknown messages are counted, pongs and acks are not', async () => {
    const { fake, feed } = simFeed(['BTC/USDT'], {}, { ...okx, pingIntervalMs: 30 })
    await live(feed, fake, 'BTC/USDT', 'BTC-USDT')
    const pings = () => fake.server.received.filter((r) => r.text === 'ping').length
    await until(() => pings() >= 2, 3000, 'two pings answered')
    fake.server.send('{"arg":{"channel":"books","instId":"BTC-USDT"},"action":"upd')
    fake.server.send('not json at all')
    const ticker = { arg: { channel: 'tickers', instId: 'BTC-USDT' }, data: [{ last: '60000' }] }
    fake.server.send(JSON.stringify(ticker))
    fake.server.send(JSON.stringify({ event: 'channel-conn-count', connCount: '2' }))
    fake.server.send(JSON.stringify({ event: 'error', code: '60012', msg: 'Invalid request' }))
    fake.update('BTC-USDT', [['59999.97', '4.00000000']], [])
    const e = feed.books.get('okx', 'BTC/USDT')!
    await until(() => e.book.bids[0]!.pxText === '59999.97', 3000, 'update after garbage')
    expect(feed.conn.stats.errors['malformed-json']).toBe(2)
    expect(feed.conn.stats.errors['unknown-message']).toBe(2)
    expect(feed.conn.stats.errors['venue-error']).toBe(1)
    expect(Object.keys(feed.conn.stats.errors).sort()).toEqual([
      'malformed-json',
      'unknown-message',
      'venue-error',
    ])
    expect(e.state).toBe('live')
    expect(e.resyncs).toBe(0)
    expectSame(feed, 'BTC/USDT', fake.state.get('BTC-USDT')!.book)
  })

  test('a negative or non-numeric price rejects the message and resyncs that book only', async () => {
    const { fake, feed } = simFeed()
    await live(feed, fake, 'BTC/USDT', 'BTC-USDT')
    await live(feed, fake, 'ETH/USDT', 'ETH-USDT')
    const btc = feed.books.get('okx', 'BTC/USDT')!
    const s = fake.state.get('BTC-USDT')!
    const bads = [
      ['-1.0', '1.0'],
      ['abc', '1.0'],
      ['60000.0', '-5'],
      ['1e3', '1'],
    ]
    for (const [px, qty] of bads) {
      const bad = [px!, qty!, '0', '1']
      const before = btc.resyncs
      fake.inject('BTC-USDT', [['59999.01', '1.0', '0', '1'], bad], [])
      await until(() => btc.resyncs === before + 1, 3000, 'resync after bad level')
      expect(btc.book.bids.some((l) => l.pxText === '59999.01')).toBe(false)
      await live(feed, fake, 'BTC/USDT', 'BTC-USDT')
      expectSame(feed, 'BTC/USDT', s.book)
    }
    expect(feed.conn.stats.errors['bad-level']).toBe(4)
    expect(feed.books.get('okx', 'ETH/USDT')!.resyncs).toBe(0)
  })

  test('a crossed book is never live: it resyncs', async () => {
    const { fake, feed } = simFeed(['BTC/USDT'])
    await live(feed, fake, 'BTC/USDT', 'BTC-USDT')
    const e = feed.books.get('okx', 'BTC/USDT')!
    fake.inject('BTC-USDT', [['60005.0', '1.00000000', '0', '1']], [])
    await until(() => e.resyncs === 1, 3000, 'resync')
    expect(e.lastResyncReason).toContain('crossed')
    await live(feed, fake, 'BTC/USDT', 'BTC-USDT')
    expect(e.book.bids[0]!.px).toBeLessThan(e.book.asks[0]!.px)
    expectSame(feed, 'BTC/USDT', fake.state.get('BTC-USDT')!.book)
  })
})

describe('okx: connection faults', () => {
  test('a disconnect reconnects, resubscribes and rebuilds the book without ghost levels', async () => {
    const { fake, feed } = simFeed()
    await live(feed, fake, 'BTC/USDT', 'BTC-USDT')
    const e = feed.books.get('okx', 'BTC/USDT')!
    fake.server.disconnectAll()
    await until(() => feed.conn.stats.state !== 'connected', 3000, 'down')
    // While we are away a level disappears; the client never sees that delete.
    fake.update('BTC-USDT', [['59999.9', '0']], [], { lost: true })
    await until(() => fake.server.connections === 2, 3000, 'reconnect')
    await live(feed, fake, 'BTC/USDT', 'BTC-USDT')
    const subscribes = fake.server.received.filter((r) => r.text.startsWith('{'))
    expect(subscribes.length).toBe(2)
    expect(subscribes[0]!.client).not.toBe(subscribes[1]!.client)
    for (const r of subscribes) {
      expect(JSON.parse(r.text)).toEqual({
        op: 'subscribe',
        args: [
          { channel: 'books', instId: 'BTC-USDT' },
          { channel: 'books', instId: 'ETH-USDT' },
        ],
      })
    }
    expect(e.book.bids.some((l) => l.pxText === '59999.9')).toBe(false)
    expectSame(feed, 'BTC/USDT', fake.state.get('BTC-USDT')!.book)
    expect(feed.conn.stats.reconnects).toBe(1)
  })

  test('a stalled feed is caught by the idle watchdog and reconnected', async () => {
    const { fake, feed } = simFeed(['BTC/USDT'], { idleTimeoutMs: 200 })
    await live(feed, fake, 'BTC/USDT', 'BTC-USDT')
    fake.server.stalled = true
    await until(() => fake.server.connections === 2, 3000, 'watchdog reconnect')
    fake.server.stalled = false
    expect(feed.conn.stats.errors.idle).toBeGreaterThanOrEqual(1)
    await live(feed, fake, 'BTC/USDT', 'BTC-USDT')
    expectSame(feed, 'BTC/USDT', fake.state.get('BTC-USDT')!.book)
  })

  test('the 64008 service-upgrade notice triggers a planned reconnect', async () => {
    const { fake, feed } = simFeed(['BTC/USDT'])
    await live(feed, fake, 'BTC/USDT', 'BTC-USDT')
    fake.noticeUpgrade()
    await until(() => fake.server.connections === 2, 3000, 'planned reconnect')
    await live(feed, fake, 'BTC/USDT', 'BTC-USDT')
    expect(feed.conn.stats.errors).toEqual({})
  })

  test('a server closing mid-message is survived', async () => {
    const { fake, feed } = simFeed(['BTC/USDT'])
    await live(feed, fake, 'BTC/USDT', 'BTC-USDT')
    const s = fake.state.get('BTC-USDT')!
    const frame = fake.update('BTC-USDT', [['59999.93', '1.00000000']], [], { lost: true })
    fake.server.closeMidMessage(frame)
    await until(() => fake.server.connections === 2, 3000, 'reconnect')
    await live(feed, fake, 'BTC/USDT', 'BTC-USDT')
    expectSame(feed, 'BTC/USDT', s.book)
  })

  test('an instrument list error is retried', async () => {
    fake = new FakeOkx([{ instId: 'BTC-USDT', base: 'BTC', quote: 'USDT', book: makeBook(60000) }])
    fake.failInstruments = 1
    feed = startFeed(okx, fake, ['BTC/USDT'])
    await live(feed, fake, 'BTC/USDT', 'BTC-USDT')
    expect(feed.conn.stats.errors.instruments).toBe(1)
  })

  test('markets the venue does not list are reported, not guessed; USD is not USDT', async () => {
    const unlisted: string[] = []
    const pairs = ['BTC/USDT', 'BTC/USD', 'DOGE/USDT', 'BTC/USDC']
    const { fake, feed } = simFeed(pairs, { onUnlisted: (_v, p) => unlisted.push(...p) })
    await until(() => fake.server.received.length > 0, 3000, 'subscribe')
    expect(unlisted).toEqual(['BTC/USD', 'DOGE/USDT'])
    expect(feed.conn.stats.unlisted).toEqual(['BTC/USD', 'DOGE/USDT'])
    expect([...feed.conn.stats.markets]).toEqual([
      ['BTC/USDT', 'BTC-USDT'],
      ['BTC/USDC', 'BTC-USDC'],
    ])
    expect(fake.server.requests[0]).toBe('/api/v5/public/instruments?instType=SPOT')
  })
})
