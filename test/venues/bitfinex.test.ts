/**
 * Bitfinex's own behaviour: the 2021 capture (book P0/F0/len 100, SEQ_ALL) replayed through the
 * parser and the book rules against a reference built from the raw JSON here, the official
 * checksum examples, exact number tokens, heartbeats, checksums and info codes, the instrument
 * list and 24 h volumes, and the limits the simulated venue enforces. Generic faults are in
 * contract.test.ts.
 */
import { describe, expect, test } from 'bun:test'
import { bitfinexChecksum, checksumText } from '../../src/venues/bitfinex/checksum.ts'
import {
  bitfinex,
  createBitfinex,
  plainDecimal,
  quoteNumbers,
  splitPair,
} from '../../src/venues/bitfinex/index.ts'
import { bitfinexChecksumOf, SimBitfinex } from '../../src/venues/bitfinex/sim.ts'
import { makeBook, type Row } from '../../src/venues/sim/book.ts'
import type { Level } from '../../src/types.ts'
import { toLevel, type Venue } from '../../src/venues/venue.ts'
import {
  bookWhere,
  expectReconnect,
  rawSocket,
  readLines,
  rows,
  useFeeds,
  ruleBook,
} from '../support.ts'

const FIX = `${import.meta.dir}/../fixtures/bitfinex`
const BTC = 'BTC/USDT'
const feeds = useFeeds()

/** A reference side: price → amount, both as numbers from `JSON.parse` of the raw frame. */
type RefSide = Map<number, number>

/** Applies one raw `[price, count, amount]` entry the way the docs describe. */
function refApply(bids: RefSide, asks: RefSide, [price, count, amount]: number[]): void {
  const side = amount! > 0 ? bids : asks
  if (count === 0) side.delete(price!)
  else side.set(price!, Math.abs(amount!))
}

const sortedRef = (side: RefSide, descending: boolean): [number, number][] =>
  [...side].sort((a, b) => (descending ? b[0] - a[0] : a[0] - b[0]))

const asNumbers = (levels: readonly Level[]): [number, number][] => levels.map((l) => [l.px, l.qty])

describe('bitfinex: recorded capture (2021, book P0/F0/len 100, SEQ_ALL)', () => {
  test('every book frame through the parser and the book rules matches a reference built from the raw JSON', async () => {
    const lines = await readLines(`${FIX}/BITFINEX_ws_11_0.frames.jsonl`)
    expect(lines.length).toBe(1693)
    const venue = createBitfinex({ len: 100 })
    // Every subscribed symbol the capture names, mapped as listMarkets maps them.
    const symbols = lines
      .map((l) => JSON.parse(l) as { event?: string; symbol?: string; channel?: string })
      .filter((m) => m.event === 'subscribed')
      .map((m) => m.symbol!)
    const markets = new Map([...new Set(symbols)].map((s) => [s, splitPair(s.slice(1))!]))
    expect(markets.get('tTESTBTC:TESTUSD')).toBe('TESTBTC/TESTUSD')
    const parse = venue.createParser(markets)

    // The reference, from plain JSON.parse: channel id → symbol, and each book as two maps.
    const bookChannels = new Map<number, string>()
    const ref = new Map<string, { bids: RefSide; asks: RefSide }>()
    const entries = new Map<string, ReturnType<typeof ruleBook>>()
    const seqs: number[] = []
    let snapshots = 0
    let updates = 0
    let checksums = 0
    for (const raw of lines) {
      const events = parse(raw, 0)
      for (const ev of events) {
        if (ev.type === 'stream-seq') seqs.push(ev.seq)
        if (ev.type === 'rejected' || ev.type === 'venue-error') throw new Error(JSON.stringify(ev))
        if (ev.type === 'snapshot' || ev.type === 'delta') {
          let e = entries.get(ev.pair)
          if (e === undefined) entries.set(ev.pair, (e = ruleBook(venue, ev.pair)))
          e.feed(ev)
        }
      }
      const msg = JSON.parse(raw) as unknown
      if (!Array.isArray(msg)) {
        const m = msg as { event?: string; channel?: string; chanId?: number; symbol?: string }
        if (m.event === 'subscribed' && m.channel === 'book') bookChannels.set(m.chanId!, m.symbol!)
        continue
      }
      const symbol = bookChannels.get(msg[0] as number)
      if (symbol === undefined || msg[1] === 'hb') continue
      if (msg[1] === 'cs') {
        checksums++
        continue
      }
      const body = msg[1] as number[] | number[][]
      if (Array.isArray(body[0])) {
        snapshots++
        const r = { bids: new Map(), asks: new Map() }
        for (const row of body as number[][]) refApply(r.bids, r.asks, row)
        ref.set(symbol, r)
      } else {
        updates++
        const r = ref.get(symbol)!
        refApply(r.bids, r.asks, body as number[])
      }
      // Level by level after every message.
      const pair = markets.get(symbol)!
      const { entry } = entries.get(pair)!
      const r = ref.get(symbol)!
      expect(asNumbers(entry.book.bids)).toEqual(sortedRef(r.bids, true))
      expect(asNumbers(entry.book.asks)).toEqual(sortedRef(r.asks, false))
    }
    expect([snapshots, updates]).toEqual([7, 1593])
    // The client sent conf flags 65536 only: the capture holds no `cs` frame to verify (README).
    expect(checksums).toBe(0)
    // SEQ_ALL: one counter over every channel frame of the connection, 1…1670 without a gap.
    expect(seqs).toEqual(Array.from({ length: 1670 }, (_, i) => i + 1))
    for (const { entry } of entries.values()) {
      expect(entry.book.bids.length).toBeLessThanOrEqual(100)
      expect(entry.book.asks.length).toBeLessThanOrEqual(100)
      // The venue's digits are kept: each text is the number it stands for, in plain decimals
      // (the capture's `1.1e-7` prices become `0.00000011`).
      for (const l of [...entry.book.bids, ...entry.book.asks]) {
        expect(Number(l.pxText)).toBe(l.px)
        expect(Number(l.qtyText)).toBe(l.qty)
        expect(l.pxText).not.toContain('e')
      }
    }
  })

  test('the capture price path, re-sent by the sim with checksums on, is verified on every cs frame', async () => {
    // tDOGUSD's recorded snapshot and updates, pushed through the sim's book (len 25 window):
    // the sim computes each checksum with Bun's CRC-32, the client verifies it with its own.
    const lines = await readLines(`${FIX}/BITFINEX_ws_11_0.frames.jsonl`)
    let chan = -1
    const frames: number[][][] = []
    for (const raw of lines) {
      const m = JSON.parse(raw) as {
        event?: string
        channel?: string
        symbol?: string
        chanId?: number
      }
      if (!Array.isArray(m)) {
        if (m.event === 'subscribed' && m.channel === 'book' && m.symbol === 'tDOGUSD')
          chan = m.chanId!
        continue
      }
      const a = m as unknown[]
      if (a[0] !== chan || !Array.isArray(a[1])) continue
      frames.push(Array.isArray(a[1][0]) ? (a[1] as number[][]) : [a[1] as number[]])
    }
    const toRows = (entries: number[][], bid: boolean): Row[] =>
      entries
        .filter((e) => e[2]! > 0 === bid)
        .map((e) => [String(e[0]), e[1] === 0 ? '0' : String(Math.abs(e[2]!))])
    const [snapshot, ...updates] = frames
    const sim = feeds.sim(new SimBitfinex([{ base: 'DOG', quote: 'USD' }]))
    sim.book('DOG/USD').apply(toRows(snapshot!, true), toRows(snapshot!, false))
    sim.book('DOG/USD').truncate(25)
    const feed = feeds.start(bitfinex, sim, ['DOG/USD'])
    await bookWhere(feed, 'DOG/USD')
    for (const u of updates) sim.update('DOG/USD', toRows(u, true), toRows(u, false))
    const e = await bookWhere(
      feed,
      'DOG/USD',
      (e) =>
        Bun.deepEquals(rows(e.book.bids), sim.book('DOG/USD').topBids(25)) &&
        Bun.deepEquals(rows(e.book.asks), sim.book('DOG/USD').topAsks(25)) &&
        e.updates >= updates.length,
      5000,
      'all updates applied',
    )
    expect(updates.length).toBeGreaterThan(100)
    expect(e.resyncs).toBe(0)
    expect(Object.values(feed.books.resyncCounts('bitfinex')).every((n) => n === 0)).toBe(true)
  })
})

describe('bitfinex: checksum', () => {
  test('the official client examples: text and signed CRC, adapter and sim independently', async () => {
    const { vectors } = (await Bun.file(`${FIX}/checksum-vectors.json`).json()) as {
      vectors: { rows: (number | string)[][]; text: string; checksum: number }[]
    }
    expect(vectors.length).toBe(3)
    for (const v of vectors) {
      const bids: Level[] = []
      const asks: Level[] = []
      const bidRows: Row[] = []
      const askRows: Row[] = []
      for (const [p, , a] of v.rows) {
        const px = plainDecimal(String(p))
        const qty = String(Math.abs(Number(a)))
        ;(Number(a) > 0 ? bids : asks).push(toLevel(px, qty))
        ;(Number(a) > 0 ? bidRows : askRows).push([px, qty])
      }
      expect(checksumText({ bids, asks })).toBe(v.text)
      expect(bitfinexChecksum({ bids, asks })).toBe(v.checksum)
      expect(bitfinexChecksumOf(bidRows, askRows)).toBe(v.checksum)
    }
  })

  test('a cs frame is a checksum-only delta; a wrong one resyncs that book', async () => {
    const sim = feeds.sim(
      new SimBitfinex([{ base: 'BTC', quote: 'USDT', book: makeBook(60000, 30, 0.1) }]),
    )
    const feed = feeds.start(bitfinex, sim, [BTC])
    const e = await bookWhere(feed, BTC)
    expect(e.book.bids.length).toBe(25) // the len 25 window
    const resync = feed.books.events.next('resync')
    sim.corruptChecksum(BTC)
    expect((await resync).failure.kind).toBe('checksum')
    await bookWhere(feed, BTC, (e) => e.state === 'live' && e.resyncs === 1)
  })
})

describe('bitfinex: parser', () => {
  const markets = new Map([['tBTCUST', BTC]])
  const subscribed = JSON.stringify({
    event: 'subscribed',
    channel: 'book',
    chanId: 7,
    symbol: 'tBTCUST',
    prec: 'P0',
    freq: 'F0',
    len: '25',
    pair: 'BTCUST',
  })

  test('numbers keep their digits; exponent tokens become the same digits in plain form', () => {
    expect(plainDecimal('9.121E-7')).toBe('0.0000009121')
    expect(plainDecimal('1e-8')).toBe('0.00000001')
    expect(plainDecimal('-1.5e3')).toBe('-1500')
    expect(plainDecimal('2.2626931299999997')).toBe('2.2626931299999997')
    expect(quoteNumbers('[7,["a,1",-1.5e-3, 2]]')).toBe('["7",["a,1","-1.5e-3", "2"]]')
    const parse = bitfinex.createParser(markets)
    expect(parse(subscribed, 0)).toEqual([{ type: 'subscribed', pairs: [BTC] }])
    const [seq, snap] = parse('[7,[[0.00000912,2,9.121E-7],[0.0000092,1,-1e-8]],3]', 0)
    expect(seq).toEqual({ type: 'stream-seq', seq: 3 })
    expect(snap).toMatchObject({ type: 'snapshot', pair: BTC })
    const s = snap as { bids: Level[]; asks: Level[] }
    expect(rows(s.bids)).toEqual([['0.00000912', '0.0000009121']])
    expect(rows(s.asks)).toEqual([['0.0000092', '0.00000001']])
    // A delete: count 0, amount -1 names the side.
    expect(parse('[7,[0.0000092,0,-1],4]', 0)[1]).toMatchObject({
      type: 'delta',
      asks: [{ pxText: '0.0000092', qty: 0 }],
      bids: [],
    })
  })

  test('hb, cs, pong, conf, info codes, errors and unsubscribed', () => {
    const parse = bitfinex.createParser(markets)
    parse(subscribed, 0)
    expect(parse('[7,"hb",5]', 0)).toEqual([{ type: 'stream-seq', seq: 5 }, { type: 'info' }])
    expect(parse('[7,"cs",-1625836611,6]', 0)).toEqual([
      { type: 'stream-seq', seq: 6 },
      { type: 'delta', pair: BTC, bids: [], asks: [], checksum: -1625836611 },
    ])
    expect(parse('{"event":"pong","ts":1,"cid":1}', 0)).toEqual([{ type: 'info' }])
    expect(parse('{"event":"conf","status":"OK","flags":196608}', 0)).toEqual([{ type: 'info' }])
    expect(parse('{"event":"info","code":20051,"msg":"Stopping"}', 0)[0]!.type).toBe('reconnect')
    expect(parse('{"event":"info","code":20060,"msg":"m"}', 0)[0]!.type).toBe('venue-error')
    expect(parse('{"event":"info","code":20061,"msg":"m"}', 0)[0]!.type).toBe('reconnect')
    expect(parse('{"event":"info","version":2,"platform":{"status":0}}', 0)[0]!.type).toBe(
      'venue-error',
    )
    expect(
      parse('{"event":"error","msg":"subscribe: limit","code":10305,"symbol":"tBTCUST"}', 0),
    ).toEqual([{ type: 'venue-error', message: 'error 10305: subscribe: limit', pair: BTC }])
    expect(parse('[7,[60000,1,"x"],7]', 0)[1]).toMatchObject({ type: 'rejected', pairs: [BTC] })
    expect(parse('{"event":"unsubscribed","status":"OK","chanId":7}', 0)).toEqual([
      { type: 'info' },
    ])
    // A channel no longer ours: proof of life only.
    expect(parse('[7,[60000,1,1],8]', 0)).toEqual([
      { type: 'stream-seq', seq: 8 },
      { type: 'info' },
    ])
  })

  test('resubscribe unsubscribes by the channel id the parser saw, then subscribes', () => {
    const venue = createBitfinex()
    expect(venue.resubscribe!('tBTCUST')).toHaveLength(1)
    venue.createParser(markets)(subscribed, 0)
    const [unsub, sub] = venue.resubscribe!('tBTCUST').map((f) => JSON.parse(f) as object)
    expect(unsub).toEqual({ event: 'unsubscribe', chanId: 7 })
    expect(sub).toMatchObject({ event: 'subscribe', channel: 'book', symbol: 'tBTCUST', len: '25' })
    expect(JSON.parse(venue.subscribe(['tBTCUST'])[0]!)).toEqual({ event: 'conf', flags: 196608 })
  })

  test('info 20051 (server restart) makes a planned reconnect; the book comes back', async () => {
    const sim = feeds.sim(new SimBitfinex([{ base: 'BTC', quote: 'USDT', book: makeBook(60000) }]))
    const feed = feeds.start(bitfinex, sim, [BTC])
    await bookWhere(feed, BTC)
    await expectReconnect(feed, sim, () => sim.info(20051), '20051')
    await bookWhere(feed, BTC, (e) => e.state === 'live' && sim.server.connections === 2)
  })
})

describe('bitfinex: markets and volumes', () => {
  test('pair names: 3+3 letters or colon-separated; UST is USDT, UDC is USDC', async () => {
    const { rows: list } = (await Bun.file(`${FIX}/instruments_20250415.json`).json()) as {
      rows: [string, unknown][]
    }
    const pairs = list.map(([name]) => splitPair(name))
    expect(pairs).toContain('BTC/USDT')
    expect(pairs).toContain('BTC/USD')
    expect(pairs).toContain('USDT/USD')
    expect(splitPair('AVAX:USD')).toBe('AVAX/USD')
    expect(splitPair('UDCUST')).toBe('USDC/USDT')
    expect(splitPair('BTC')).toBeUndefined()
  })

  test('listMarkets and fetchVolumes from pub:list:pair:exchange and tickers (funding rows left out)', async () => {
    const sim = feeds.sim(
      new SimBitfinex([
        { base: 'BTC', quote: 'USDT', book: makeBook(60000), volume24h: 5_000_000 },
        { base: 'BTC', quote: 'USD', book: makeBook(60010), volume24h: 9_000_000 },
        { base: 'AVAX', quote: 'USD', book: makeBook(30), volume24h: 100_000 },
        { base: 'ETH', quote: 'USD', trading: false, book: makeBook(3000) },
      ]),
    )
    const opts = { fetch, signal: AbortSignal.timeout(5000) }
    const listed = await bitfinex.listMarkets(sim.restUrl, opts)
    expect([...listed]).toEqual([
      [BTC, 'tBTCUST'],
      ['BTC/USD', 'tBTCUSD'],
      ['AVAX/USD', 'tAVAX:USD'],
    ])
    const volumes = await bitfinex.fetchVolumes!(sim.restUrl, opts)
    expect([...volumes.keys()]).toEqual([BTC, 'BTC/USD', 'AVAX/USD'])
    expect(volumes.get(BTC)).toBeCloseTo(5_000_000, 3)
    expect(volumes.get('AVAX/USD')).toBeCloseTo(100_000, 3)
    expect(sim.limited.throttled).toBe(0)
  })
})

describe('bitfinex: limits the simulated venue enforces', () => {
  test('a 26th channel on one connection is answered error 10305 and not applied', async () => {
    const bases = Array.from({ length: 26 }, (_, i) => `C${String(i).padStart(2, '0')}X`)
    const sim = feeds.sim(
      new SimBitfinex(bases.map((base) => ({ base, quote: 'USD', book: makeBook(1, 3, 0.01) }))),
    )
    const sock = rawSocket<{ event?: string; code?: number; symbol?: string }>(sim.wsUrl)
    expect(await sock.opened).toBe(true)
    for (const base of bases) {
      sock.ws.send(
        JSON.stringify({ event: 'subscribe', channel: 'book', symbol: `t${base}:USD`, len: '25' }),
      )
    }
    const acks = (f: { event?: string }[]) => f.filter((m) => m.event === 'subscribed').length
    await sock.until(
      (f) => acks(f) === 25 && f.some((m) => m.event === 'error'),
      '25 acks, 1 error',
    )
    const error = sock.frames.find((m) => m.event === 'error')!
    expect([error.code, error.symbol]).toEqual([10305, `t${bases[25]}:USD`])
    expect(sim.limited.channels).toBe(1)
    sock.ws.close()
  })

  test('a 21st connection within a minute is refused with HTTP 429', async () => {
    const sim = feeds.sim(new SimBitfinex([{ base: 'BTC', quote: 'USD' }]))
    const sockets = Array.from({ length: 21 }, () => rawSocket(sim.wsUrl))
    const results = await Promise.all(sockets.map((s) => s.opened))
    expect(results.filter(Boolean).length).toBe(20)
    expect(sim.limited.connects).toBe(1)
    for (const s of sockets) s.ws.close()
  })

  test('an 11th REST request a minute to one endpoint is answered 429 ["error",11010,…]', async () => {
    const sim = feeds.sim(new SimBitfinex([{ base: 'BTC', quote: 'USD' }]))
    const url = `${sim.restUrl}/v2/tickers?symbols=ALL`
    const statuses: number[] = []
    for (let i = 0; i < 11; i++) {
      const res = await fetch(url)
      statuses.push(res.status)
      if (res.status === 429) expect(await res.json()).toEqual(['error', 11010, 'ratelimit: error'])
      else await res.body?.cancel()
    }
    expect(statuses.filter((s) => s === 200).length).toBe(10)
    expect(statuses.at(-1)).toBe(429)
    expect(sim.limited.throttled).toBe(1)
    // Another endpoint has its own window.
    expect((await fetch(`${sim.restUrl}/v2/conf/pub:list:pair:exchange`)).status).toBe(200)
  })

  test('the product keeps to them: 25 books a connection, 20 connections a minute, 10 REST a minute', () => {
    expect(bitfinex.limits.marketsPerConnection).toBe(25)
    expect(bitfinex.limits.connects).toEqual({ count: 20, windowMs: 60_000 })
    expect(bitfinex.limits.rest.weight).toBe(10)
    expect(bitfinex.subscribe(['tBTCUSD', 'tETHUSD'])).toHaveLength(3) // conf + one per book
  })
})
