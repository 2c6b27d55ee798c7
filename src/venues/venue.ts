/**
 * @module
 * What a venue is: its facts (name, endpoints, default taker fee, limits), how its books are
 * synchronised (snapshot source, sequence rule, checksum, depth), and pure functions for its
 * protocol (URLs, frames, a parser). A venue module is a plain object satisfying `Venue`; the
 * socket loop lives once in connection.ts and book synchronisation once in book/sync.ts.
 * Also here: the normalised events parsers emit and the parsing helpers they share.
 */
import type { AssetAliases } from '../symbols.ts'
import type { Credentials, TransferFact } from '../transfers/types.ts'
import type { Level, Pair, VenueId } from '../types.ts'
import type { SimMarket, SimVenue } from './sim/venue.ts'

/** A full book from the venue (WebSocket snapshot or REST). Replaces the local book. */
export interface SnapshotEvent {
  readonly type: 'snapshot'
  readonly pair: Pair
  readonly bids: Level[]
  readonly asks: Level[]
  /** Sequence the snapshot is valid at (Binance lastUpdateId, OKX seqId, Bitstamp microtimestamp). */
  readonly seq?: number
  /** Checksum the venue sent with this message, if any (0 from OKX means "absent"). */
  readonly checksum?: number
  /** Exchange timestamp of the data, ms since the epoch, when the venue sends one. */
  readonly exchangeTsMs?: number
  /**
   * The venue's sequence shared by its book channels (Bybit `seq`), when it differs from `seq`:
   * `top` events are then compared against the book's last `crossSeq` instead of its `seq`.
   */
  readonly crossSeq?: number
  /**
   * True for the answer to a snapshot request sent on the socket (HTX `req`, sync.snapshot
   * 'request'): it is aligned with the buffered updates like a REST snapshot, not taken as the
   * stream's own reset.
   */
  readonly requested?: boolean
}

/**
 * Absolute level updates (quantity 0 deletes). Sequencing is normalised so one rule fits all
 * venues: the update is contiguous when `prevSeq` equals the book's last `seq`
 * (Binance: prevSeq = U - 1, seq = u; OKX: prevSeqId, seqId). With only `seq` (Bitstamp's
 * microtimestamp) updates at or before the book's `seq` are dropped and nothing else is checked.
 */
export interface DeltaEvent {
  readonly type: 'delta'
  readonly pair: Pair
  readonly bids: Level[]
  readonly asks: Level[]
  readonly seq?: number
  readonly prevSeq?: number
  readonly checksum?: number
  readonly exchangeTsMs?: number
  /** As on `SnapshotEvent`: the sequence `top` events are compared at (Bybit `seq`). */
  readonly crossSeq?: number
}

/**
 * The venue's best levels from an independent channel of the same venue (Binance `bookTicker`),
 * as they were at sequence `seq` of the book's own stream (its `crossSeq` where the venue sends one,
 * Bybit; else its `seq`). book/sync.ts compares them with the book when the book is live and
 * exactly at `seq`. An absent side means the venue's side is empty.
 */
export interface TopEvent {
  readonly type: 'top'
  readonly pair: Pair
  readonly seq: number
  readonly bid?: Level
  readonly ask?: Level
}

export type VenueEvent =
  | SnapshotEvent
  | DeltaEvent
  | TopEvent
  /**
   * A counter the venue puts on every message of the connection (Coinbase `sequence_num`): a gap
   * means a message was lost and it cannot be told which book it belonged to.
   */
  | { readonly type: 'stream-seq'; readonly seq: number }
  /**
   * A frame the parser refused (a thrown ParseError becomes one too): counted by kind; the named
   * books resync, every book does with `all`, and with neither the books resync only where the
   * venue cannot detect a lost message later.
   */
  | {
      readonly type: 'rejected'
      readonly kind: ParseError['kind']
      readonly message: string
      readonly pairs?: readonly Pair[]
      readonly all?: boolean
    }
  /** The venue asked us to reconnect (Binance serverShutdown, Bitstamp bts:request_reconnect). */
  | { readonly type: 'reconnect'; readonly reason: string }
  /** The venue confirmed these markets' subscriptions (the books' own data may now flow). */
  | { readonly type: 'subscribed'; readonly pairs: readonly Pair[] }
  /** Acks, heartbeats, pongs: proof of life, nothing to apply. */
  | { readonly type: 'info' }
  /** A frame the venue expects back at once (HTX answers its `{"ping":ts}` with `{"pong":ts}`). */
  | { readonly type: 'reply'; readonly frame: string }
  /** The venue's greeting (KuCoin `welcome`): a venue that `greets` takes subscriptions after it. */
  | { readonly type: 'welcome' }
  /** The venue reported an error (a rejected subscription, say). */
  | { readonly type: 'venue-error'; readonly message: string; readonly pair?: Pair }
  /** A well-formed frame of a kind we do not handle; counted, not fatal. */
  | { readonly type: 'unknown'; readonly what: string }

/**
 * Turns one frame into events. Created per connection; it only parses. Text frames are passed as
 * text; binary ones go to `binary` where the venue sends binary data (HTX gzip, MEXC protobuf),
 * and are decoded as UTF-8 text otherwise.
 */
export interface FrameParser {
  (raw: string, receivedAtMs: number): VenueEvent[]
  binary?: (bytes: Uint8Array, receivedAtMs: number) => VenueEvent[]
}

/** A scanner for a venue's hot frames: their events, or undefined for anything else. */
export type FastParser = (raw: string) => VenueEvent[] | undefined

/**
 * A venue's parser: its scanner (`fast.ts`) first, and `JSON.parse` for every frame the scanner
 * leaves (the reference the scanner is tested against).
 */
export function scannedFirst(fast: FastParser, slow: FrameParser): FrameParser {
  return (raw, now) => fast(raw) ?? slow(raw, now)
}

export interface FetchOptions {
  readonly fetch: typeof fetch
  readonly signal: AbortSignal
}

/**
 * How a venue's books are kept exact (applied by book/sync.ts, the one owner of these rules).
 * - `chain`: every update names the sequence it follows (`prevSeq`) and must follow the book's;
 *   right after a snapshot the first kept update may straddle it (prevSeq <= book < seq).
 * - `stamp`: updates carry only an increasing stamp; those at or before the book's are dropped.
 * - `none`: no per-book ordering; integrity comes from a checksum or a connection sequence.
 */
export interface SyncRules {
  /**
   * Where a book's snapshot comes from: REST (updates are buffered meanwhile), the socket's own
   * stream (a subscription or resubscription brings it), or a request on the socket whose answer
   * is aligned with the buffered updates like a REST snapshot (`requestSnapshot`, HTX `req`).
   */
  readonly snapshot: 'rest' | 'ws' | 'request'
  readonly sequence: 'chain' | 'stamp' | 'none'
  /** The venue's checksum over the book it sends with messages, when it sends one. */
  readonly checksum?: (book: {
    readonly bids: readonly Level[]
    readonly asks: readonly Level[]
  }) => number
  /** Keep only this many levels per side after every message (the subscribed depth). */
  readonly maxDepth?: number
  /** True when lost messages show up (a sequence gap, a checksum mismatch). */
  readonly detectsGaps: boolean
  /** The venue's independent channel of best levels the books are cross-checked against. */
  readonly topChannel?: string
}

/** The venue's published limits, as this client must respect them. */
export interface VenueLimits {
  /** Outbound frame budget per second per connection (subscribe, ping). */
  readonly sendPerSecond: number
  /**
   * Least time between two outbound frames on one connection, where the venue spaces requests
   * rather than counting them per second (HTX: one `req` per 100 ms per connection).
   */
  readonly minSendIntervalMs?: number
  /** Outbound frames per second across all connections from one IP, where the venue counts so. */
  readonly sendPerSecondPerIp?: number
  /** Reconnect when nothing at all arrives for this long. */
  readonly idleTimeoutMs: number
  /** Application-level keep-alive: send `ping()` every `pingIntervalMs`. */
  readonly pingIntervalMs?: number
  /** Planned reconnect before the venue's own connection lifetime ends (Binance: 24 h). */
  readonly maxLifetimeMs?: number
  /**
   * Most markets one connection carries, from the venue's per-connection stream, subscription or
   * argument limits (Binance: 1024 streams, two per market). venues/feed.ts shards by it.
   */
  readonly marketsPerConnection: number
  /** New connections per IP: at most `count` opened in any `windowMs` (shards and reconnects). */
  readonly connects: { readonly count: number; readonly windowMs: number }
  /** The REST budget per IP, shared by instrument lists, tickers and snapshots (rest-budget.ts). */
  readonly rest: RestLimits
}

/**
 * A venue's REST rate limit as a weight budget: `weight` per `windowMs`, each request costing
 * `cost(url)` (1 where the venue counts requests, not weight). Where the venue reports the weight
 * it has counted (Binance `X-MBX-USED-WEIGHT-1M`) the budget follows the venue's own figure.
 */
export interface RestLimits {
  readonly weight: number
  readonly windowMs: number
  /** The cost of one snapshot request (Binance depth at the venue's snapshot limit). */
  readonly snapshotCost: number
  /** The cost of a GET of `url` (instrument lists, tickers); 1 when absent. */
  cost?(url: URL): number
  /** Response header carrying the weight the venue counted in its current window. */
  readonly usedWeightHeader?: string
  /**
   * Statuses besides 429 and 418 with which the venue says "slow down" (Bybit: 403 and a
   * 10-minute IP ban), and how long to pause every request when it gives no `Retry-After`.
   */
  readonly pauseOn?: Readonly<Record<number, number>>
  /** REST snapshot requests in flight at once at most (default 8). */
  readonly concurrency?: number
}

/** What a venue module provides. */
export interface Venue {
  readonly id: VenueId
  /** How users see it (alerts, dashboard). */
  readonly name: string
  /**
   * False for a venue that `EXCHANGES` must name (or be `all`) to use: the six added last, whose
   * universe missed the benchmark's targets together with the first six; default true.
   */
  readonly enabledByDefault?: boolean
  /** Spot taker fee at the base tier, bps (`FEE_BPS_<VENUE>` overrides it). */
  readonly takerFeeBps: number
  /** Public production endpoints (`<VENUE>_WS_URL` / `<VENUE>_REST_URL` override them). */
  readonly endpoints: { readonly wsUrl: string; readonly restUrl: string }
  readonly sync: SyncRules
  readonly limits: VenueLimits
  /** Asset codes this venue uses for coins others name differently (venue code → unified). */
  readonly assetAliases?: AssetAliases
  ping?(): string
  /**
   * Where the venue hands out a socket per connection (KuCoin's token from `bullet-public`):
   * called before every connection attempt, through the venue's REST budget. Its URL replaces
   * `wsUrl(...)`, and its keep-alive figures replace `limits` for that connection.
   */
  openSession?(
    wsBase: string,
    restUrl: string,
    natives: readonly string[],
    opts: FetchOptions,
  ): Promise<SessionTicket>
  /** True when the venue greets each connection (`welcome`) and takes subscriptions only after. */
  readonly greets?: boolean
  /**
   * The venue's spot markets whose status is trading, unified pair → native name, from its own
   * instrument list (halted, delisted or pre-trading markets are left out).
   */
  listMarkets(restUrl: string, opts: FetchOptions): Promise<Map<Pair, string>>
  /**
   * 24 h traded volume per market in its quote asset, from the venue's public tickers (the
   * universe keeps the `MAX_MARKETS` most traded). One request where the venue allows it.
   */
  fetchVolumes?(restUrl: string, opts: FetchOptions): Promise<Map<Pair, number>>
  /**
   * Asset codes this venue uses for a different token than the other venues do (code → why).
   * Markets of these assets are never compared across venues; the universe leaves them out.
   */
  readonly distinctAssets?: Readonly<Record<string, string>>
  /**
   * Deposit and withdrawal facts per asset and network, from the venue's own endpoint: public
   * where one exists, else signed with a read-only key (`needsKey`); without one the venue's facts
   * stay unknown.
   */
  readonly transfers?: VenueTransfers
  /** The socket URL for these native markets (Binance puts its streams in the URL). */
  wsUrl(base: string, natives: readonly string[]): string
  /** Frames that subscribe to these native markets, sent after every (re)connect. */
  subscribe(natives: readonly string[]): string[]
  /**
   * True when the venue answers each subscription (an ack the parser turns into `subscribed`);
   * false when subscribing is the connection itself (Binance's streams in the URL).
   */
  readonly acksSubscriptions: boolean
  /** Frames that bring a fresh WebSocket snapshot of one market (sync.snapshot 'ws'). */
  resubscribe?(native: string): string[]
  /** Frames that ask the socket for a snapshot of one market (sync.snapshot 'request'). */
  requestSnapshot?(native: string): string[]
  /** The REST snapshot of one market (sync.snapshot 'rest'). */
  fetchSnapshot?(
    restUrl: string,
    native: string,
    pair: Pair,
    opts: FetchOptions,
  ): Promise<SnapshotEvent>
  /** A parser for one connection; `markets` maps native names back to unified pairs. */
  createParser(markets: ReadonlyMap<string, Pair>): FrameParser
  /** The simulated venue speaking this protocol on 127.0.0.1 (the demo and the tests use it). */
  simulate(markets: readonly SimMarket[]): SimVenue
}

/** How a venue tells which coins can move (see `Venue.transfers`). */
export interface VenueTransfers {
  /** True when the endpoint is signed: without credentials nothing is fetched. */
  readonly needsKey: boolean
  /** Refresh at most this often, within the venue's REST budget. */
  readonly refreshMs: number
  /**
   * Every asset's facts the venue lists (or only `assets`, where the venue asks per asset).
   * Signed requests carry `credentials`, signed exactly as the venue documents.
   * @throws ExchangeError for an HTTP failure (401/403 for a wrong key), ParseError for bad bodies
   */
  fetch(
    restUrl: string,
    opts: FetchOptions & {
      readonly credentials?: Credentials
      readonly assets: readonly string[]
      readonly nowMs: number
    },
  ): Promise<TransferFact[]>
}

/** What a transfer endpoint's reader needs besides the body: the assets asked, and the venue's codes. */
export interface ParseTransfersOptions {
  readonly assets: readonly string[]
  readonly nowMs: number
  readonly aliases?: Readonly<Record<string, string>>
  readonly distinct?: Readonly<Record<string, string>>
}

/**
 * A signed transfer endpoint (Binance, OKX, Bybit, MEXC): without a key nothing is sent and the
 * error names the variables to set; otherwise the venue's own signed `request`, its errors read by
 * `reason` (its `code`/`msg` by default), a body the venue refused with HTTP 200 turned into an
 * ExchangeError by `check`, then `parse` with the venue's asset codes (`codes`, read lazily: the
 * venue's index imports this module's users).
 */
export function signedTransfers(o: {
  readonly venue: VenueId
  readonly name: string
  readonly source: string
  readonly refreshMs: number
  /** The venue's keys come with a passphrase (OKX). */
  readonly passphrase?: boolean
  request(
    restUrl: string,
    credentials: Credentials,
    nowMs: number,
  ): { url: string; headers: Record<string, string> }
  readonly reason?: (body: Record<string, unknown>) => string | undefined
  readonly check?: (body: unknown) => void
  parse(body: unknown, opts: ParseTransfersOptions): TransferFact[]
  codes(): Promise<Pick<Venue, 'assetAliases' | 'distinctAssets'>>
}): VenueTransfers {
  const up = o.venue.toUpperCase()
  const needs = o.passphrase
    ? `${up}_API_KEY, ${up}_API_SECRET and ${up}_API_PASSPHRASE`
    : `${up}_API_KEY and ${up}_API_SECRET`
  return {
    needsKey: true,
    refreshMs: o.refreshMs,
    async fetch(restUrl, opts) {
      const credentials = opts.credentials
      if (credentials === undefined || (o.passphrase && credentials.passphrase === undefined)) {
        throw new ExchangeError(
          o.venue,
          `${o.name}'s deposit and withdrawal status needs ${needs} (a read-only key)`,
        )
      }
      const request = o.request(restUrl, credentials, opts.nowMs)
      const body = await getSignedJson(o.venue, o.source, request, opts, o.reason)
      o.check?.(body)
      const codes = await o.codes()
      return o.parse(body, {
        assets: opts.assets,
        nowMs: opts.nowMs,
        aliases: codes.assetAliases,
        distinct: codes.distinctAssets,
      })
    },
  }
}

/** A venue's socket for one connection, handed out by `openSession`. */
export interface SessionTicket {
  readonly url: string
  /** Send `ping()` this often on this connection (the venue's figure). */
  readonly pingIntervalMs?: number
  /** Reconnect when nothing arrives for this long on this connection. */
  readonly idleTimeoutMs?: number
}

/** Bad input from a venue: counted per kind, logged once per kind, never fatal. */
export class ParseError extends Error {
  override name = 'ParseError'
  constructor(
    readonly kind: 'malformed-json' | 'bad-level' | 'bad-message' | 'parser-bug',
    message: string,
    readonly pair?: Pair,
  ) {
    super(message)
  }
}

/** A failure talking to a venue (HTTP status, network); `retryAfterMs` when it said so. */
export class ExchangeError extends Error {
  override name = 'ExchangeError'
  constructor(
    readonly venue: VenueId,
    message: string,
    readonly retryAfterMs?: number,
    options?: { cause?: unknown },
  ) {
    super(message, options)
  }
}

/** `JSON.parse` that reports malformed text as a ParseError. */
export function parseJson(raw: string): unknown {
  try {
    return JSON.parse(raw)
  } catch {
    throw new ParseError('malformed-json', `malformed JSON: ${raw.slice(0, 80)}`)
  }
}

/**
 * True for a plain non-negative decimal: digits with at most one '.', no sign, exponent or spaces.
 * Venues send prices this way; anything else is bad input.
 */
export function isDecimalText(text: string): boolean {
  const n = text.length
  if (n === 0 || n > 40) return false
  let dot = false
  for (let i = 0; i < n; i++) {
    const c = text.charCodeAt(i)
    if (c === 46) {
      if (dot || i === 0 || i === n - 1) return false
      dot = true
    } else if (c < 48 || c > 57) return false
  }
  return true
}

/**
 * Validates and converts one level. Prices must be positive, quantities non-negative, both plain
 * decimal strings (numbers are accepted only from pre-quoted text, see Kraken).
 * @throws ParseError of kind 'bad-level'.
 */
export function toLevel(px: unknown, qty: unknown, pair?: Pair): Level {
  if (
    typeof px !== 'string' ||
    typeof qty !== 'string' ||
    !isDecimalText(px) ||
    !isDecimalText(qty)
  ) {
    throw new ParseError('bad-level', `bad level [${String(px)}, ${String(qty)}]`, pair)
  }
  const p = +px
  if (!(p > 0)) throw new ParseError('bad-level', `non-positive price ${px}`, pair)
  return { px: p, qty: +qty, pxText: px, qtyText: qty }
}

/** Converts `[[price, qty, ...], ...]` into levels. */
export function toLevels(rows: unknown, pair?: Pair): Level[] {
  if (!Array.isArray(rows)) throw new ParseError('bad-message', 'level list is not an array', pair)
  const out: Level[] = new Array(rows.length)
  for (let i = 0; i < rows.length; i++) {
    const row = rows[i]
    if (!Array.isArray(row)) throw new ParseError('bad-level', 'level is not an array', pair)
    out[i] = toLevel(row[0], row[1], pair)
  }
  return out
}

/** GET a JSON document, turning HTTP errors into ExchangeError (with Retry-After when given). */
export async function getJson(venue: VenueId, url: string, opts: FetchOptions): Promise<unknown> {
  let res: Response
  try {
    res = await opts.fetch(url, { signal: opts.signal, headers: { accept: 'application/json' } })
  } catch (err) {
    throw new ExchangeError(venue, `GET ${url} failed: ${(err as Error).message}`, undefined, {
      cause: err,
    })
  }
  if (!res.ok) {
    const retry = Number(res.headers.get('retry-after'))
    await res.body?.cancel()
    throw new ExchangeError(
      venue,
      `GET ${url} answered ${res.status}`,
      Number.isFinite(retry) && retry > 0 ? retry * 1000 : undefined,
    )
  }
  const text = await res.text()
  try {
    return JSON.parse(text)
  } catch {
    throw new ExchangeError(venue, `GET ${url} returned malformed JSON`)
  }
}

/** The venue's own `{code, msg}` of an error body, as `code msg`. */
const codeAndMsg = (b: Record<string, unknown>): string | undefined =>
  b.code === undefined ? undefined : `${String(b.code)} ${String(b.msg ?? '')}`.trimEnd()

/**
 * GETs a signed request and returns its JSON body. An HTTP error becomes an ExchangeError naming
 * the status and the venue's own reason (`reason` of the error body: its `code` and `msg` unless
 * told), never the key or the signature, with Retry-After kept; a body that is not JSON is a
 * ParseError. `source` names the endpoint in messages (`GET /api/v5/asset/currencies`).
 */
export async function getSignedJson(
  venue: VenueId,
  source: string,
  request: { readonly url: string; readonly headers: Record<string, string> },
  opts: FetchOptions,
  reason: (body: Record<string, unknown>) => string | undefined = codeAndMsg,
): Promise<unknown> {
  let res: Response
  try {
    res = await opts.fetch(request.url, { signal: opts.signal, headers: request.headers })
  } catch (err) {
    throw new ExchangeError(venue, `${source} failed: ${(err as Error).message}`, undefined, {
      cause: err,
    })
  }
  const text = await res.text()
  if (!res.ok) {
    let why: string | undefined
    try {
      why = reason(JSON.parse(text) as Record<string, unknown>)
    } catch {
      // not JSON: the status says it
    }
    const retry = Number(res.headers.get('retry-after'))
    throw new ExchangeError(
      venue,
      `${source} answered ${res.status}${why === undefined ? '' : `: ${why}`}`,
      Number.isFinite(retry) && retry > 0 ? retry * 1000 : undefined,
    )
  }
  try {
    return JSON.parse(text)
  } catch {
    throw new ParseError('malformed-json', `${source} returned malformed JSON`)
  }
}
