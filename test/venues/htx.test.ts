/**
 * HTX spot: the recorded session (test/fixtures/htx, cryptofeed sample data, 2021, gzip binary
 * `depth.step0`) replayed through the parser's binary path and compared book by book with a
 * reference built here from the decoded JSON by our own exact number-to-text conversion; the
 * parser's mbp diffs, `rep`, acks, errors, pings, bad gzip and exponent numbers; the instrument
 * list; and the simulated venue's limits through raw sockets and fetch.
 */
import { describe, expect, test } from 'bun:test'
import {
  createHtxParser,
  htx,
  htxReqId,
  htxTopic,
  HTX_SUB_ID,
  marketsOf,
} from '../../src/venues/htx/index.ts'
import { expandExponent, wireNumber } from '../../src/venues/htx/numbers.ts'
import { SimHtx } from '../../src/venues/htx/sim.ts'
import { makeBook, SimBook } from '../../src/venues/sim/book.ts'
import { simVolume24h } from '../../src/venues/sim/venue.ts'
import { ParseError, type DeltaEvent, type SnapshotEvent } from '../../src/venues/venue.ts'
import { bookWhere, readLines, rows, ruleBook, startFeed, stopAfterEach } from '../support.ts'

const FIX = `${import.meta.dir}/../fixtures/htx`
const track = stopAfterEach()

/**
 * Reference conversion of a JSON number token to plain decimal text, written apart from the
 * module's: the digits as a BigInt, scaled by the number of decimals the token implies.
 */
function refPlain(token: string): string {
  const m = /^(\d+)(?:\.(\d*))?(?:[eE]([+-]?\d+))?$/.exec(token)
  if (m === null) throw new Error(`not an unsigned number token: ${token}`)
  const int = m[1]!
  const frac = m[2] ?? ''
  const decimals = frac.length - Number(m[3] ?? '0')
  const digits = BigInt(int + frac)
  if (decimals <= 0) return (digits * 10n ** BigInt(-decimals)).toString()
  const padded = digits.toString().padStart(decimals + 1, '0')
  return `${padded.slice(0, -decimals)}.${padded.slice(-decimals)}`
}

/** The `[[price,size],…]` lists of one side in a raw JSON text, as token pairs (regex, no parser). */
function rawSide(text: string, side: 'bids' | 'asks'): [string, string][] {
  const list = new RegExp(`"${side}":\\[((?:\\[[^\\]]*\\],?)*)\\]`).exec(text)
  if (list === null) return []
  return [...list[1]!.matchAll(/\[([^,\]]+),([^,\]]+)\]/g)].map((r) => [r[1]!, r[2]!])
}

const gz = (text: string): Uint8Array => Bun.gzipSync(text)

const parser = () =>
  createHtxParser(
    new Map([
      ['btcusdt', 'BTC/USDT'],
      ['ethusdt', 'ETH/USDT'],
    ]),
  )

describe('HTX recorded session (gzip binary, depth.step0)', () => {
  test('every frame gunzips to its decoded line; books match the reference level by level; pings answered', async () => {
    const frames = await readLines(`${FIX}/HUOBI_ws_44_0.frames.b64.txt`)
    const decoded = await readLines(`${FIX}/HUOBI_ws_44_0.decoded.jsonl`)
    expect(frames.length).toBe(74)
    expect(decoded.length).toBe(frames.length)
    const markets = new Map([
      ['yfihusd', 'YFI/HUSD'],
      ['nesteth', 'NEST/ETH'],
    ])
    const parse = createHtxParser(markets)
    const books = new Map([...markets.values()].map((p) => [p, ruleBook(htx, p)]))
    let snapshots = 0
    let pings = 0
    let subscribedAcks = 0
    let exponents = 0
    for (let i = 0; i < frames.length; i++) {
      const bytes = new Uint8Array(Buffer.from(frames[i]!, 'base64'))
      expect(new TextDecoder().decode(Bun.gunzipSync(bytes))).toBe(decoded[i]!)
      const events = parse.binary!(bytes, 0)
      expect(events).toHaveLength(1)
      const ev = events[0]!
      const line = decoded[i]!
      const ping = /^\{"ping":(\d+)\}$/.exec(line)
      if (ping !== null) {
        pings++
        expect(ev).toEqual({ type: 'reply', frame: `{"pong":${ping[1]}}` })
        continue
      }
      if (line.includes('"subbed"')) {
        // The depth acks name no mbp topic; trade acks neither: proof of life only.
        subscribedAcks++
        expect(ev.type).toBe('info')
        continue
      }
      if (line.includes('.trade.detail')) {
        expect(ev.type).toBe('unknown')
        continue
      }
      expect(ev.type).toBe('snapshot')
      const snap = ev as SnapshotEvent
      snapshots++
      const version = Number(/"version":(\d+)/.exec(line)![1])
      expect(snap.seq).toBe(version)
      expect(snap.requested).toBeUndefined()
      const ref = (side: 'bids' | 'asks'): [string, string][] =>
        rawSide(line, side).map(([p, q]) => {
          if (/[eE]/.test(p + q)) exponents++
          return [refPlain(p), refPlain(q)]
        })
      const book = books.get(snap.pair)!
      book.feed(snap)
      expect(rows(book.entry.book.bids)).toEqual(ref('bids'))
      expect(rows(book.entry.book.asks)).toEqual(ref('asks'))
    }
    expect({ snapshots, pings, subscribedAcks }).toEqual({
      snapshots: 60,
      pings: 6,
      subscribedAcks: 4,
    })
    // The session has exponent tokens (`3.45E-4`, `1.1111111E7`) and they were checked.
    expect(exponents).toBeGreaterThan(10)
  })

  test('every number token of the session converts to the reference text', async () => {
    const text = await Bun.file(`${FIX}/HUOBI_ws_44_0.decoded.jsonl`).text()
    const tokens = new Set(text.match(/(?<=[[,:])\d[\d.]*(?:E-?\d+)?(?=[,\]}])/g))
    expect(tokens.size).toBeGreaterThan(500)
    for (const t of tokens) expect(expandExponent(t)).toBe(refPlain(t))
  })
})

describe('HTX parser', () => {
  test('an mbp.150 diff is a chained delta; exponent numbers become plain decimals', () => {
    const frame = gz(
      '{"ch":"market.btcusdt.mbp.150","ts":1573199608679,"tick":{"seqNum":100020146795,' +
        '"prevSeqNum":100020146794,"bids":[[645.14,9.121E-7],[644.1,0]],"asks":[[1.1111111E7,26.75597395914065]]}}',
    )
    const [ev] = parser().binary!(frame, 0) as DeltaEvent[]
    expect(ev).toMatchObject({
      type: 'delta',
      pair: 'BTC/USDT',
      seq: 100020146795,
      prevSeq: 100020146794,
      exchangeTsMs: 1573199608679,
    })
    expect(rows(ev!.bids)).toEqual([
      ['645.14', '0.0000009121'],
      ['644.1', '0'],
    ])
    expect(rows(ev!.asks)).toEqual([['11111111', '26.75597395914065']])
  })

  test('an empty 100 ms diff is still a delta with its new seqNum', () => {
    const [ev] = parser().binary!(
      gz(
        '{"ch":"market.ethusdt.mbp.150","ts":1,"tick":{"seqNum":12,"prevSeqNum":11,"bids":[],"asks":[]}}',
      ),
      0,
    )
    expect(ev).toMatchObject({
      type: 'delta',
      pair: 'ETH/USDT',
      seq: 12,
      prevSeq: 11,
      bids: [],
      asks: [],
    })
  })

  test('a rep is a requested snapshot at data.seqNum; size-0 levels are left out', () => {
    const [ev] = parser().binary!(
      gz(
        '{"id":"req.btcusdt","rep":"market.btcusdt.mbp.150","status":"ok","ts":1698359289261,' +
          '"data":{"seqNum":104999417756,"bids":[[9058.27,0],[9058.43,5.33E-4]],"asks":[[9084.27,0.2],[9085.69,0]]}}',
      ),
      0,
    ) as SnapshotEvent[]
    expect(ev).toMatchObject({
      type: 'snapshot',
      pair: 'BTC/USDT',
      seq: 104999417756,
      requested: true,
    })
    expect(rows(ev!.bids)).toEqual([['9058.43', '0.000533']])
    expect(rows(ev!.asks)).toEqual([['9084.27', '0.2']])
  })

  test('subbed acks confirm the book topics they name', () => {
    const p = parser()
    const ack = (t: string) =>
      p.binary!(gz(`{"id":"subscribe","status":"ok","subbed":"${t}","ts":1}`), 0)
    expect(ack('market.ethusdt.mbp.150')).toEqual([{ type: 'subscribed', pairs: ['ETH/USDT'] }])
    expect(ack('market.ethusdt.mbp.400')).toEqual([{ type: 'info' }])
    expect(ack('market.dogeusdt.mbp.150')).toEqual([{ type: 'info' }])
  })

  test('pings are answered with the same number, as its exact text', () => {
    expect(parser().binary!(gz('{"ping":1618678073643}'), 0)).toEqual([
      { type: 'reply', frame: '{"pong":1618678073643}' },
    ])
  })

  test('errors: a refused symbol names its pair; a refused req names none', () => {
    const p = parser()
    const err = (id: string, msg: string) =>
      p.binary!(
        gz(
          `{"ts":1586323747018,"status":"error","err-code":"bad-request","err-msg":"${msg}","id":"${id}"}`,
        ),
        0,
      )
    expect(err(HTX_SUB_ID, 'invalid mbp.150.symbol btcusdt')).toEqual([
      {
        type: 'venue-error',
        message: 'bad-request invalid mbp.150.symbol btcusdt (id subscribe)',
        pair: 'BTC/USDT',
      },
    ])
    expect(err(htxReqId('ethusdt'), '429 too many request')).toEqual([
      { type: 'venue-error', message: 'bad-request 429 too many request (id req.ethusdt)' },
    ])
  })

  test('a binary frame that does not gunzip, text garbage and bad sequences are ParseErrors', () => {
    const p = parser()
    const kind = (f: () => unknown) => {
      try {
        f()
      } catch (err) {
        return err instanceof ParseError ? err.kind : 'other'
      }
      return 'none'
    }
    expect(kind(() => p.binary!(new Uint8Array([1, 2, 3, 4]), 0))).toBe('malformed-json')
    expect(kind(() => p.binary!(gz('{"ch":'), 0))).toBe('malformed-json')
    expect(kind(() => p('not json at all', 0))).toBe('malformed-json')
    expect(
      kind(() =>
        p.binary!(gz('{"ch":"market.btcusdt.mbp.150","tick":{"seqNum":5,"prevSeqNum":5}}'), 0),
      ),
    ).toBe('bad-message')
    expect(
      kind(() =>
        p.binary!(
          gz('{"ch":"market.btcusdt.mbp.150","tick":{"seqNum":6,"prevSeqNum":5,"bids":[[-1,2]]}}'),
          0,
        ),
      ),
    ).toBe('bad-level')
  })

  test('frames the sim writes come back with their exact text (exponent forms both ways)', () => {
    for (const t of ['0.000345', '0.00012000', '60000.10', '12345678.50', '0.001', '0'])
      expect(expandExponent(wireNumber(t))).toBe(t)
    expect(wireNumber('0.000345')).toBe('3.45E-4')
    expect(wireNumber('11111111')).toBe('1.1111111E7')
  })
})

describe('HTX frames and instruments', () => {
  test('one subscribe frame for a connection; a req per book', () => {
    expect(htx.subscribe(['btcusdt', 'ethusdt'])).toEqual([
      '{"sub":["market.btcusdt.mbp.150","market.ethusdt.mbp.150"],"id":"subscribe"}',
    ])
    expect(htx.requestSnapshot!('btcusdt')).toEqual([
      '{"req":"market.btcusdt.mbp.150","id":"req.btcusdt"}',
    ])
    expect(htxTopic('solusdt')).toBe('market.solusdt.mbp.150')
  })

  test('listMarkets reads /v2/settings/common/symbols: the docs example row', async () => {
    // The "Success Example" of HTX's docs for GET /v2/settings/common/symbols (one row).
    const body = {
      status: 'ok',
      data: [
        {
          tags: '',
          state: 'online',
          wr: '1.5',
          sc: 'ethusdt',
          p: [{ id: 9, name: 'Grayscale', weight: 91 }],
          bcdn: 'ETH',
          qcdn: 'USDT',
          elr: null,
          tpp: 2,
          tap: 4,
          fp: 8,
          smlr: null,
          flr: null,
          whe: false,
          cd: false,
          te: true,
          sp: 'main',
          d: null,
          bc: 'eth',
          qc: 'usdt',
          toa: 1514779200000,
          ttp: 8,
          w: 999400000,
          lr: 5,
          dn: 'ETH/USDT',
        },
      ],
      ts: '1641870869718',
      full: 1,
    }
    const urls: string[] = []
    const fetch = (async (url: string) => {
      urls.push(url)
      return Response.json(body)
    }) as unknown as typeof globalThis.fetch
    const markets = await htx.listMarkets('https://api.huobi.pro', {
      fetch,
      signal: AbortSignal.timeout(5000),
    })
    expect(urls).toEqual(['https://api.huobi.pro/v2/settings/common/symbols'])
    expect([...markets]).toEqual([['ETH/USDT', 'ethusdt']])
  })

  test('the real 2025-05-08 rows (legacy /v1/common/symbols), their fields mapped: offline solusdc left out', async () => {
    const { rows: legacy } = (await Bun.file(`${FIX}/instruments_20250508.json`).json()) as {
      rows: Record<string, unknown>[]
    }
    // symbol → sc, base-currency → bc, quote-currency → qc, state → state, api-trading → te.
    const v2 = legacy.map((r) => ({
      sc: r.symbol,
      bc: r['base-currency'],
      qc: r['quote-currency'],
      state: r.state,
      te: r['api-trading'] === 'enabled',
    }))
    expect([...marketsOf(v2)].sort()).toEqual([
      ['BTC/USDC', 'btcusdc'],
      ['BTC/USDT', 'btcusdt'],
      ['ETH/USDC', 'ethusdc'],
      ['ETH/USDT', 'ethusdt'],
      ['SOL/USDT', 'solusdt'],
    ])
  })

  test('listMarkets and fetchVolumes against the sim: trading markets, `vol` as the quote volume', async () => {
    const sim = track(
      new SimHtx(
        [
          { base: 'BTC', quote: 'USDT', book: makeBook(60000), volume24h: 123456789.5 },
          { base: 'ETH', quote: 'USDT', book: makeBook(3000) },
          { base: 'SOL', quote: 'USDC', trading: false },
        ],
        { tickMs: 0, pingIntervalMs: 0 },
      ),
    )
    const opts = { fetch, signal: AbortSignal.timeout(5000) }
    const markets = await htx.listMarkets(sim.restUrl, opts)
    expect([...markets]).toEqual([
      ['BTC/USDT', 'btcusdt'],
      ['ETH/USDT', 'ethusdt'],
    ])
    const volumes = await htx.fetchVolumes!(sim.restUrl, opts)
    expect(volumes.get('BTC/USDT')).toBe(123456789.5)
    expect(volumes.get('ETH/USDT')).toBe(simVolume24h({ base: 'ETH', quote: 'USDT' }))
    expect(volumes.has('SOL/USDC')).toBe(false)
  })
})

/** A raw socket to the sim that gunzips every frame into JSON (numbers as floats: tests only). */
function gzSocket(url: string) {
  const ws = new WebSocket(url)
  ws.binaryType = 'arraybuffer'
  const frames: Record<string, unknown>[] = []
  const texts: string[] = []
  let wake = () => {}
  let closed = false
  ws.onmessage = (m) => {
    const text = new TextDecoder().decode(Bun.gunzipSync(new Uint8Array(m.data as ArrayBuffer)))
    texts.push(text)
    frames.push(JSON.parse(text) as Record<string, unknown>)
    wake()
  }
  const opened = new Promise<void>((resolve) => (ws.onopen = () => resolve()))
  ws.onclose = () => {
    closed = true
    wake()
  }
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
  return { ws, frames, texts, opened, until, isClosed: () => closed }
}

const quiet = { tickMs: 0, pingIntervalMs: 0 }

describe('simulated HTX limits, answered as HTX answers', () => {
  const markets = [{ base: 'BTC', quote: 'USDT', book: makeBook(60000) }]

  test('a second req within 100 ms: bad-request "429 too many request"', async () => {
    // A long interval so the second req is always "too soon", whatever the machine's speed.
    const sim = track(new SimHtx(markets, { ...quiet, reqIntervalMs: 60_000 }))
    const c = gzSocket(sim.wsUrl)
    await c.opened
    c.ws.send(htx.requestSnapshot!('btcusdt')[0]!)
    c.ws.send(htx.requestSnapshot!('btcusdt')[0]!)
    await c.until(() => c.frames.length >= 2, 'two answers')
    const rep = c.frames.find((f) => f.rep !== undefined)
    const err = c.frames.find((f) => f.status === 'error')
    expect(rep).toMatchObject({ id: 'req.btcusdt', rep: 'market.btcusdt.mbp.150', status: 'ok' })
    expect(err).toMatchObject({
      id: 'req.btcusdt',
      status: 'error',
      'err-code': 'bad-request',
      'err-msg': '429 too many request',
    })
    expect(sim.limited.reqs).toBe(1)
    c.ws.close()
  })

  test('an unknown symbol, another topic and non-JSON: bad-request answers', async () => {
    const sim = track(new SimHtx(markets, quiet))
    const c = gzSocket(sim.wsUrl)
    await c.opened
    c.ws.send('{"sub":"market.nosuchusdt.mbp.150","id":"subscribe"}')
    c.ws.send('{"sub":"market.btcusdt.kline.1min","id":"k"}')
    c.ws.send('hello')
    c.ws.send('{"sub":["market.btcusdt.mbp.150"],"id":"subscribe"}')
    await c.until(() => c.frames.length >= 4, 'four answers')
    expect(c.frames.map((f) => f['err-msg'] ?? f.subbed)).toEqual([
      'invalid mbp.150.symbol nosuchusdt',
      'invalid topic',
      'not json string',
      'market.btcusdt.mbp.150',
    ])
    expect(sim.limited.badRequests).toBe(3)
    expect(sim.topicsOf([...sim.server.clients][0]!)).toEqual(['market.btcusdt.mbp.150'])
    c.ws.close()
  })

  test('two unanswered pings close the connection; answered ones keep it open', async () => {
    const sim = track(new SimHtx(markets, { tickMs: 0, pingIntervalMs: 20 }))
    const mute = gzSocket(sim.wsUrl)
    const polite = gzSocket(sim.wsUrl)
    await Promise.all([mute.opened, polite.opened])
    polite.ws.onmessage = ((orig) => (m: MessageEvent) => {
      orig?.call(polite.ws, m)
      const last = polite.frames.at(-1)
      if (last?.ping !== undefined) polite.ws.send(`{"pong":${String(last.ping)}}`)
    })(polite.ws.onmessage)
    await mute.until(() => mute.isClosed(), 'the mute client closed')
    expect(mute.frames.filter((f) => f.ping !== undefined).length).toBe(2)
    expect(sim.limited.missedPings).toBe(1)
    // The polite client outlives it by several more pings.
    const seen = polite.frames.length
    await polite.until(() => polite.frames.length >= seen + 4, 'four more pings')
    expect(polite.isClosed()).toBe(false)
    expect(sim.limited.missedPings).toBe(1)
    polite.ws.close()
  })

  test("REST over the window: HTTP 429 with HTX's rate-limit body", async () => {
    const sim = track(new SimHtx(markets, { ...quiet, restPerWindow: 2, restWindowMs: 60_000 }))
    const get = () => fetch(`${sim.restUrl}/market/tickers`)
    expect((await get()).status).toBe(200)
    expect((await get()).status).toBe(200)
    const third = await get()
    expect(third.status).toBe(429)
    expect(await third.json()).toEqual({
      status: 'error',
      'err-code': 'rate-too-many-requests',
      'err-msg': 'exceeded rate limit',
      data: null,
    })
    expect(sim.limited.rest).toBe(1)
  })

  test('pushes are gzip frames with JSON numbers, exponent forms for tiny sizes', async () => {
    const sim = track(new SimHtx(markets, quiet))
    const c = gzSocket(sim.wsUrl)
    await c.opened
    c.ws.send(htx.subscribe(['btcusdt'])[0]!)
    await c.until(() => c.frames.length >= 1, 'the ack')
    sim.update('BTC/USDT', [['59999.95', '0.000345']], [])
    await c.until(() => c.frames.length >= 2, 'the push')
    expect(c.texts[1]).toContain('"bids":[[59999.95,3.45E-4]],"asks":[]')
    const [ev] = createHtxParser(new Map([['btcusdt', 'BTC/USDT']])).binary!(
      Bun.gzipSync(c.texts[1]!),
      0,
    ) as DeltaEvent[]
    expect(rows(ev!.bids)).toEqual([['59999.95', '0.000345']])
    expect(ev!.prevSeq! < ev!.seq!).toBe(true)
    c.ws.close()
  })
})

describe('HTX through a real connection and book sync', () => {
  test('sub, req, rep aligned with the buffered diffs: the book is exact, tiny and huge numbers included', async () => {
    const book = new SimBook(
      [
        ['0.00001234', '12345678.5'],
        ['0.00001233', '0.000001'],
      ],
      [
        ['0.00001240', '99999999'],
        ['0.00001250', '0.0005'],
      ],
    )
    const sim = track(new SimHtx([{ base: 'PEPE', quote: 'USDT', book }], { tickMs: 20 }))
    const feed = track(startFeed(htx, sim, ['PEPE/USDT'], { snapshotTimeoutMs: 2000 }))
    const same = (e: { book: { bids: never[]; asks: never[] } }) =>
      Bun.deepEquals(rows(e.book.bids), sim.book('PEPE/USDT').topBids()) &&
      Bun.deepEquals(rows(e.book.asks), sim.book('PEPE/USDT').topAsks())
    await bookWhere(feed, 'PEPE/USDT', (e) => e.state === 'live' && same(e as never))
    sim.update('PEPE/USDT', [['0.00001235', '0.00042']], [['0.00001240', '0']])
    const e = await bookWhere(feed, 'PEPE/USDT', (e) => same(e as never))
    expect(rows(e.book.bids)[0]).toEqual(['0.00001235', '0.00042'])
    expect(e.resyncs).toBe(0)
    // Exactly one req went out, and no limit was touched.
    expect(sim.server.received.filter((r) => r.text.includes('"req"')).length).toBe(1)
    expect(Object.values(sim.limited).every((v) => v === 0)).toBe(true)
  })
})

describe('HTX pings while snapshot requests queue', () => {
  const track = stopAfterEach()

  test('a pong goes out ahead of queued reqs: twenty books seed without a missed ping', async () => {
    const bases = Array.from({ length: 20 }, (_, i) => `T${i}`)
    const sim = track(
      new SimHtx(
        bases.map((base, i) => ({ base, quote: 'USDT', book: makeBook(10 + i, 5, 0.01) })),
        // Two pings unanswered within 800 ms close the socket; 20 reqs 125 ms apart take 2.5 s.
        { pingIntervalMs: 400, tickMs: 50 },
      ),
    )
    const pairs = bases.map((b) => `${b}/USDT`)
    const feed = track(startFeed(htx, sim, pairs, { snapshotTimeoutMs: 10_000 }))
    for (const pair of pairs) await bookWhere(feed, pair, (e) => e.state === 'live', 15_000)
    expect(sim.limited.missedPings).toBe(0)
    expect(feed.conn.stats.reconnects).toBe(0)
  }, 20_000)
})
