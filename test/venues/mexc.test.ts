/**
 * MEXC spot v3. No real MEXC frames are kept (test/fixtures/mexc/README.md), so frames are built
 * here from MEXC's published `.proto` files, loaded by this test on its own, and one frame byte
 * by byte to pin the wire field numbers. A scripted session is replayed through the parser and
 * book/sync.ts against a reference built here by MEXC's documented rule; the docs' and ccxt's
 * example pushes, acks, PONGs and refusals go through the parser; the instrument list is read
 * from the docs' exchangeInfo example and the real 2025-05-08 rows; the simulated venue's limits
 * are driven through raw sockets and fetch.
 */
import { describe, expect, test } from 'bun:test'
import protobuf from 'protobufjs'
import { applySnapshot, applyUpdate } from '../../src/book/sync.ts'
import { Books } from '../../src/book/books.ts'
import {
  createMexcParser,
  MEXC_DEPTH_CHANNEL,
  MEXC_SNAPSHOT_LIMIT,
  mexc,
} from '../../src/venues/mexc/index.ts'
import { SimMexc } from '../../src/venues/mexc/sim.ts'
import { makeBook } from '../../src/venues/sim/book.ts'
import { ParseError, type DeltaEvent, type VenueEvent } from '../../src/venues/venue.ts'
import { rows, ruleBook, stopAfterEach } from '../support.ts'

const FIX = `${import.meta.dir}/../fixtures/mexc`
const PROTO = `${import.meta.dir}/../../src/venues/mexc/proto`
const BTC = 'BTC/USDT'
const CHANNEL = `${MEXC_DEPTH_CHANNEL}BTCUSDT`

/** The wrapper type, loaded here from the published files (not through the venue's loader). */
const Wrapper = (() => {
  const root = new protobuf.Root()
  root.resolvePath = (_o, target) => `${PROTO}/${target.split('/').pop()}`
  root.loadSync('PushDataV3ApiWrapper.proto', { keepCase: true })
  return root.lookupType('PushDataV3ApiWrapper')
})()

type Item = [string, string]
interface Push {
  from: number
  to: number
  bids: Item[]
  asks: Item[]
  sendTime?: number
}

/** One body-313 push as MEXC sends it, encoded with the published definitions. */
function encode(p: Push, symbol = 'BTCUSDT'): Uint8Array {
  const item = ([price, quantity]: Item) => ({ price, quantity })
  const obj = {
    channel: `${MEXC_DEPTH_CHANNEL}${symbol}`,
    symbol,
    sendTime: p.sendTime ?? 1736411507002,
    publicAggreDepths: {
      asks: p.asks.map(item),
      bids: p.bids.map(item),
      eventType: 'spot@public.aggre.depth.v3.api.pb@100ms',
      fromVersion: String(p.from),
      toVersion: String(p.to),
    },
  }
  expect(Wrapper.verify(obj)).toBeNull()
  return Wrapper.encode(Wrapper.fromObject(obj)).finish()
}

// Protobuf wire format by hand (protobuf.dev "Encoding"): varints, tags, length-delimited fields.
function varint(n: number): number[] {
  const out: number[] = []
  while (n >= 0x80) {
    out.push((n % 0x80) | 0x80)
    n = Math.floor(n / 0x80)
  }
  out.push(n)
  return out
}
const tag = (field: number, wireType: number) => varint(field * 8 + wireType)
const bytesField = (field: number, bytes: number[]) => [
  ...tag(field, 2),
  ...varint(bytes.length),
  ...bytes,
]
const text = (field: number, s: string) => bytesField(field, [...new TextEncoder().encode(s)])

/** Independent reference: price → quantity per side, by MEXC's documented procedure. */
class Reference {
  bids = new Map<string, string>()
  asks = new Map<string, string>()
  version: number | undefined
  started = false
  applied = 0
  stale = 0
  gaps = 0
  cached: Push[] = []

  seed(body: { lastUpdateId: number; bids: Item[]; asks: Item[] }): void {
    this.bids = new Map(body.bids)
    this.asks = new Map(body.asks)
    this.version = body.lastUpdateId
    for (const p of this.cached.splice(0)) this.apply(p)
  }

  /** Drop toVersion <= version; the first kept has from <= version + 1 <= to; then from == to + 1. */
  apply(p: Push): void {
    if (this.version === undefined) {
      this.cached.push(p)
      return
    }
    if (p.to <= this.version) {
      this.stale++
      return
    }
    if (!this.started ? p.from > this.version + 1 : p.from !== this.version + 1) {
      this.gaps++
      return
    }
    this.started = true
    for (const [px, q] of p.bids) +q === 0 ? this.bids.delete(px) : this.bids.set(px, q)
    for (const [px, q] of p.asks) +q === 0 ? this.asks.delete(px) : this.asks.set(px, q)
    this.version = p.to
    this.applied++
  }

  side(which: 'bids' | 'asks'): Item[] {
    const m = which === 'bids' ? this.bids : this.asks
    return [...m].sort(([a], [b]) => (which === 'bids' ? +b - +a : +a - +b))
  }
}

/** A deterministic session: a REST body at 5000, pushes from before it to well after. */
function scriptedSession(): {
  body: { lastUpdateId: number; bids: Item[]; asks: Item[] }
  pushes: Push[]
} {
  let seed = 7
  const rnd = (n: number) => {
    seed = (seed * 1103515245 + 12345) % 2147483648
    return seed % n
  }
  const px = (base: number, i: number) => (base + i / 100).toFixed(2)
  const body = {
    lastUpdateId: 5000,
    bids: Array.from({ length: 10 }, (_, i): Item => [px(99, -i * 10), '1.00000000']),
    asks: Array.from({ length: 10 }, (_, i): Item => [px(101, i * 10), '2.00000000']),
  }
  const pushes: Push[] = []
  let v = 4990
  while (v < 5300) {
    const span = 1 + rnd(4)
    const from = v + 1
    v = v + span
    const change = (base: number, sign: number): Item => {
      const qty = rnd(3) === 0 ? (rnd(2) ? '0' : '0.00000000') : `${1 + rnd(9)}.${rnd(10)}0000000`
      return [px(base, sign * rnd(100)), qty]
    }
    pushes.push({
      from,
      to: v,
      bids: Array.from({ length: rnd(3) }, () => change(99, -1)),
      asks: Array.from({ length: rnd(3) }, () => change(101, 1)),
    })
  }
  return { body, pushes }
}

const restOf = (body: unknown) => ({
  fetch: (async () => Response.json(body)) as unknown as typeof fetch,
  signal: AbortSignal.timeout(1000),
})

describe('mexc: the wire format', () => {
  test('a hand-assembled frame (field 313 length-delimited) decodes as the published encoder writes it', () => {
    const body = [
      ...bytesField(2, [...text(1, '92877.58'), ...text(2, '0.00000000')]),
      ...text(3, 'spot@public.aggre.depth.v3.api.pb@100ms'),
      ...text(4, '10589632359'),
      ...text(5, '10589632359'),
    ]
    // Fields in number order (1, 3, 6, 313), as protobufjs writes them.
    const hand = new Uint8Array([
      ...text(1, CHANNEL),
      ...text(3, 'BTCUSDT'),
      ...tag(6, 0),
      ...varint(1736411507002),
      ...bytesField(313, body),
    ])
    // Tag of field 313, wire type 2: (313 << 3) | 2 = 2506 = varint ca 13.
    expect(tag(313, 2)).toEqual([0xca, 0x13])
    const encoded = encode({
      from: 10589632359,
      to: 10589632359,
      bids: [['92877.58', '0.00000000']],
      asks: [],
    })
    expect([...hand]).toEqual([...encoded])
    const parse = createMexcParser(new Map([['BTCUSDT', BTC]]))
    expect(parse.binary!(hand, 0)).toEqual([
      {
        type: 'delta',
        pair: BTC,
        prevSeq: 10589632358,
        seq: 10589632359,
        bids: [{ px: 92877.58, qty: 0, pxText: '92877.58', qtyText: '0.00000000' }],
        asks: [],
        exchangeTsMs: 1736411507002,
      },
    ])
  })

  test("the docs' and ccxt's example pushes, as they would come on the wire", () => {
    const parse = createMexcParser(new Map([['BTCUSDT', BTC]]))
    // MEXC docs "Diff.Depth Stream" example (JSON rendering of the protobuf push).
    const docs = parse.binary!(
      encode({ from: 10589632359, to: 10589632359, bids: [['92877.58', '0.00000000']], asks: [] }),
      0,
    )
    expect(docs).toMatchObject([{ type: 'delta', prevSeq: 10589632358, seq: 10589632359 }])
    // ccxt js/src/pro/mexc.js handleOrderBook, the decoded example of 2025-08: 20 versions at once.
    const [ev] = parse.binary!(
      encode({
        from: 43296363236,
        to: 43296363255,
        asks: [['117145.49', '0']],
        bids: [['117053.41', '1.86837271']],
        sendTime: 1754741322152,
      }),
      0,
    ) as DeltaEvent[]
    expect(ev).toMatchObject({
      prevSeq: 43296363235,
      seq: 43296363255,
      exchangeTsMs: 1754741322152,
    })
    expect(rows(ev!.asks)).toEqual([['117145.49', '0']])
    expect(rows(ev!.bids)).toEqual([['117053.41', '1.86837271']])
    // Applied to a book holding the ask, the "0" deletes it.
    const { entry, feed } = ruleBook(mexc, BTC)
    feed({
      type: 'snapshot',
      pair: BTC,
      seq: 43296363240,
      bids: [{ px: 117000, qty: 1, pxText: '117000.00', qtyText: '1' }],
      asks: [{ px: 117145.49, qty: 3, pxText: '117145.49', qtyText: '3' }],
    })
    feed(ev!)
    expect(rows(entry.book.asks)).toEqual([])
    expect(rows(entry.book.bids)).toEqual([
      ['117053.41', '1.86837271'],
      ['117000.00', '1'],
    ])
  })
})

describe('mexc: a scripted session through the parser and the book rules', () => {
  test('every push is applied as the reference applies it, level by level', async () => {
    const { body, pushes } = scriptedSession()
    const parse = createMexcParser(new Map([['BTCUSDT', BTC]]))
    const e = new Books().addVenue('mexc', [BTC]).get(BTC)!
    const ref = new Reference()
    let compared = 0
    // Three pushes arrive before the REST answer (buffered), the rest after it.
    for (const [i, p] of pushes.entries()) {
      if (i === 3) {
        ref.seed(body)
        const snap = await mexc.fetchSnapshot!('http://mexc.test', 'BTCUSDT', BTC, restOf(body))
        expect(applySnapshot(e, mexc.sync, snap, true).kind).not.toBe('failed')
      }
      const events = parse.binary!(encode(p), 0)
      expect(events).toHaveLength(1)
      const out = applyUpdate(e, mexc.sync, events[0] as DeltaEvent, 1000)
      expect(out.kind).not.toBe('failed')
      ref.apply(p)
      if (!e.hasSnapshot) continue
      expect(rows(e.book.bids)).toEqual(ref.side('bids'))
      expect(rows(e.book.asks)).toEqual(ref.side('asks'))
      compared++
    }
    expect(ref.gaps).toBe(0)
    expect(ref.stale).toBeGreaterThan(0)
    expect(e.lastSeq).toBe(ref.version)
    expect(compared).toBe(pushes.length - 3)
    expect(ref.applied).toBe(pushes.filter((p) => p.to > body.lastUpdateId).length)
  })

  test('a lost push is a sequence gap', () => {
    const { body, pushes } = scriptedSession()
    const parse = createMexcParser(new Map([['BTCUSDT', BTC]]))
    const e = new Books().addVenue('mexc', [BTC]).get(BTC)!
    const levels = (r: Item[]) => r.map(([px, q]) => ({ px: +px, qty: +q, pxText: px, qtyText: q }))
    applySnapshot(
      e,
      mexc.sync,
      { type: 'snapshot', pair: BTC, seq: 5000, bids: levels(body.bids), asks: levels(body.asks) },
      true,
    )
    const kept = pushes.filter((p) => p.to > 5000)
    const failures: string[] = []
    for (const [i, p] of kept.entries()) {
      if (i === 2) continue // never arrives
      const out = applyUpdate(e, mexc.sync, parse.binary!(encode(p), 0)[0] as DeltaEvent, 1000)
      if (out.kind === 'failed') {
        failures.push(out.failure.kind)
        break
      }
    }
    expect(failures).toEqual(['sequence'])
  })
})

describe('mexc: parser', () => {
  const parse = createMexcParser(
    new Map([
      ['BTCUSDT', BTC],
      ['ETHUSDT', 'ETH/USDT'],
    ]),
  )

  test('an ack echoing the channel confirms its pair; PONG is proof of life', () => {
    const [frame] = mexc.subscribe(['BTCUSDT'])
    expect(JSON.parse(frame!)).toEqual({ method: 'SUBSCRIPTION', params: [CHANNEL] })
    expect(mexc.ping!()).toBe('{"method":"PING"}')
    expect(parse(JSON.stringify({ id: 0, code: 0, msg: CHANNEL }), 0)).toEqual([
      { type: 'subscribed', pairs: [BTC] },
    ])
    expect(parse('{"id":0,"code":0,"msg":"PONG"}', 0)).toEqual([{ type: 'info' }])
    // The docs' unsubscription answer (another channel): nothing to confirm.
    expect(
      parse('{"id":0,"code":0,"msg":"spot@public.increase.depth.v3.api.pb@BTCUSDT"}', 0),
    ).toEqual([{ type: 'info' }])
  })

  test('a refusal (code 0, "Not Subscribed successfully!") is a venue error for each pair named', () => {
    const refusal = `Not Subscribed successfully! [${CHANNEL},${MEXC_DEPTH_CHANNEL}ETHUSDT].  Reason： Blocked! `
    const events = parse(JSON.stringify({ id: 0, code: 0, msg: refusal }), 0)
    expect(events.map((e) => [e.type, (e as { pair?: string }).pair])).toEqual([
      ['venue-error', BTC],
      ['venue-error', 'ETH/USDT'],
    ])
    // A refusal of a channel we never asked for names no pair.
    const other =
      'Not Subscribed successfully! [spot@public.miniTicker.v3.api@BTCUSDT@UTC+0].  Reason： Blocked!'
    expect(parse(JSON.stringify({ id: 0, code: 0, msg: other }), 0)).toEqual([
      { type: 'venue-error', message: other },
    ])
    expect(parse(JSON.stringify({ id: 0, code: 1, msg: CHANNEL }), 0)).toEqual([
      { type: 'venue-error', message: `code 1: ${CHANNEL}`, pair: BTC },
    ])
  })

  test('undecodable bytes, bad versions and bad levels are refused; other bodies are unknown', () => {
    const kind = (f: () => unknown) => {
      try {
        f()
      } catch (err) {
        return err instanceof ParseError ? err.kind : 'other'
      }
      return 'none'
    }
    expect(kind(() => parse.binary!(new Uint8Array([0xff, 0xff, 0xff]), 0))).toBe('bad-message')
    expect(kind(() => parse.binary!(new TextEncoder().encode('not json at all'), 0))).toBe(
      'bad-message',
    )
    expect(kind(() => parse.binary!(encode({ from: 9, to: 8, bids: [], asks: [] }), 0))).toBe(
      'bad-message',
    )
    expect(
      kind(() => parse.binary!(encode({ from: 9, to: 9, bids: [['-1', '1']], asks: [] }), 0)),
    ).toBe('bad-level')
    expect(kind(() => parse('not json at all', 0))).toBe('malformed-json')
    const ticker = Wrapper.encode(
      Wrapper.fromObject({
        channel: 'spot@public.aggre.bookTicker.v3.api.pb@100ms@BTCUSDT',
        symbol: 'BTCUSDT',
        publicAggreBookTicker: { bidPrice: '1', bidQuantity: '1', askPrice: '2', askQuantity: '1' },
      }),
    ).finish()
    const other: VenueEvent[] = parse.binary!(ticker, 0)
    expect(other).toEqual([
      {
        type: 'unknown',
        what: 'publicAggreBookTicker spot@public.aggre.bookTicker.v3.api.pb@100ms@BTCUSDT',
      },
    ])
    expect(parse.binary!(encode({ from: 1, to: 1, bids: [], asks: [] }, 'DOGEUSDT'), 0)).toEqual([
      { type: 'unknown', what: 'publicAggreDepths for DOGEUSDT' },
    ])
  })
})

describe('mexc: REST', () => {
  // MEXC docs "Exchange Information" example (2025), one row.
  const METAL = {
    symbol: 'METALUSDT',
    status: '1',
    baseAsset: 'METAL',
    baseAssetPrecision: 2,
    quoteAsset: 'USDT',
    quotePrecision: 5,
    quoteAssetPrecision: 5,
    isSpotTradingAllowed: true,
    isMarginTradingAllowed: false,
    quoteAmountPrecision: '1',
    baseSizePrecision: '0.1',
    permissions: ['SPOT'],
    makerCommission: '0',
    takerCommission: '0.0005',
    tradeSideType: '1',
  }

  test("the docs' exchangeInfo example: online spot rows kept, paused, offline and non-spot left out", async () => {
    const body = {
      timezone: 'CST',
      serverTime: 1,
      symbols: [
        METAL,
        { ...METAL, symbol: 'OLDUSDT', baseAsset: 'OLD', status: 'ENABLED' },
        { ...METAL, symbol: 'PAUSEUSDT', baseAsset: 'PAUSE', status: '2' },
        { ...METAL, symbol: 'GONEUSDT', baseAsset: 'GONE', status: '3' },
        { ...METAL, symbol: 'APIUSDT', baseAsset: 'API', isSpotTradingAllowed: false },
      ],
    }
    const markets = await mexc.listMarkets('http://mexc.test', restOf(body))
    expect([...markets]).toEqual([
      ['METAL/USDT', 'METALUSDT'],
      ['OLD/USDT', 'OLDUSDT'],
    ])
  })

  test('the real 2025-05-08 rows (legacy v2) map onto exchangeInfo fields and are all listed', async () => {
    const doc = (await Bun.file(`${FIX}/instruments_20250508.json`).json()) as {
      rows: { symbol: string; state: string; price_scale: number; quantity_scale: number }[]
    }
    expect(doc.rows).toHaveLength(6)
    // v2 `BTC_USDT` is v3 `BTCUSDT`; `state` "1" is the same "online" code as v3 `status`;
    // `price_scale` / `quantity_scale` are the decimals v3 gives as quoteAssetPrecision /
    // baseAssetPrecision.
    const symbols = doc.rows.map((r) => {
      const [base, quote] = r.symbol.split('_') as [string, string]
      return {
        ...METAL,
        symbol: `${base}${quote}`,
        baseAsset: base,
        quoteAsset: quote,
        status: r.state,
        quoteAssetPrecision: r.price_scale,
        baseAssetPrecision: r.quantity_scale,
      }
    })
    const markets = await mexc.listMarkets('http://mexc.test', restOf({ symbols }))
    expect(markets.get('BTC/USDT')).toBe('BTCUSDT')
    expect(markets.get('SOL/USDC')).toBe('SOLUSDC')
    expect(markets.size).toBe(6)
  })

  test("fetchSnapshot reads the docs' depth example at limit 1000; no lastUpdateId is refused", async () => {
    const urls: string[] = []
    const body = {
      lastUpdateId: 1112416,
      bids: [['15.00000', '49999.00000']],
      asks: [['14.0000', '1.0000']],
    }
    const opts = {
      fetch: (async (url: string) => {
        urls.push(url)
        return Response.json(body)
      }) as unknown as typeof fetch,
      signal: AbortSignal.timeout(1000),
    }
    const snap = await mexc.fetchSnapshot!('http://mexc.test', 'BTCUSDT', BTC, opts)
    expect(urls).toEqual([
      `http://mexc.test/api/v3/depth?symbol=BTCUSDT&limit=${MEXC_SNAPSHOT_LIMIT}`,
    ])
    expect(snap).toMatchObject({ type: 'snapshot', seq: 1112416 })
    expect(rows(snap.bids)).toEqual([['15.00000', '49999.00000']])
    const bad = mexc.fetchSnapshot!(
      'http://mexc.test',
      'BTCUSDT',
      BTC,
      restOf({ bids: [], asks: [] }),
    )
    await expect(bad).rejects.toThrow(ParseError)
    // The REST budget counts MEXC's weights.
    const cost = mexc.limits.rest.cost!
    expect(cost(new URL('http://x/api/v3/exchangeInfo'))).toBe(10)
    expect(cost(new URL('http://x/api/v3/ticker/24hr'))).toBe(40)
    expect(cost(new URL('http://x/api/v3/ticker/24hr?symbol=BTCUSDT'))).toBe(1)
    expect(cost(new URL('http://x/api/v3/depth?symbol=BTCUSDT&limit=1000'))).toBe(1)
  })

  test("fetchVolumes takes quoteVolume, or volume × lastPrice where it is null (the docs' example)", async () => {
    const symbols = [METAL, { ...METAL, symbol: 'BTCUSDT', baseAsset: 'BTC' }]
    const tickers = [
      { symbol: 'BTCUSDT', lastPrice: '46263.71', volume: '1732.461487', quoteVolume: null },
      { symbol: 'METALUSDT', lastPrice: '1', volume: '5', quoteVolume: '123.5' },
      { symbol: 'XUSDT', lastPrice: '1', volume: '5', quoteVolume: '9' },
    ]
    const opts = {
      fetch: (async (url: string) =>
        Response.json(
          url.includes('exchangeInfo') ? { symbols } : tickers,
        )) as unknown as typeof fetch,
      signal: AbortSignal.timeout(1000),
    }
    const volumes = await mexc.fetchVolumes!('http://mexc.test', opts)
    expect(volumes.get('METAL/USDT')).toBe(123.5)
    expect(volumes.get('BTC/USDT')).toBeCloseTo(1732.461487 * 46263.71, 6)
    expect(volumes.size).toBe(2)
  })
})

/** A raw client socket: text frames parsed as JSON, binary ones kept as bytes. */
function rawSocket(url: string) {
  const ws = new WebSocket(url)
  ws.binaryType = 'arraybuffer'
  const frames: (Record<string, unknown> | Uint8Array)[] = []
  let wake = () => {}
  let closed = false
  ws.onmessage = (m) => {
    frames.push(typeof m.data === 'string' ? JSON.parse(m.data) : new Uint8Array(m.data))
    wake()
  }
  const opened = new Promise<boolean>((resolve) => {
    ws.onopen = () => resolve(true)
    ws.onclose = () => {
      closed = true
      resolve(false)
      wake()
    }
  })
  const until = (check: () => boolean, what: string, timeoutMs = 3000) =>
    new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`timed out waiting for ${what}`)), timeoutMs)
      const test = () => {
        if (!check()) return
        clearTimeout(timer)
        resolve()
      }
      wake = test
      test()
    })
  const texts = () => frames.filter((f): f is Record<string, unknown> => !(f instanceof Uint8Array))
  return { ws, frames, texts, opened, until, isClosed: () => closed }
}

const sub = (channel: string) => JSON.stringify({ method: 'SUBSCRIPTION', params: [channel] })

describe('mexc: the simulated venue', () => {
  const track = stopAfterEach()
  const markets = [
    { base: 'BTC', quote: 'USDT', book: makeBook(60000, 5), volume24h: 1234.5 },
    { base: 'ETH', quote: 'USDT', book: makeBook(3000, 5), trading: false },
  ]

  test('pushes are binary PushDataV3ApiWrapper frames; acks and PONG are JSON text', async () => {
    const sim = track(new SimMexc(markets))
    const s = rawSocket(sim.wsUrl)
    expect(await s.opened).toBe(true)
    s.ws.send(sub(CHANNEL))
    s.ws.send('{"method":"PING"}')
    await s.until(() => s.frames.length >= 2, 'ack and PONG')
    expect(s.texts()).toEqual([
      { id: 0, code: 0, msg: CHANNEL },
      { id: 0, code: 0, msg: 'PONG' },
    ])
    sim.update(BTC, [['59999.95', '1']], [], { versions: 3 })
    await s.until(() => s.frames.length >= 3, 'a push')
    const bytes = s.frames[2] as Uint8Array
    expect(bytes).toBeInstanceOf(Uint8Array)
    const decoded = Wrapper.toObject(Wrapper.decode(bytes), { longs: Number }) as Record<
      string,
      unknown
    >
    expect(decoded).toMatchObject({
      channel: CHANNEL,
      symbol: 'BTCUSDT',
      publicAggreDepths: {
        fromVersion: '1001',
        toVersion: '1003',
        bids: [{ price: '59999.95', quantity: '1' }],
      },
    })
    expect(decoded.sendTime).toBeGreaterThan(0)
    s.ws.close()
  })

  test('a 31st subscription on one connection is refused as MEXC refuses it', async () => {
    const many = Array.from({ length: 31 }, (_, i) => ({ base: `C${i}`, quote: 'USDT' }))
    const sim = track(new SimMexc(many))
    const s = rawSocket(sim.wsUrl)
    expect(await s.opened).toBe(true)
    for (let i = 0; i < 31; i++) s.ws.send(sub(`${MEXC_DEPTH_CHANNEL}C${i}USDT`))
    await s.until(() => s.frames.length >= 31, '31 answers')
    const msgs = s.texts().map((f) => f.msg as string)
    expect(msgs.slice(0, 30).every((m, i) => m === `${MEXC_DEPTH_CHANNEL}C${i}USDT`)).toBe(true)
    expect(msgs[30]).toStartWith(`Not Subscribed successfully! [${MEXC_DEPTH_CHANNEL}C30USDT].`)
    expect(s.texts()[30]!.code).toBe(0)
    // The parser turns it into a venue error for that market.
    const parse = createMexcParser(new Map([['C30USDT', 'C30/USDT']]))
    expect(parse(JSON.stringify(s.texts()[30]), 0)).toMatchObject([
      { type: 'venue-error', pair: 'C30/USDT' },
    ])
    expect(sim.limited).toMatchObject({ subscriptions: 1, messages: 0 })
    s.ws.close()
  })

  test('over 100 frames in a second: the connection is cut', async () => {
    const sim = track(new SimMexc(markets))
    const s = rawSocket(sim.wsUrl)
    expect(await s.opened).toBe(true)
    for (let i = 0; i < 101; i++) s.ws.send('{"method":"PING"}')
    await s.until(s.isClosed, 'the cut')
    expect(sim.limited.messages).toBe(1)
  })

  test('no valid subscription, or a subscription with no data and no PING: the socket is closed', async () => {
    const sim = track(new SimMexc(markets, { noSubscriptionCloseMs: 50, noDataCloseMs: 50 }))
    const bare = rawSocket(sim.wsUrl)
    expect(await bare.opened).toBe(true)
    // A channel MEXC does not serve is no valid subscription.
    bare.ws.send(sub('spot@public.increase.depth.v3.api@BTCUSDT'))
    await bare.until(bare.isClosed, 'the close of a socket without subscription')
    expect((bare.texts()[0]!.msg as string).endsWith('Reason： Blocked! ')).toBe(true)
    const quiet = rawSocket(sim.wsUrl)
    expect(await quiet.opened).toBe(true)
    quiet.ws.send(sub(CHANNEL))
    await quiet.until(quiet.isClosed, 'the close of a silent subscription')
    expect(sim.limited).toMatchObject({ unsubscribed: 1, silent: 1, requestErrors: 1 })
  })

  test("over an endpoint's 500 weight per 10 s: 429 with Retry-After and MEXC's body, other endpoints unaffected", async () => {
    const sim = track(new SimMexc(markets, { weightPerWindow: 25 }))
    // exchangeInfo weighs 10: two fit, the third does not.
    for (let i = 0; i < 2; i++) {
      expect((await fetch(`${sim.restUrl}/api/v3/exchangeInfo`)).status).toBe(200)
    }
    const refused = await fetch(`${sim.restUrl}/api/v3/exchangeInfo`)
    expect(refused.status).toBe(429)
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(0)
    expect(await refused.json()).toEqual({ code: 429, msg: 'Too Many Requests' })
    const depth = await fetch(`${sim.restUrl}/api/v3/depth?symbol=BTCUSDT&limit=5`)
    expect(await depth.json()).toMatchObject({ lastUpdateId: 1000 })
    const unknown = await fetch(`${sim.restUrl}/api/v3/depth?symbol=NOPEUSDT`)
    expect([unknown.status, await unknown.json()]).toEqual([
      400,
      { code: -1121, msg: 'Invalid symbol.' },
    ])
    expect(sim.limited.requests).toBe(1)
  })

  test('listMarkets and fetchVolumes against the sim: paused markets are left out', async () => {
    const sim = track(new SimMexc(markets))
    const signal = AbortSignal.timeout(3000)
    expect([...(await mexc.listMarkets(sim.restUrl, { fetch, signal }))]).toEqual([
      [BTC, 'BTCUSDT'],
    ])
    expect([...(await mexc.fetchVolumes!(sim.restUrl, { fetch, signal }))]).toEqual([[BTC, 1234.5]])
    expect(Object.values(sim.limited).every((n) => n === 0)).toBe(true)
  })
})
