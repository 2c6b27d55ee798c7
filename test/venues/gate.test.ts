/**
 * Gate API v4 spot: the recorded session (test/fixtures/gate, cryptofeed sample data, 2021)
 * replayed through the parser and book/sync.ts against a reference built here from the raw JSON by
 * Gate's documented rule; the parser's acks, errors and `full` pushes; the instrument list; the
 * simulated venue's limits through raw sockets and fetch; and fetchVolumes.
 */
import { describe, expect, test } from 'bun:test'
import { applySnapshot, applyUpdate } from '../../src/book/sync.ts'
import { Books } from '../../src/book/books.ts'
import { createJsonParser, gate, GATE_BOOK_DEPTH, requestId } from '../../src/venues/gate/index.ts'
import { SimGate } from '../../src/venues/gate/sim.ts'
import { makeBook } from '../../src/venues/sim/book.ts'
import { ParseError, type SnapshotEvent } from '../../src/venues/venue.ts'
import { rawSocket, readLines, rows, stopAfterEach } from '../support.ts'

const FIX = `${import.meta.dir}/../fixtures/gate`

interface RawUpdate {
  s: string
  U: number
  u: number
  b: [string, string][]
  a: [string, string][]
}

/** Independent reference: a price → quantity map per side, with Gate's documented rule. */
class Reference {
  bids = new Map<string, string>()
  asks = new Map<string, string>()
  id: number | undefined
  started = false
  applied = 0
  stale = 0
  gaps = 0
  /** Updates cached until the snapshot arrives ("cache the updates" in Gate's procedure). */
  cached: RawUpdate[] = []

  seed(body: { id: number; bids: [string, string][]; asks: [string, string][] }): void {
    this.bids = new Map(body.bids)
    this.asks = new Map(body.asks)
    this.id = body.id
    for (const r of this.cached.splice(0)) this.apply(r)
  }

  /** "drop u < id + 1; first kept U <= id + 1 <= u; then U == previous u + 1". */
  apply(r: RawUpdate): void {
    if (this.id === undefined) {
      this.cached.push(r)
      return
    }
    if (r.u < this.id + 1) {
      this.stale++
      return
    }
    if (!this.started ? r.U > this.id + 1 : r.U !== this.id + 1) {
      this.gaps++
      return
    }
    this.started = true
    for (const [p, q] of r.b) q === '0' || +q === 0 ? this.bids.delete(p) : this.bids.set(p, q)
    for (const [p, q] of r.a) q === '0' || +q === 0 ? this.asks.delete(p) : this.asks.set(p, q)
    this.id = r.u
    this.applied++
  }

  side(which: 'bids' | 'asks'): [string, string][] {
    const m = which === 'bids' ? this.bids : this.asks
    const sorted = [...m].sort(([a], [b]) => (which === 'bids' ? +b - +a : +a - +b))
    return sorted.slice(0, GATE_BOOK_DEPTH)
  }
}

type Recorded =
  | { at: number; kind: 'frame'; text: string }
  | { at: number; kind: 'rest'; symbol: string; body: string }

/** The session in arrival order: frames and REST answers by their local receive time. */
async function session(): Promise<Recorded[]> {
  const frames = await readLines(`${FIX}/GATEIO_ws_1_0.frames.jsonl`)
  const times = await readLines(`${FIX}/GATEIO_ws_1_0.recv_ts.txt`)
  const rest = (await readLines(`${FIX}/GATEIO_http_0_0.rest_snapshots.jsonl`)).map(
    (l) => JSON.parse(l) as { url: string; ts: string; body: string },
  )
  const out: Recorded[] = frames.map((text, i) => ({ at: +times[i]!, kind: 'frame', text }))
  for (const r of rest) {
    const symbol = new URL(r.url).searchParams.get('currency_pair')!
    out.push({ at: +r.ts, kind: 'rest', symbol, body: r.body })
  }
  return out.sort((a, b) => a.at - b.at)
}

describe('gate: the recorded session', () => {
  test('replayed through the parser and the book rules, every book matches the reference level by level', async () => {
    const recorded = await session()
    const symbols = [
      ...new Set(recorded.flatMap((r) => (r.kind === 'rest' ? [r.symbol] : []))),
    ].sort()
    expect(symbols).toHaveLength(10)
    const pairOf = new Map(symbols.map((s) => [s, s.replace('_', '/')]))
    const parse = gate.createParser(pairOf)
    const books = new Books().addVenue('gate', [...pairOf.values()])
    const refs = new Map(symbols.map((s) => [s, new Reference()]))
    let compared = 0
    let checked = 0
    const kinds = new Map<string, number>()
    for (const r of recorded) {
      if (r.kind === 'rest') {
        const pair = pairOf.get(r.symbol)!
        const body = JSON.parse(r.body) as { id: number; bids: []; asks: [] }
        refs.get(r.symbol)!.seed(body)
        // The snapshot as fetchSnapshot reads it, served from the recorded body.
        const ev = await gate.fetchSnapshot!('http://gate.test', r.symbol, pair, {
          fetch: (async () => new Response(r.body)) as unknown as typeof fetch,
          signal: AbortSignal.timeout(1000),
        })
        expect(applySnapshot(books.get(pair)!, gate.sync, ev, true).kind).not.toBe('failed')
        continue
      }
      const msg = JSON.parse(r.text) as { channel: string; event: string; result: RawUpdate }
      for (const ev of parse(r.text, r.at * 1000)) {
        kinds.set(ev.type, (kinds.get(ev.type) ?? 0) + 1)
        if (ev.type !== 'delta') continue
        const e = books.get(ev.pair)!
        const out = applyUpdate(e, gate.sync, ev, 1000)
        expect(out.kind).not.toBe('failed')
        const ref = refs.get(msg.result.s)!
        ref.apply(msg.result)
        if (!e.hasSnapshot) continue
        expect(rows(e.book.bids)).toEqual(ref.side('bids'))
        expect(rows(e.book.asks)).toEqual(ref.side('asks'))
        compared++
      }
    }
    // Every book, at the end, against its reference; all seeded, none behind.
    for (const [symbol, ref] of refs) {
      const e = books.get(pairOf.get(symbol)!)!
      expect(e.hasSnapshot).toBe(true)
      expect(e.lastSeq).toBe(ref.id)
      expect(rows(e.book.bids)).toEqual(ref.side('bids'))
      expect(rows(e.book.asks)).toEqual(ref.side('asks'))
      expect(ref.gaps).toBe(0)
      checked++
    }
    const applied = [...refs.values()].reduce((n, r) => n + r.applied, 0)
    const stale = [...refs.values()].reduce((n, r) => n + r.stale, 0)
    // As the capture's README states: 172 updates, 159 applied, 13 stale, 0 gaps.
    expect(kinds.get('delta')).toBe(172)
    expect([applied, stale]).toEqual([159, 13])
    expect(checked).toBe(10)
    expect(compared).toBeGreaterThanOrEqual(159)
    // The 10 book acks carry no id in 2021 (info), the other channels are counted as unknown.
    expect(kinds.get('subscribed')).toBeUndefined()
    expect(kinds.get('unknown')).toBe(22 + 9 + 14)
    // Gate sends no checksum in either book channel: there is none in the capture to verify.
    expect(gate.sync.checksum).toBeUndefined()
    expect(recorded.some((r) => r.kind === 'frame' && /checksum/i.test(r.text))).toBe(false)
  })

  test('a lost update in the recorded session is a sequence gap', async () => {
    const recorded = await session()
    const symbol = 'NEO_BTC'
    const pair = 'NEO/BTC'
    const parse = createJsonParser(new Map([[symbol, pair]]))
    const e = new Books().addVenue('gate', [pair]).get(pair)!
    let kept = 0
    const failures: string[] = []
    for (const r of recorded) {
      if (r.kind === 'rest' && r.symbol === symbol) {
        const b = JSON.parse(r.body) as { id: number; bids: []; asks: [] }
        const ev: SnapshotEvent = {
          type: 'snapshot',
          pair,
          seq: b.id,
          bids: [],
          asks: [],
        }
        applySnapshot(e, gate.sync, ev, true)
      }
      if (r.kind !== 'frame') continue
      for (const ev of parse(r.text, 0)) {
        if (ev.type !== 'delta' || ev.seq! <= (e.lastSeq ?? 0)) continue
        // The second kept update never arrives.
        if (e.hasSnapshot && ++kept === 2) continue
        const out = applyUpdate(e, gate.sync, ev, 1000)
        if (out.kind === 'failed') failures.push(out.failure.kind)
      }
      if (failures.length > 0) break
    }
    expect(failures).toEqual(['sequence'])
  })
})

describe('gate: parser', () => {
  const parse = createJsonParser(new Map([['BTC_USDT', 'BTC/USDT']]))

  test('an ack carrying the id of a pair subscribe confirms that pair', () => {
    const ack = {
      time: 1,
      time_ms: 1000,
      id: requestId('BTC_USDT'),
      channel: 'spot.order_book_update',
      event: 'subscribe',
      error: null,
      result: { status: 'success' },
    }
    expect(parse(JSON.stringify(ack), 0)).toEqual([{ type: 'subscribed', pairs: ['BTC/USDT'] }])
    const [frame] = gate.subscribe(['BTC_USDT'])
    expect(JSON.parse(frame!)).toMatchObject({
      id: requestId('BTC_USDT'),
      channel: 'spot.order_book_update',
      event: 'subscribe',
      payload: ['BTC_USDT', '100ms'],
    })
    expect(Math.abs(JSON.parse(frame!).time - Date.now() / 1000)).toBeLessThan(60)
  })

  test('a refused subscribe is a venue error for its pair', () => {
    const err = {
      time: 1,
      id: requestId('BTC_USDT'),
      channel: 'spot.order_book_update',
      event: 'subscribe',
      error: { code: 2, message: 'Invalid argument provided' },
      result: null,
    }
    expect(parse(JSON.stringify(err), 0)).toEqual([
      {
        type: 'venue-error',
        pair: 'BTC/USDT',
        message: 'spot.order_book_update subscribe: 2 Invalid argument provided',
      },
    ])
  })

  test('a full push (2025 docs example) replaces the book; bad ids are refused', () => {
    const full =
      '{"time":1606294781,"time_ms":1606294781236,"channel":"spot.order_book_update","event":"update","result":{"t":1606294781123,"full":true,"l":"100","e":"depthUpdate","E":1606294781,"s":"BTC_USDT","U":48776301,"u":48776306,"b":[["19137.74","0.0001"],["19088.37","0"]],"a":[["19137.75","0.6135"]]}}'
    const [ev] = parse(full, 0)
    expect(ev).toMatchObject({ type: 'snapshot', pair: 'BTC/USDT', seq: 48776306 })
    const bad = full.replace('"U":48776301', '"U":48776307').replace('"full":true,', '')
    expect(() => parse(bad, 0)).toThrow(ParseError)
    expect(
      parse('{"time":1,"channel":"spot.pong","event":"","error":null,"result":null}', 0),
    ).toEqual([{ type: 'info' }])
  })

  test('the instrument list keeps tradable pairs (real rows of 2025-05-08)', async () => {
    const doc = (await Bun.file(`${FIX}/instruments_20250508.json`).json()) as {
      rows: Record<string, unknown>[]
    }
    const body = [
      ...doc.rows,
      { ...doc.rows[0]!, id: 'XYZ_USDT', base: 'XYZ', trade_status: 'sellable' },
    ]
    const markets = await gate.listMarkets('http://gate.test', {
      fetch: (async () => Response.json(body)) as unknown as typeof fetch,
      signal: AbortSignal.timeout(1000),
    })
    expect(markets.get('BTC/USDT')).toBe('BTC_USDT')
    expect(markets.get('SOL/USDC')).toBe('SOL_USDC')
    expect(markets.has('XYZ/USDT')).toBe(false)
    expect(markets.size).toBe(doc.rows.filter((r) => r.trade_status === 'tradable').length)
  })
})

describe('gate: the simulated venue', () => {
  const track = stopAfterEach()
  const markets = [
    { base: 'BTC', quote: 'USDT', book: makeBook(60000, 5), volume24h: 1234.5 },
    { base: 'ETH', quote: 'USDT', book: makeBook(3000, 5), trading: false },
  ]

  test('over 200 requests per 10 s on an endpoint: 429 TOO_MANY_REQUESTS, other endpoints unaffected', async () => {
    const sim = track(new SimGate(markets, { requestsPerWindow: 3 }))
    const book = `${sim.restUrl}/api/v4/spot/order_book?currency_pair=BTC_USDT&limit=5&with_id=true`
    for (let i = 0; i < 3; i++) {
      const res = await fetch(book)
      expect(res.status).toBe(200)
      expect(res.headers.get('x-gate-ratelimit-requests-remain')).toBe(String(2 - i))
      expect(await res.json()).toMatchObject({ id: 1000 })
    }
    const refused = await fetch(book)
    expect(refused.status).toBe(429)
    expect(await refused.json()).toMatchObject({ label: 'TOO_MANY_REQUESTS' })
    expect((await fetch(`${sim.restUrl}/api/v4/spot/tickers`)).status).toBe(200)
    expect(sim.limited).toEqual({ requests: 1, connections: 0, clock: 0, requestErrors: 0 })
  })

  test('more sockets than allowed from one IP: the upgrade is refused', async () => {
    const sim = track(new SimGate(markets, { connectionsPerIp: 1 }))
    const first = rawSocket(sim.wsUrl)
    expect(await first.opened).toBe(true)
    const second = rawSocket(sim.wsUrl)
    expect(await second.opened).toBe(false)
    expect(sim.limited.connections).toBe(1)
    first.ws.close()
  })

  test('a request time more than 60 s off, or a bad interval, is refused with code 2', async () => {
    const sim = track(new SimGate(markets))
    const s = rawSocket<{ id?: number; error: { code: number } | null; channel: string }>(sim.wsUrl)
    expect(await s.opened).toBe(true)
    const now = Math.floor(Date.now() / 1000)
    const sub = (time: number, id: number, interval = '100ms') =>
      s.ws.send(
        JSON.stringify({
          time,
          id,
          channel: 'spot.order_book_update',
          event: 'subscribe',
          payload: ['BTC_USDT', interval],
        }),
      )
    sub(now - 120, 1)
    sub(now, 2, '1000ms')
    sub(now, 3)
    s.ws.send(JSON.stringify({ time: now, channel: 'spot.ping' }))
    await s.until((f) => f.length >= 4, 'four answers')
    expect(s.frames.map((f) => [f.id, f.error?.code ?? null])).toEqual([
      [1, 2],
      [2, 2],
      [3, null],
      [undefined, null],
    ])
    expect(s.frames[3]!.channel).toBe('spot.pong')
    expect(sim.limited).toMatchObject({ clock: 1, requestErrors: 1 })
    // The subscription now receives chained updates.
    sim.update('BTC/USDT', [['59999.95', '1']], [])
    await s.until((f) => f.length >= 5, 'an update')
    expect(s.frames[4]).toMatchObject({ channel: 'spot.order_book_update', event: 'update' })
    s.ws.close()
  })

  test('fetchVolumes reads quote_volume of tradable pairs from spot/tickers', async () => {
    const sim = track(new SimGate(markets))
    const signal = AbortSignal.timeout(3000)
    const volumes = await gate.fetchVolumes!(sim.restUrl, { fetch, signal })
    expect([...volumes]).toEqual([['BTC/USDT', 1234.5]])
    expect([...(await gate.listMarkets(sim.restUrl, { fetch, signal }))]).toEqual([
      ['BTC/USDT', 'BTC_USDT'],
    ])
    expect(sim.limited.requests).toBe(0)
  })
})
