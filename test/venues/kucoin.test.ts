/**
 * KuCoin spot (classic): the recorded session (test/fixtures/kucoin, cryptofeed sample data, 2021)
 * replayed through the parser and book/sync.ts against a reference built here from the raw JSON by
 * KuCoin's documented calibration rule; the parser's welcome, acks, errors, sequence-only entries
 * and bad input; the instrument list from real 2025-05-08 rows; openSession against the simulated
 * venue; and each of the sim's limits, answered as KuCoin answers them.
 */
import { describe, expect, test } from 'bun:test'
import { applySnapshot, applyUpdate } from '../../src/book/sync.ts'
import { Books } from '../../src/book/books.ts'
import {
  createJsonParser,
  kucoin,
  kucoinCost,
  KUCOIN_SYMBOLS_PER_FRAME,
  subscribeId,
} from '../../src/venues/kucoin/index.ts'
import { SimKucoin } from '../../src/venues/kucoin/sim.ts'
import { makeBook } from '../../src/venues/sim/book.ts'
import { ExchangeError, ParseError, type SnapshotEvent } from '../../src/venues/venue.ts'
import {
  bookWhere,
  expectReconnect,
  rawSocket,
  readLines,
  rows,
  ruleBook,
  stopAfterEach,
  useFeeds,
} from '../support.ts'

const FIX = `${import.meta.dir}/../fixtures/kucoin`

type Change = [string, string, string]

interface RawL2 {
  sequenceStart: number
  sequenceEnd: number
  symbol: string
  changes: { asks: Change[]; bids: Change[] }
}

/** Independent reference: price → size maps, with KuCoin's documented calibration rule. */
class Reference {
  bids = new Map<string, string>()
  asks = new Map<string, string>()
  seq: number | undefined
  started = false
  applied = 0
  stale = 0
  gaps = 0
  zeros = 0
  /** Messages buffered until the snapshot ("subscribe, buffer, then fetch"). */
  cached: RawL2[] = []

  seed(data: { sequence: string; bids: [string, string][]; asks: [string, string][] }): void {
    this.bids = new Map(data.bids)
    this.asks = new Map(data.asks)
    this.seq = Number(data.sequence)
    for (const r of this.cached.splice(0)) this.apply(r)
  }

  /**
   * "drop sequenceEnd <= sequence; first kept: sequenceStart <= sequence+1 <= sequenceEnd; then
   * sequenceStart == previous sequenceEnd + 1"; per change: price "0" only advances the sequence,
   * size "0" deletes, anything else sets.
   */
  apply(r: RawL2): void {
    if (this.seq === undefined) {
      this.cached.push(r)
      return
    }
    if (r.sequenceEnd <= this.seq) {
      this.stale++
      return
    }
    const ok = this.started
      ? r.sequenceStart === this.seq + 1
      : r.sequenceStart <= this.seq + 1 && this.seq + 1 <= r.sequenceEnd
    if (!ok) {
      this.gaps++
      return
    }
    this.started = true
    for (const [side, map] of [
      [r.changes.bids, this.bids],
      [r.changes.asks, this.asks],
    ] as const) {
      for (const [p, q] of side) {
        if (p === '0') {
          this.zeros++
          continue
        }
        if (Number(q) === 0) map.delete(p)
        else map.set(p, q)
      }
    }
    this.seq = r.sequenceEnd
    this.applied++
  }

  side(which: 'bids' | 'asks'): [string, string][] {
    const m = which === 'bids' ? this.bids : this.asks
    return [...m].sort(([a], [b]) => (which === 'bids' ? +b - +a : +a - +b))
  }
}

type Recorded =
  | { at: number; kind: 'frame'; text: string }
  | { at: number; kind: 'rest'; symbol: string; body: string }

/** The session in arrival order: frames and REST answers by their local receive time. */
async function session(): Promise<Recorded[]> {
  const frames = await readLines(`${FIX}/KUCOIN_ws_1_0.frames.jsonl`)
  const times = await readLines(`${FIX}/KUCOIN_ws_1_0.recv_ts.txt`)
  expect(times).toHaveLength(frames.length)
  const rest = (await readLines(`${FIX}/KUCOIN_http_0_0.rest_snapshots.jsonl`)).map(
    (l) => JSON.parse(l) as { url: string; ts: string; body: string },
  )
  const out: Recorded[] = frames.map((text, i) => ({ at: +times[i]!, kind: 'frame', text }))
  for (const r of rest) {
    const symbol = new URL(r.url).searchParams.get('symbol')!
    out.push({ at: +r.ts, kind: 'rest', symbol, body: r.body })
  }
  return out.sort((a, b) => a.at - b.at)
}

/** A fetch answering every request with `body`. */
const serving = (body: string) => ({
  fetch: (async () => new Response(body)) as unknown as typeof fetch,
  signal: AbortSignal.timeout(1000),
})

describe('kucoin: the recorded session', () => {
  test('replayed through the parser and the book rules, every book matches the reference level by level', async () => {
    const recorded = await session()
    const symbols = ['ANKR-BTC', 'EQZ-BTC']
    const pairOf = new Map(symbols.map((s) => [s, s.replace('-', '/')]))
    const parse = kucoin.createParser(pairOf)
    const books = new Books().addVenue('kucoin', [...pairOf.values()])
    const refs = new Map(symbols.map((s) => [s, new Reference()]))
    const kinds = new Map<string, number>()
    let compared = 0
    for (const r of recorded) {
      if (r.kind === 'rest') {
        const pair = pairOf.get(r.symbol)!
        refs.get(r.symbol)!.seed(JSON.parse(r.body).data)
        // The snapshot as fetchSnapshot reads it, served from the recorded body.
        const ev = await kucoin.fetchSnapshot!(
          'http://kucoin.test',
          r.symbol,
          pair,
          serving(r.body),
        )
        expect(typeof ev.seq).toBe('number')
        expect(applySnapshot(books.get(pair)!, kucoin.sync, ev, true).kind).toBe('applied')
        continue
      }
      const msg = JSON.parse(r.text) as { subject?: string; data: RawL2 }
      for (const ev of parse(r.text, r.at * 1000)) {
        kinds.set(ev.type, (kinds.get(ev.type) ?? 0) + 1)
        if (ev.type !== 'delta') continue
        const e = books.get(ev.pair)!
        expect(applyUpdate(e, kucoin.sync, ev, 1000).kind).not.toBe('failed')
        const ref = refs.get(msg.data.symbol)!
        ref.apply(msg.data)
        if (!e.hasSnapshot) continue
        expect(e.lastSeq).toBe(ref.seq)
        expect(rows(e.book.bids)).toEqual(ref.side('bids'))
        expect(rows(e.book.asks)).toEqual(ref.side('asks'))
        compared++
      }
    }
    for (const [symbol, ref] of refs) {
      const e = books.get(pairOf.get(symbol)!)!
      expect(e.hasSnapshot).toBe(true)
      expect(e.lastSeq).toBe(ref.seq)
      expect(rows(e.book.bids)).toEqual(ref.side('bids'))
      expect(rows(e.book.asks)).toEqual(ref.side('asks'))
      expect(e.book.bids.some((l) => l.pxText === '0')).toBe(false)
      expect(e.book.asks.some((l) => l.pxText === '0')).toBe(false)
      expect(ref.gaps).toBe(0)
    }
    const [ankr, eqz] = [refs.get('ANKR-BTC')!, refs.get('EQZ-BTC')!]
    // As the capture's README states: 243 + 40 applied, 2 + 2 stale, 0 gaps, 81 + 23 zero entries.
    expect([ankr.applied, eqz.applied]).toEqual([243, 40])
    expect([ankr.stale, eqz.stale]).toEqual([2, 2])
    expect([ankr.zeros, eqz.zeros]).toEqual([81, 23])
    expect(kinds.get('delta')).toBe(287)
    expect(compared).toBeGreaterThanOrEqual(283)
    // One welcome; 13 acks with the capture client's id "1" (not ours: info); 107 tickers.
    expect(kinds.get('welcome')).toBe(1)
    expect(kinds.get('info')).toBe(13)
    expect(kinds.get('unknown')).toBe(107)
    expect(kucoin.sync.checksum).toBeUndefined()
  })

  test('a lost update in the recorded session is a sequence gap', async () => {
    const recorded = await session()
    const [symbol, pair] = ['ANKR-BTC', 'ANKR/BTC']
    const parse = createJsonParser(new Map([[symbol, pair]]))
    const e = new Books().addVenue('kucoin', [pair]).get(pair)!
    let kept = 0
    const failures: string[] = []
    for (const r of recorded) {
      if (r.kind === 'rest' && r.symbol === symbol) {
        const ev = await kucoin.fetchSnapshot!('http://kucoin.test', symbol, pair, serving(r.body))
        applySnapshot(e, kucoin.sync, ev, true)
      }
      if (r.kind !== 'frame') continue
      for (const ev of parse(r.text, 0)) {
        if (ev.type !== 'delta' || ev.seq! <= (e.lastSeq ?? 0)) continue
        // The second kept update never arrives.
        if (e.hasSnapshot && ++kept === 2) continue
        const out = applyUpdate(e, kucoin.sync, ev, 1000)
        if (out.kind === 'failed') failures.push(out.failure.kind)
      }
      if (failures.length > 0) break
    }
    expect(failures).toEqual(['sequence'])
  })
})

describe('kucoin: parser', () => {
  const parse = createJsonParser(
    new Map([
      ['BTC-USDT', 'BTC/USDT'],
      ['ETH-USDT', 'ETH/USDT'],
    ]),
  )

  test('welcome greets; the ack of our subscribe confirms its pairs; pong is proof of life', () => {
    expect(parse('{"id":"NSkIrWGB1s","type":"welcome"}', 0)).toEqual([{ type: 'welcome' }])
    const [frame] = kucoin.subscribe(['BTC-USDT', 'ETH-USDT'])
    const sub = JSON.parse(frame!)
    expect(sub).toEqual({
      id: subscribeId(['BTC-USDT', 'ETH-USDT']),
      type: 'subscribe',
      topic: '/market/level2:BTC-USDT,ETH-USDT',
      privateChannel: false,
      response: true,
    })
    expect(parse(JSON.stringify({ id: sub.id, type: 'ack' }), 0)).toEqual([
      { type: 'subscribed', pairs: ['BTC/USDT', 'ETH/USDT'] },
    ])
    expect(parse('{"id":"1","type":"ack"}', 0)).toEqual([{ type: 'info' }])
    expect(parse('{"id":"1545910590801","type":"pong"}', 0)).toEqual([{ type: 'info' }])
    expect(JSON.parse(kucoin.ping!())).toMatchObject({ type: 'ping' })
  })

  test('subscribes go out 100 symbols a frame', () => {
    const natives = Array.from({ length: 250 }, (_, i) => `C${i}-USDT`)
    const frames = kucoin.subscribe(natives).map((f) => JSON.parse(f) as { topic: string })
    expect(frames.map((f) => f.topic.split(':')[1]!.split(',').length)).toEqual([100, 100, 50])
    expect(KUCOIN_SYMBOLS_PER_FRAME).toBe(100)
  })

  test('errors: a refused subscribe names its pairs; an expired token asks for a reconnect', () => {
    const id = subscribeId(['BTC-USDT'])
    kucoin.subscribe(['BTC-USDT'])
    const err = { id, type: 'error', code: 404, data: 'topic /market/level2:BTC-USDT is not found' }
    expect(parse(JSON.stringify(err), 0)).toEqual([
      {
        type: 'venue-error',
        pair: 'BTC/USDT',
        message: '404 topic /market/level2:BTC-USDT is not found',
      },
    ])
    expect(parse('{"id":"1","type":"error","code":415,"data":"type is not supported"}', 0)).toEqual(
      [{ type: 'venue-error', message: '415 type is not supported' }],
    )
    // As cryptofeed#1023 logged it after 24 h.
    const expired =
      '{"id":"660fd6c84d0eab582c237b51","type":"error","code":401,"data":"token is expired"}'
    expect(parse(expired, 0)).toEqual([
      { type: 'reconnect', reason: 'KuCoin: 401 token is expired' },
    ])
  })

  test('an increment (docs example): chained by sequenceStart - 1, stamped with time; price "0" entries are never levels', () => {
    const doc =
      '{"topic":"/market/level2:BTC-USDT","type":"message","subject":"trade.l2update","data":{"changes":{"asks":[["67993.3","1.21427407","14701689783"]],"bids":[]},"sequenceEnd":14701689783,"sequenceStart":14701689783,"symbol":"BTC-USDT","time":1729816425625}}'
    const [ev] = parse(doc, 0)
    expect(ev).toMatchObject({
      type: 'delta',
      pair: 'BTC/USDT',
      prevSeq: 14701689782,
      seq: 14701689783,
      exchangeTsMs: 1729816425625,
      bids: [],
    })
    if (ev?.type !== 'delta') throw new Error('not a delta')
    expect(rows(ev.asks)).toEqual([['67993.3', '1.21427407']])
    const zeros = doc
      .replace(
        '[["67993.3","1.21427407","14701689783"]]',
        '[["0","0","14701689783"],["67993.4","0","14701689784"]]',
      )
      .replace('"sequenceEnd":14701689783', '"sequenceEnd":14701689784')
    const [z] = parse(zeros, 0)
    if (z?.type !== 'delta') throw new Error('not a delta')
    expect([z.prevSeq, z.seq, rows(z.asks)]).toEqual([14701689782, 14701689784, [['67993.4', '0']]])
    // Through the rules: the sequence-only entry advances the book and inserts nothing.
    const { entry, feed } = ruleBook(kucoin, 'BTC/USDT')
    const seeded: SnapshotEvent = {
      type: 'snapshot',
      pair: 'BTC/USDT',
      seq: 14701689782,
      bids: [],
      asks: [],
    }
    feed(seeded)
    feed(z)
    expect(entry.lastSeq).toBe(14701689784)
    expect(entry.book.asks).toEqual([])
  })

  test('bad input is refused by kind', () => {
    const kind = (raw: string) => {
      try {
        parse(raw, 0)
      } catch (err) {
        return err instanceof ParseError ? err.kind : 'other'
      }
      return 'accepted'
    }
    const l2 = (data: unknown) =>
      JSON.stringify({
        type: 'message',
        subject: 'trade.l2update',
        topic: '/market/level2:BTC-USDT',
        data,
      })
    const good = {
      sequenceStart: 5,
      sequenceEnd: 5,
      symbol: 'BTC-USDT',
      changes: { asks: [], bids: [] },
    }
    expect(kind(l2(good))).toBe('accepted')
    expect(kind('{"type":')).toBe('malformed-json')
    expect(kind('[1,2]')).toBe('bad-message')
    expect(kind(l2({ ...good, sequenceStart: 6 }))).toBe('bad-message')
    expect(kind(l2({ ...good, sequenceEnd: '5' }))).toBe('bad-message')
    expect(kind(l2({ ...good, changes: null }))).toBe('bad-message')
    expect(kind(l2({ ...good, changes: { asks: [['-1', '1', '5']], bids: [] } }))).toBe('bad-level')
    expect(kind(l2({ ...good, changes: { asks: [], bids: [['1e3', '1', '5']] } }))).toBe(
      'bad-level',
    )
    expect(parse(l2({ ...good, symbol: 'DOGE-USDT' }), 0)).toEqual([
      { type: 'unknown', what: 'l2update for DOGE-USDT' },
    ])
  })

  test('the instrument list keeps enableTrading markets (real rows of 2025-05-08)', async () => {
    const doc = (await Bun.file(`${FIX}/instruments_20250508.json`).json()) as {
      rows: Record<string, unknown>[]
    }
    const data = [
      ...doc.rows,
      { ...doc.rows[0]!, symbol: 'XYZ-USDT', baseCurrency: 'XYZ', enableTrading: false },
      { ...doc.rows[0]!, symbol: 'WAX-USDT', baseCurrency: 'WAX' },
    ]
    const markets = await kucoin.listMarkets(
      'http://kucoin.test',
      serving(JSON.stringify({ code: '200000', data })),
    )
    expect(markets.get('BTC/USDT')).toBe('BTC-USDT')
    expect(markets.get('SOL/USDC')).toBe('SOL-USDC')
    expect(markets.has('XYZ/USDT')).toBe(false)
    // KuCoin's WAX is the token others list as WAXP.
    expect(markets.get('WAXP/USDT')).toBe('WAX-USDT')
    expect(markets.size).toBe(doc.rows.filter((r) => r.enableTrading === true).length + 1)
    const btc = doc.rows.find((r) => r.symbol === 'BTC-USDT')!
    expect([btc.priceIncrement, btc.baseIncrement]).toEqual(['0.1', '0.00000001'])
    await expect(
      kucoin.listMarkets('http://kucoin.test', serving('{"code":"400100","msg":"bad"}')),
    ).rejects.toThrow(ExchangeError)
  })

  test('REST weights follow KuCoin spec', () => {
    const cost = (path: string) => kucoinCost(new URL(`https://api.kucoin.com${path}`))
    expect(cost('/api/v1/bullet-public')).toBe(10)
    expect(cost('/api/v1/market/orderbook/level2_100?symbol=BTC-USDT')).toBe(2)
    expect(cost('/api/v2/symbols')).toBe(4)
    expect(cost('/api/v1/market/allTickers')).toBe(15)
    expect(kucoin.limits.rest.snapshotCost).toBe(2)
  })
})

describe('kucoin: the simulated venue', () => {
  const track = stopAfterEach()
  const feeds = useFeeds()
  const markets = () => [
    { base: 'BTC', quote: 'USDT', book: makeBook(60000, 5), volume24h: 1234.5 },
    { base: 'ETH', quote: 'USDT', book: makeBook(3000, 5), trading: false },
  ]
  const bullet = async (sim: SimKucoin) =>
    (await (await fetch(`${sim.restUrl}/api/v1/bullet-public`, { method: 'POST' })).json()) as {
      data: { token: string }
    }

  test('openSession: a token, the endpoint and the ping interval of the bullet', async () => {
    const sim = track(new SimKucoin(markets(), { pingIntervalMs: 40, pingTimeoutMs: 500 }))
    const signal = AbortSignal.timeout(3000)
    const ticket = await kucoin.openSession!(sim.wsUrl, sim.restUrl, ['BTC-USDT'], {
      fetch,
      signal,
    })
    const url = new URL(ticket.url)
    expect(`${url.protocol}//${url.host}`).toBe(sim.wsUrl)
    expect(sim.tokens.has(url.searchParams.get('token')!)).toBe(true)
    expect(url.searchParams.get('connectId')).toMatch(/^[a-z0-9]+$/)
    expect([ticket.pingIntervalMs, ticket.idleTimeoutMs]).toEqual([40, 540])
    expect(sim.server.requests).toEqual(['/api/v1/bullet-public'])
    // A real feed: welcome, subscribe, pings at the bullet's interval, answered with pongs.
    const feed = feeds.start(kucoin, sim, ['BTC/USDT'])
    const sent = (type: string) =>
      sim.server.received.filter((r) => r.text.includes(`"type":"${type}"`)).length
    await sim.server.waitFor(() => sent('ping') >= 2 && sent('subscribe') >= 1, 3000, 'two pings')
    sim.update('BTC/USDT', [['59999.95', '1']], [], { zeros: 2 })
    const e = await bookWhere(feed, 'BTC/USDT')
    expect(rows(e.book.bids)).toEqual(sim.book('BTC/USDT').topBids())
    expect(e.lastSeq).toBe(sim.seq('BTC/USDT'))
    expect(e.book.asks.some((l) => l.pxText === '0')).toBe(false)
    expect(feed.conn.stats.errors).toEqual({})
    expect(Object.values(sim.limited).every((v) => v === 0)).toBe(true)
  })

  test('"token is expired" reconnects with a new bullet', async () => {
    const sim = feeds.sim(new SimKucoin(markets()))
    const feed = feeds.start(kucoin, sim, ['BTC/USDT'])
    const subscribes = () => sim.server.received.filter((r) => /"subscribe"/.test(r.text)).length
    await sim.server.waitFor(() => subscribes() > 0, 3000, 'a subscription')
    const bullets = () => sim.server.requests.filter((p) => p.endsWith('/bullet-public')).length
    expect(bullets()).toBe(1)
    sim.expireTokens()
    await expectReconnect(
      feed,
      sim,
      () => sim.pushTo(undefined, '{"type":"error","code":401,"data":"token is expired"}'),
      'token is expired',
    )
    expect(bullets()).toBe(2)
    await sim.server.waitFor(() => subscribes() >= 2, 3000, 'the new subscription')
    sim.update('BTC/USDT', [['59999.95', '1']], [])
    await bookWhere(feed, 'BTC/USDT')
    expect(sim.limited.tokens).toBe(0)
  })

  test('a bad token is answered 401 "token is expired" and closed; a missing one is refused', async () => {
    const sim = track(new SimKucoin(markets()))
    const bad = rawSocket<{ type: string; code?: number; data?: string }>(
      `${sim.wsUrl}/?token=nope&connectId=c1`,
    )
    expect(await bad.opened).toBe(true)
    await bad.until((f) => f.length >= 1, 'the error')
    expect(bad.frames[0]).toMatchObject({ type: 'error', code: 401, data: 'token is expired' })
    await sim.server.waitFor(() => sim.server.clients.size === 0, 3000, 'the close')
    const missing = rawSocket(`${sim.wsUrl}/?connectId=c2`)
    expect(await missing.opened).toBe(false)
    const { data } = await bullet(sim)
    const good = rawSocket<{ id: string; type: string }>(
      `${sim.wsUrl}/?token=${data.token}&connectId=c3`,
    )
    await good.until((f) => f.length >= 1, 'the welcome')
    expect(good.frames[0]).toEqual({ id: 'c3', type: 'welcome' })
    expect(sim.limited.tokens).toBe(2)
    good.ws.close()
  })

  test('over the Public pool: 429 with code 429000 and the gw-ratelimit headers', async () => {
    const sim = track(new SimKucoin(markets(), { restWeight: 5 }))
    const book = `${sim.restUrl}/api/v1/market/orderbook/level2_100?symbol=BTC-USDT`
    for (let i = 0; i < 2; i++) {
      const res = await fetch(book)
      expect(res.status).toBe(200)
      expect(res.headers.get('gw-ratelimit-remaining')).toBe(String(3 - 2 * i))
      expect(await res.json()).toMatchObject({ code: '200000', data: { sequence: '1000000' } })
    }
    const refused = await fetch(book)
    expect(refused.status).toBe(429)
    expect(await refused.json()).toEqual({ code: '429000', msg: 'Too Many Requests' })
    expect(Number(refused.headers.get('gw-ratelimit-reset'))).toBeGreaterThan(0)
    // The venue module waits as long as the header says.
    const err = await kucoin.fetchSnapshot!(sim.restUrl, 'BTC-USDT', 'BTC/USDT', {
      fetch,
      signal: AbortSignal.timeout(1000),
    }).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(ExchangeError)
    expect((err as ExchangeError).retryAfterMs).toBeGreaterThan(0)
    expect(sim.limited.requests).toBe(2)
  })

  test('over 30 connections a minute: the upgrade is refused', async () => {
    const sim = track(new SimKucoin(markets(), { connectsPerWindow: 1 }))
    const { data } = await bullet(sim)
    const first = rawSocket(`${sim.wsUrl}/?token=${data.token}&connectId=a`)
    expect(await first.opened).toBe(true)
    const second = rawSocket(`${sim.wsUrl}/?token=${data.token}&connectId=b`)
    expect(await second.opened).toBe(false)
    expect(sim.limited.connections).toBe(1)
    first.ws.close()
  })

  test('uplink messages, topics per subscribe and per connection, unknown topics and types: answered as KuCoin does', async () => {
    const sim = track(
      new SimKucoin([...markets(), { base: 'SOL', quote: 'USDT', book: makeBook(150, 5) }], {
        uplinkPerWindow: 7,
        topicsPerSubscribe: 2,
        topicsPerConnection: 2,
      }),
    )
    const { data } = await bullet(sim)
    const s = rawSocket<{ id?: string; type: string; code?: number; data?: string }>(
      `${sim.wsUrl}/?token=${data.token}&connectId=x`,
    )
    await s.until((f) => f.length >= 1, 'the welcome')
    const sub = (id: string, symbols: string, type = 'subscribe') =>
      s.ws.send(JSON.stringify({ id, type, topic: `/market/level2:${symbols}`, response: true }))
    sub('a', 'BTC-USDT,ETH-USDT,SOL-USDT')
    sub('b', 'DOGE-USDT')
    sub('c', 'BTC-USDT,ETH-USDT')
    sub('d', 'SOL-USDT')
    sub('e', 'BTC-USDT', 'subscribed')
    s.ws.send(JSON.stringify({ id: 'f', type: 'ping' }))
    s.ws.send('not json')
    sub('g', 'SOL-USDT')
    await s.until((f) => f.length >= 9, 'eight answers')
    expect(s.frames.slice(1).map((f) => [f.id, f.type, f.code, f.data])).toEqual([
      ['a', 'error', 509, 'exceed max subscription count limitation of 2 per time'],
      ['b', 'error', 404, 'topic /market/level2:DOGE-USDT is not found'],
      ['c', 'ack', undefined, undefined],
      ['d', 'error', 509, 'exceed max subscription count limitation of 2 per session'],
      ['e', 'error', 415, 'type is not supported'],
      ['f', 'pong', undefined, undefined],
      [undefined, 'error', 400, 'invalid request'],
      ['g', 'error', 509, 'exceed max permits per second'],
    ])
    expect(sim.limited).toEqual({
      requests: 0,
      connections: 0,
      tokens: 0,
      uplink: 1,
      topics: 2,
      requestErrors: 3,
    })
    // The subscription receives chained increments.
    sim.update('BTC/USDT', [['59999.95', '1']], [])
    await s.until((f) => f.length >= 10, 'an increment')
    expect(s.frames[9]).toMatchObject({ type: 'message', subject: 'trade.l2update' })
    s.ws.close()
  })

  test('fetchVolumes reads volValue of enableTrading markets from allTickers', async () => {
    const sim = track(new SimKucoin(markets()))
    const signal = AbortSignal.timeout(3000)
    const volumes = await kucoin.fetchVolumes!(sim.restUrl, { fetch, signal })
    expect([...volumes]).toEqual([['BTC/USDT', 1234.5]])
    expect([...(await kucoin.listMarkets(sim.restUrl, { fetch, signal }))]).toEqual([
      ['BTC/USDT', 'BTC-USDT'],
    ])
    expect(sim.limited.requests).toBe(0)
  })
})
