/**
 * @module
 * The benchmark's local Binance: REST exchangeInfo and depth, and a WebSocket that streams the
 * generated events as fast as the client takes them (respecting backpressure). Combined-stream
 * URLs (`/stream?streams=`) get `{stream,data}` frames at once; ccxt's `/stream/ws/<n>` URL gets
 * raw payloads after its SUBSCRIBE. Prints `READY <port>` when listening.
 */
import type { ServerWebSocket } from 'bun'
import { generateDislocationStream, generateStream } from './stream.ts'

const n = Number(process.argv[2] ?? 200_000)
const dislocate = process.argv[3] === 'dislocate'
/** In hold mode nothing streams until `GET /bench/start` (so a load test can be set up first). */
let held = process.argv[3] === 'hold'
const holding = new Set<ServerWebSocket<Data>>()
const stream = dislocate ? generateDislocationStream(n) : generateStream(n)
/** In dislocation mode the stream starts once the book is seeded, so every opening is measured live. */
const waiting = new Set<ServerWebSocket<Data>>()
let seeded = false
const STREAM = 'btcusdt@depth@100ms'
const wrapped = stream.events.map((e) => `{"stream":"${STREAM}","data":${e}}`)

const exchangeInfo = JSON.stringify({
  timezone: 'UTC',
  serverTime: Date.now(),
  rateLimits: [],
  exchangeFilters: [],
  symbols: [
    {
      symbol: 'BTCUSDT',
      status: 'TRADING',
      baseAsset: 'BTC',
      baseAssetPrecision: 8,
      quoteAsset: 'USDT',
      quotePrecision: 8,
      quoteAssetPrecision: 8,
      baseCommissionPrecision: 8,
      quoteCommissionPrecision: 8,
      orderTypes: ['LIMIT', 'MARKET'],
      icebergAllowed: true,
      ocoAllowed: true,
      quoteOrderQtyMarketAllowed: true,
      allowTrailingStop: true,
      cancelReplaceAllowed: true,
      isSpotTradingAllowed: true,
      isMarginTradingAllowed: false,
      filters: [
        {
          filterType: 'PRICE_FILTER',
          minPrice: '0.01000000',
          maxPrice: '1000000.00000000',
          tickSize: '0.01000000',
        },
        {
          filterType: 'LOT_SIZE',
          minQty: '0.00001000',
          maxQty: '9000.00000000',
          stepSize: '0.00001000',
        },
      ],
      permissions: ['SPOT'],
      permissionSets: [['SPOT']],
      defaultSelfTradePreventionMode: 'EXPIRE_MAKER',
      allowedSelfTradePreventionModes: ['EXPIRE_MAKER'],
    },
  ],
})

interface Data {
  frames: string[] | undefined
  next: number
}

function pump(ws: ServerWebSocket<Data>): void {
  const frames = ws.data.frames
  if (!frames) return
  if (dislocate && !seeded) {
    waiting.add(ws)
    return
  }
  if (held) {
    holding.add(ws)
    return
  }
  while (ws.data.next < frames.length) {
    const status = ws.send(frames[ws.data.next]!)
    ws.data.next++
    if (status === -1) return // backpressure: continue in drain()
    if (status === 0) return // dropped: the socket is closing
  }
}

const server = Bun.serve<Data>({
  hostname: '127.0.0.1',
  port: 0,
  fetch(req, srv) {
    const url = new URL(req.url)
    if (req.headers.get('upgrade')?.toLowerCase() === 'websocket') {
      const combined = url.searchParams.has('streams')
      return srv.upgrade(req, { data: { frames: combined ? wrapped : undefined, next: 0 } })
        ? undefined
        : new Response('upgrade failed', { status: 400 })
    }
    if (url.pathname === '/api/v3/exchangeInfo')
      return new Response(exchangeInfo, { headers: { 'content-type': 'application/json' } })
    if (url.pathname === '/bench/start') {
      held = false
      for (const ws of holding) pump(ws)
      holding.clear()
      return new Response('started')
    }
    if (url.pathname === '/api/v3/depth') {
      if (dislocate && !seeded) {
        setTimeout(() => {
          seeded = true
          for (const ws of waiting) pump(ws)
          waiting.clear()
        }, 50)
      }
      return new Response(stream.snapshot, { headers: { 'content-type': 'application/json' } })
    }
    return Response.json({ code: -1, msg: `unknown ${url.pathname}` }, { status: 404 })
  },
  websocket: {
    backpressureLimit: 4 * 1024 * 1024,
    closeOnBackpressureLimit: false,
    open(ws) {
      pump(ws)
    },
    message(ws, msg) {
      const m = JSON.parse(String(msg)) as { method?: string; id?: unknown }
      ws.send(JSON.stringify({ result: null, id: m.id }))
      if (m.method === 'SUBSCRIBE' && !ws.data.frames) {
        ws.data.frames = stream.events
        pump(ws)
      }
    },
    drain(ws) {
      pump(ws)
    },
  },
})

console.log(`READY ${server.port} ${n} ${stream.bytes}`)
