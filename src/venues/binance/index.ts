/**
 * @module
 * Binance spot: combined `<sym>@depth@100ms` streams in the URL, books seeded from the REST
 * snapshot and kept by the documented U/u/lastUpdateId rules (applied in book/sync.ts through the
 * normalised prevSeq = U - 1, seq = u). `serverShutdown` and the 24 h limit cause a planned reconnect.
 */
import { joinPair } from '../../symbols.ts'
import type { Level, Pair } from '../../types.ts'
import { Scanner } from './fast-json.ts'
import { SimBinance } from './sim.ts'
import { getJson, parseJson, ParseError, toLevels } from '../venue.ts'
import type { DeltaEvent, SnapshotEvent, Venue, VenueEvent } from '../venue.ts'

/** Levels requested in the REST snapshot (weight 50; arbitrage needs only the top of the book). */
export const BINANCE_SNAPSHOT_LIMIT = 1000

interface DepthUpdate {
  e: 'depthUpdate'
  E: number
  s: string
  U: number
  u: number
  b: unknown
  a: unknown
}

export const binance: Venue = {
  id: 'binance',
  name: 'Binance',
  takerFeeBps: 10, // 0.10 % VIP 0 (0.075 % paying in BNB)
  endpoints: { wsUrl: 'wss://stream.binance.com:9443', restUrl: 'https://api.binance.com' },
  // The documented procedure: buffer, REST snapshot, drop u <= lastUpdateId, the first kept event
  // straddles lastUpdateId + 1, then every U is the previous u + 1 (prevSeq = U - 1, seq = u).
  // The streams are in the URL: the connection itself is the subscription.
  acksSubscriptions: false,
  sync: { snapshot: 'rest', sequence: 'chain', detectsGaps: true },
  limits: {
    idleTimeoutMs: 60_000,
    // The server pings every 20 s and the runtime answers; this request keeps traffic flowing on
    // a quiet connection so the watchdog sees it alive (1 frame per 30 s, far under 5 msg/s).
    pingIntervalMs: 30_000,
    maxLifetimeMs: 23 * 60 * 60 * 1000 + 50 * 60 * 1000,
    sendPerSecond: 4,
    // 6,000 request weight a minute per IP; a limit-1000 depth snapshot weighs 50.
    snapshots: { burst: 20, perSecond: 1.5 },
  },
  ping: () => JSON.stringify({ method: 'LIST_SUBSCRIPTIONS', id: Date.now() }),
  simulate: (markets) => new SimBinance(markets),

  async listMarkets(restUrl, opts) {
    const body = (await getJson(
      'binance',
      `${restUrl}/api/v3/exchangeInfo?permissions=SPOT`,
      opts,
    )) as {
      symbols?: { symbol: string; status: string; baseAsset: string; quoteAsset: string }[]
    }
    if (!Array.isArray(body?.symbols))
      throw new ParseError('bad-message', 'exchangeInfo has no symbols')
    const out = new Map<Pair, string>()
    for (const s of body.symbols) {
      if (s.status === 'TRADING') out.set(joinPair(s.baseAsset, s.quoteAsset), s.symbol)
    }
    return out
  },

  wsUrl(base, natives) {
    const streams = natives.map((n) => `${n.toLowerCase()}@depth@100ms`).join('/')
    return `${base}/stream?streams=${streams}`
  },

  subscribe: () => [],

  async fetchSnapshot(restUrl, native, pair, opts): Promise<SnapshotEvent> {
    const url = `${restUrl}/api/v3/depth?symbol=${native}&limit=${BINANCE_SNAPSHOT_LIMIT}`
    const body = (await getJson('binance', url, opts)) as {
      lastUpdateId?: unknown
      bids?: unknown
      asks?: unknown
    }
    if (typeof body?.lastUpdateId !== 'number') {
      throw new ParseError('bad-message', `depth snapshot for ${native} has no lastUpdateId`, pair)
    }
    return {
      type: 'snapshot',
      pair,
      seq: body.lastUpdateId,
      bids: toLevels(body.bids, pair),
      asks: toLevels(body.asks, pair),
    }
  },

  createParser(markets) {
    const scanner = new Scanner()
    return (raw): VenueEvent[] => {
      const fast = scanDepthUpdate(scanner.reset(raw), markets)
      if (fast !== undefined) return [fast]
      const msg = parseJson(raw) as {
        stream?: string
        data?: unknown
        result?: unknown
        id?: unknown
      }
      if (msg === null || typeof msg !== 'object')
        throw new ParseError('bad-message', 'frame is not an object')
      if ('result' in msg && 'id' in msg) return [{ type: 'info' }]
      const data = (msg.data ?? msg) as Omit<Partial<DepthUpdate>, 'e'> & {
        e?: string
        code?: unknown
        msg?: unknown
      }
      switch (data.e) {
        case 'depthUpdate': {
          const pair = markets.get(data.s as string)
          if (pair === undefined)
            return [{ type: 'unknown', what: `depthUpdate for ${String(data.s)}` }]
          if (typeof data.U !== 'number' || typeof data.u !== 'number' || data.u < data.U) {
            throw new ParseError('bad-message', `depthUpdate with bad U/u for ${pair}`, pair)
          }
          return [
            {
              type: 'delta',
              pair,
              prevSeq: data.U - 1,
              seq: data.u,
              bids: toLevels(data.b, pair),
              asks: toLevels(data.a, pair),
              exchangeTsMs: typeof data.E === 'number' ? data.E : undefined,
            },
          ]
        }
        case 'serverShutdown':
          return [{ type: 'reconnect', reason: 'serverShutdown' }]
        default:
          if (data.code !== undefined)
            return [{ type: 'venue-error', message: String(data.msg ?? data.code) }]
          return [
            { type: 'unknown', what: String(data.e ?? msg.stream ?? 'frame without event type') },
          ]
      }
    }
  },
}

const COMBINED_PREFIX = '{"stream":"'
const DATA_KEY = ',"data":'

/**
 * The hot path: a compact `depthUpdate` (raw or combined form) scanned straight into a delta.
 * Returns undefined for anything it does not fully understand; the JSON.parse path then handles
 * (and validates) the frame, so both paths accept exactly the same frames.
 */
export function scanDepthUpdate(
  s: Scanner,
  markets: ReadonlyMap<string, Pair>,
): DeltaEvent | undefined {
  const wrapped = s.text.startsWith(COMBINED_PREFIX)
  if (wrapped) {
    s.i = COMBINED_PREFIX.length - 1
    s.string()
    s.expectText(DATA_KEY)
  }
  s.expect(123) // {
  let e = ''
  let sym = ''
  let E = -1
  let U = -1
  let u = -1
  let b: Level[] | undefined
  let a: Level[] | undefined
  while (!s.fail) {
    const key = s.string()
    s.expect(58) // :
    if (s.fail) return undefined
    switch (key) {
      case 'e':
        e = s.string()
        break
      case 's':
        sym = s.string()
        break
      case 'E':
        E = s.integer()
        break
      case 'U':
        U = s.integer()
        break
      case 'u':
        u = s.integer()
        break
      case 'b':
        b = s.levels()
        break
      case 'a':
        a = s.levels()
        break
      default:
        return undefined
    }
    const c = s.peek()
    s.i++
    if (c === 125) break // }
    if (c !== 44) return undefined
  }
  if (wrapped) s.expect(125)
  if (s.fail || s.i !== s.text.length || e !== 'depthUpdate' || b === undefined || a === undefined)
    return undefined
  if (U < 0 || u < U) return undefined
  const pair = markets.get(sym)
  if (pair === undefined) return undefined
  return {
    type: 'delta',
    pair,
    prevSeq: U - 1,
    seq: u,
    bids: b,
    asks: a,
    exchangeTsMs: E >= 0 ? E : undefined,
  }
}
