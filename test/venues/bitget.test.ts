/**
 * Bitget's own behaviour: the recorded 2022 `books` frames replayed through the parser and the
 * book rules against a reference built here from the raw JSON (every checksum verified), the
 * docs' worked checksum examples, the parser's other frames, the instrument list and 24 h volumes,
 * and the limits the simulated venue enforces as Bitget answers them. Generic faults are in
 * contract.test.ts.
 */
import { describe, expect, test } from 'bun:test'
import { Books } from '../../src/book/books.ts'
import { applySnapshot, applyUpdate } from '../../src/book/sync.ts'
import { bitget, BITGET_ARGS_PER_FRAME, createJsonParser } from '../../src/venues/bitget/index.ts'
import { bitgetChecksum } from '../../src/venues/bitget/checksum.ts'
import { bitgetChecksumOf, SimBitget } from '../../src/venues/bitget/sim.ts'
import { makeBook, type Row } from '../../src/venues/sim/book.ts'
import { ParseError, toLevel } from '../../src/venues/venue.ts'
import { bookWhere, rawSocket, readLines, rows, useFeeds } from '../support.ts'

const FIX = `${import.meta.dir}/../fixtures/bitget`
const feeds = useFeeds()

interface CapturedBooks {
  event?: string
  action: 'snapshot' | 'update'
  arg: { instType: string; channel: string; instId: string }
  data: { asks: string[][]; bids: string[][]; checksum: number; ts: string }[]
}

const PAIRS = new Map([
  ['STGUSDT', 'STG/USDT'],
  ['SUNUSDT', 'SUN/USDT'],
])

/** The capture's `books` pushes, in order, raw and parsed. */
async function capturedBooks(): Promise<{ raw: string; msg: CapturedBooks }[]> {
  const lines = await readLines(`${FIX}/BITGET_ws_1_0.frames.jsonl`)
  return lines
    .map((raw) => ({ raw, msg: JSON.parse(raw) as CapturedBooks }))
    .filter(({ msg }) => msg.event === undefined && msg.arg?.channel === 'books')
}

/** The reference: a plain price → size map per side, applied from the raw JSON. */
class RefBook {
  bids = new Map<string, string>()
  asks = new Map<string, string>()
  apply(msg: CapturedBooks): void {
    if (msg.action === 'snapshot') {
      this.bids = new Map()
      this.asks = new Map()
    }
    const d = msg.data[0]!
    for (const [side, levels] of [
      [this.bids, d.bids],
      [this.asks, d.asks],
    ] as const) {
      for (const [px, qty] of levels) {
        if (Number(qty) === 0) side.delete(px!)
        else side.set(px!, qty!)
      }
    }
  }
  sorted(side: 'bids' | 'asks'): Row[] {
    const sign = side === 'bids' ? -1 : 1
    return [...this[side]].sort((a, b) => sign * (Number(a[0]) - Number(b[0])))
  }
}

describe('bitget: recorded capture (v1 books, same envelope and checksum as v2)', () => {
  test('every frame replays through the parser and the book rules level by level; 112/112 checksums', async () => {
    const frames = await capturedBooks()
    expect(frames.length).toBe(112)
    const parse = bitget.createParser(PAIRS)
    const books = new Books()
    books.addVenue('bitget', [...PAIRS.values()])
    const refs = new Map([...PAIRS.values()].map((p) => [p, new RefBook()]))
    let verified = 0
    let snapshots = 0
    for (const { raw, msg } of frames) {
      const pair = PAIRS.get(msg.arg.instId)!
      const ref = refs.get(pair)!
      ref.apply(msg)
      // The reference's own checksum, from the raw strings, equals the one Bitget sent.
      expect(
        bitgetChecksumOf(ref.sorted('bids').slice(0, 25), ref.sorted('asks').slice(0, 25)),
      ).toBe(msg.data[0]!.checksum)
      const events = parse(raw, 0)
      expect(events).toHaveLength(1)
      const ev = events[0]!
      const e = books.get('bitget', pair)!
      if (ev.type === 'snapshot') {
        snapshots++
        expect(applySnapshot(e, bitget.sync, ev, false)).toEqual({ kind: 'applied' })
      } else if (ev.type === 'delta') {
        expect(applyUpdate(e, bitget.sync, ev, 100)).toEqual({ kind: 'applied' })
      } else throw new Error(`unexpected ${ev.type}`)
      // The sync rules compared this checksum (v1 snapshots carry a real one too).
      expect(ev.checksum).toBe(msg.data[0]!.checksum)
      expect(bitgetChecksum(e.book)).toBe(msg.data[0]!.checksum)
      verified++
      expect(rows(e.book.bids)).toEqual(ref.sorted('bids'))
      expect(rows(e.book.asks)).toEqual(ref.sorted('asks'))
    }
    expect([snapshots, verified]).toEqual([2, 112])
  })

  test('the capture replayed by the simulated venue over a socket builds both books exactly', async () => {
    const frames = await capturedBooks()
    const sim = feeds.sim(
      new SimBitget([
        { base: 'STG', quote: 'USDT' },
        { base: 'SUN', quote: 'USDT' },
      ]),
    )
    sim.autoSnapshot = false
    const feed = feeds.start(bitget, sim, [...PAIRS.values()])
    const held = () => [...sim.subscriptions.values()].some((s) => s.size === 2)
    await sim.server.waitFor(held, 3000, 'both subscribed')
    expect(JSON.parse(sim.server.received[0]!.text)).toEqual({
      op: 'subscribe',
      args: [
        { instType: 'SPOT', channel: 'books', instId: 'STGUSDT' },
        { instType: 'SPOT', channel: 'books', instId: 'SUNUSDT' },
      ],
    })
    expect(sim.replay(frames.map((f) => f.raw))).toBe(112)
    const refs = new Map([...PAIRS.values()].map((p) => [p, new RefBook()]))
    for (const { msg } of frames) refs.get(PAIRS.get(msg.arg.instId)!)!.apply(msg)
    for (const [pair, ref] of refs) {
      const e = await bookWhere(
        feed,
        pair,
        (e) =>
          e.state === 'live' &&
          e.updates >= 1 &&
          Bun.deepEquals(rows(e.book.bids), ref.sorted('bids')) &&
          Bun.deepEquals(rows(e.book.asks), ref.sorted('asks')),
        5000,
        `${pair} as replayed`,
      )
      expect(e.resyncs).toBe(0)
    }
    expect(Object.values(feed.books.resyncCounts('bitget')).every((n) => n === 0)).toBe(true)
  })
})

describe('bitget: checksum examples', () => {
  const book = (bids: Row[], asks: Row[]) => ({
    bids: bids.map(([p, q]) => toLevel(p, q)),
    asks: asks.map(([p, q]) => toLevel(p, q)),
  })
  // Bitget API docs "Checksum" worked strings, and thrasher-corp/gocryptotrader's unit vector.
  const vectors: [string, Row[], Row[], number][] = [
    [
      '43231.1:4:43232.8:9:43231:6:43232.9:8',
      [
        ['43231.1', '4'],
        ['43231', '6'],
      ],
      [
        ['43232.8', '9'],
        ['43232.9', '8'],
      ],
      -1504501796,
    ],
    [
      '3366.1:7:3366.8:9:3368:8:3372:8',
      [['3366.1', '7']],
      [
        ['3366.8', '9'],
        ['3368', '8'],
        ['3372', '8'],
      ],
      831078360,
    ],
    ['4:1:3:1', [['4', '1']], [['3', '1']], 892106381],
  ]
  for (const [text, bids, asks, expected] of vectors) {
    test(`"${text}" is ${expected}, in the adapter and (independently) the sim`, () => {
      expect(Bun.hash.crc32(text) | 0).toBe(expected)
      expect(bitgetChecksum(book(bids, asks))).toBe(expected)
      expect(bitgetChecksumOf(bids, asks)).toBe(expected)
    })
  }

  test('only the best 25 levels a side count, and the wire strings as sent ("3.040")', () => {
    const b = makeBook(3, 30, 0.001, 3)
    const bids = b.topBids()
    const asks = b.topAsks()
    const at25 = bitgetChecksum(book(bids.slice(0, 25), asks.slice(0, 25)))
    expect(bitgetChecksum(book(bids, asks))).toBe(at25)
    expect(bitgetChecksumOf(bids.slice(0, 25), asks.slice(0, 25))).toBe(at25)
    const normalised = book([['3.04', '1']], [])
    expect(bitgetChecksum(book([['3.040', '1']], []))).not.toBe(bitgetChecksum(normalised))
  })
})

describe('bitget: parser', () => {
  const parse = createJsonParser(new Map([['BTCUSDT', 'BTC/USDT']]))
  const arg = { instType: 'SPOT', channel: 'books', instId: 'BTCUSDT' }

  test('pong, acks, errors and other channels', () => {
    expect(parse('pong', 0)).toEqual([{ type: 'info' }])
    expect(parse(JSON.stringify({ event: 'subscribe', arg }), 0)).toEqual([
      { type: 'subscribed', pairs: ['BTC/USDT'] },
    ])
    expect(parse(JSON.stringify({ event: 'unsubscribe', arg }), 0)).toEqual([{ type: 'info' }])
    expect(
      parse(JSON.stringify({ event: 'error', arg, code: 30001, msg: 'no channel' }), 0),
    ).toEqual([{ type: 'venue-error', message: '30001 no channel', pair: 'BTC/USDT' }])
    expect(
      parse(JSON.stringify({ event: 'error', code: 30007, msg: 'request over limit' }), 0),
    ).toEqual([{ type: 'venue-error', message: '30007 request over limit' }])
    const ticker = { action: 'snapshot', arg: { ...arg, channel: 'ticker' }, data: [{}] }
    expect(parse(JSON.stringify(ticker), 0)[0]!.type).toBe('unknown')
  })

  test('a v2 snapshot (checksum 0, seq) leaves the checksum absent; updates keep theirs', () => {
    const data = {
      asks: [['26274.9', '0.0009']],
      bids: [['26274.8', '1.5']],
      checksum: 0,
      seq: 123,
      ts: '1695710946294',
    }
    const [snap] = parse(
      JSON.stringify({ action: 'snapshot', arg, data: [data], ts: 1695710946294 }),
      0,
    )
    expect(snap).toMatchObject({
      type: 'snapshot',
      pair: 'BTC/USDT',
      checksum: undefined,
      exchangeTsMs: 1695710946294,
    })
    const [upd] = parse(
      JSON.stringify({ action: 'update', arg, data: [{ ...data, checksum: -5, seq: 130 }] }),
      0,
    )
    expect(upd).toMatchObject({ type: 'delta', checksum: -5 })
  })

  test('bad levels and unknown actions are refused', () => {
    const bad = { action: 'update', arg, data: [{ asks: [['-1', '2']], bids: [], checksum: 1 }] }
    expect(() => parse(JSON.stringify(bad), 0)).toThrow(ParseError)
    const odd = { action: 'partial', arg, data: [{ asks: [], bids: [] }] }
    expect(() => parse(JSON.stringify(odd), 0)).toThrow(ParseError)
    expect(() => parse('{"truncated":', 0)).toThrow(ParseError)
  })
})

describe('bitget: instruments, volumes, subscribe frames', () => {
  const markets = [
    { base: 'BTC', quote: 'USDT', book: makeBook(60000), volume24h: 123456789.5 },
    { base: 'ETH', quote: 'USDC', book: makeBook(3000), volume24h: 4242 },
    { base: 'DOGE', quote: 'USDT', trading: false, book: makeBook(0.2) },
  ]

  test('listMarkets keeps online symbols only; fetchVolumes reads quoteVolume', async () => {
    const sim = feeds.sim(new SimBitget(markets))
    const opts = { fetch, signal: AbortSignal.timeout(5000) }
    const listed = await bitget.listMarkets(sim.restUrl, opts)
    expect([...listed]).toEqual([
      ['BTC/USDT', 'BTCUSDT'],
      ['ETH/USDC', 'ETHUSDC'],
    ])
    const volumes = await bitget.fetchVolumes!(sim.restUrl, opts)
    expect([...volumes]).toEqual([
      ['BTC/USDT', 123456789.5],
      ['ETH/USDC', 4242],
    ])
  })

  test('subscribe frames carry at most 50 args; resubscribe is unsubscribe + subscribe', () => {
    const natives = Array.from({ length: 120 }, (_, i) => `M${i}USDT`)
    const frames = bitget
      .subscribe(natives)
      .map((f) => JSON.parse(f) as { op: string; args: unknown[] })
    expect(frames.map((f) => f.args.length)).toEqual([50, 50, 20])
    expect(BITGET_ARGS_PER_FRAME).toBe(bitget.limits.marketsPerConnection)
    expect(bitget.resubscribe!('BTCUSDT').map((f) => JSON.parse(f).op)).toEqual([
      'unsubscribe',
      'subscribe',
    ])
    expect(bitget.limits.sendPerSecond).toBeLessThan(10)
  })
})

describe('bitget: limits the simulated venue enforces', () => {
  type Reply = { event?: string; code?: number; msg?: string; action?: string }
  const sub = (...instIds: string[]) =>
    JSON.stringify({
      op: 'subscribe',
      args: instIds.map((instId) => ({ instType: 'SPOT', channel: 'books', instId })),
    })

  test('more than 10 messages a second (pings included) close the connection', async () => {
    const sim = feeds.sim(new SimBitget([{ base: 'BTC', quote: 'USDT' }]))
    const ws = new WebSocket(sim.wsUrl)
    await new Promise((r) => (ws.onopen = r))
    const closed = new Promise<CloseEvent>((r) => (ws.onclose = r))
    for (let i = 0; i < 11; i++) ws.send('ping')
    await closed
    expect(sim.limited.messages).toBe(1)
  })

  test('240 subscription requests a connection an hour: the next is answered 30007, not applied', async () => {
    const sim = feeds.sim(
      new SimBitget(
        [
          { base: 'BTC', quote: 'USDT' },
          { base: 'ETH', quote: 'USDT' },
        ],
        { messagesPerSecond: 1000 },
      ),
    )
    const s = rawSocket<Reply>(sim.wsUrl)
    expect(await s.opened).toBe(true)
    for (let i = 0; i < 240; i++) s.ws.send(sub('BTCUSDT'))
    s.ws.send(sub('ETHUSDT'))
    await s.until((f) => f.some((r) => r.event === 'error'), '30007')
    const error = s.frames.find((r) => r.event === 'error')!
    expect(error).toMatchObject({ code: 30007, msg: 'request over limit' })
    expect(s.frames.filter((r) => r.event === 'subscribe').length).toBe(240)
    const client = [...sim.server.clients][0]!.data.id
    expect([...sim.subscriptions.get(client)!]).toEqual(['BTCUSDT'])
    expect(sim.limited.subscriptions).toBe(1)
    s.ws.close()
  })

  test('1000 channels a connection: a subscribe past it is refused (30007)', async () => {
    const bases = Array.from({ length: 1001 }, (_, i) => `M${String(i).padStart(4, '0')}`)
    const sim = feeds.sim(new SimBitget(bases.map((base) => ({ base, quote: 'USDT' }))))
    const s = rawSocket<Reply>(sim.wsUrl)
    expect(await s.opened).toBe(true)
    s.ws.send(sub(...bases.map((b) => `${b}USDT`)))
    await s.until((f) => f.some((r) => r.event === 'error'), '30007')
    expect(s.frames).toEqual([{ event: 'error', code: 30007, msg: 'request over limit' }])
    s.ws.send(sub(...bases.slice(0, 1000).map((b) => `${b}USDT`)))
    await s.until((f) => f.filter((r) => r.action === 'snapshot').length === 1000, '1000 snapshots')
    expect(sim.limited.channels).toBe(1)
    s.ws.close()
  })

  test('connection requests past the 5-minute budget are answered HTTP 429', async () => {
    const sim = feeds.sim(new SimBitget([{ base: 'BTC', quote: 'USDT' }], { connectsPer5Min: 3 }))
    const sockets = Array.from({ length: 4 }, () => rawSocket<Reply>(sim.wsUrl))
    const results = await Promise.all(sockets.map((s) => s.opened))
    expect(results.filter(Boolean).length).toBe(3)
    expect(sim.limited.connects).toBe(1)
    for (const s of sockets) s.ws.close()
  })

  test("REST answers 429 with Bitget's body past its per-second budget, per endpoint", async () => {
    const sim = feeds.sim(new SimBitget([{ base: 'BTC', quote: 'USDT' }], { restPerSecond: 2 }))
    const get = async (path: string) => (await fetch(`${sim.restUrl}${path}`)).status
    const symbols = '/api/v2/spot/public/symbols'
    const tickers = '/api/v2/spot/market/tickers'
    expect([await get(symbols), await get(symbols), await get(symbols)]).toEqual([200, 200, 429])
    expect(await get(tickers)).toBe(200)
    const res = await fetch(`${sim.restUrl}${symbols}`)
    expect(await res.json()).toMatchObject({ code: '429', msg: 'Too Many Requests' })
    expect(sim.limited.throttled).toBe(2)
  })

  test('a shard of 50 markets comes live from one subscribe request, nothing refused', async () => {
    const bases = Array.from({ length: 50 }, (_, i) => `M${String(i).padStart(4, '0')}`)
    const sim = feeds.sim(
      new SimBitget(
        bases.map((base, i) => ({ base, quote: 'USDT', book: makeBook(1 + i, 5, 0.01) })),
      ),
    )
    const pairs = bases.map((b) => `${b}/USDT`)
    const feed = feeds.start(bitget, sim, pairs)
    for (const p of pairs) await bookWhere(feed, p)
    expect(sim.server.received.filter((r) => r.text.includes('subscribe')).length).toBe(1)
    expect(Object.values(sim.limited).every((v) => v === 0)).toBe(true)
  })
})
