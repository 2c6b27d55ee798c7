/**
 * @module
 * One venue's live connection, written once for every venue: instrument discovery, the socket,
 * subscriptions replayed on every connect, the protocol keep-alive, an idle watchdog, planned
 * reconnects, exponential backoff with jitter, and snapshot requests for books that need one.
 * Bad input is counted per kind and logged once per kind; nothing here throws into the caller.
 */
import type { Logger } from '../log.ts'
import type { Pair, VenueId } from '../types.ts'
import {
  ExchangeError,
  ParseError,
  type BookSink,
  type Exchange,
  type ExchangeEvent,
  type FrameParser,
} from './exchange.ts'

export type ConnectionState = 'connecting' | 'connected' | 'down'

export interface ConnectionOptions {
  readonly exchange: Exchange
  readonly wsUrl: string
  readonly restUrl: string
  /** Unified pairs the user asked for. */
  readonly pairs: readonly Pair[]
  readonly sink: BookSink
  readonly log: Logger
  readonly fetch?: typeof fetch
  /** First backoff step; later steps double up to `backoffCapMs`. Jitter takes 0-50 % off. */
  readonly backoffBaseMs?: number
  readonly backoffCapMs?: number
  /** Overrides the venue's idle timeout (tests). */
  readonly idleTimeoutMs?: number
  /** How long a requested WebSocket snapshot may take before it is asked for again. */
  readonly snapshotTimeoutMs?: number
  /** Called when a pair the user asked for is not listed by the venue. */
  readonly onUnlisted?: (venue: VenueId, pairs: readonly Pair[]) => void
  /** Called for every frame after it has been applied (benchmarks and the detector's latency). */
  readonly onFrame?: (receivedAtMs: number) => void
}

export interface ConnectionStats {
  state: ConnectionState
  messages: number
  reconnects: number
  errors: Record<string, number>
  connectedSinceMs: number | undefined
  lastMessageMs: number | undefined
  /** Frames per second over the last full second (0 when the feed is silent). */
  messagesPerSec: number
  /** Last exchange-to-receive latency seen, ms (when the venue timestamps its data). */
  latencyMs: number | undefined
  /** Pairs subscribed, unified → native. */
  markets: Map<Pair, string>
  /** Pairs asked for that the venue does not list. */
  unlisted: Pair[]
}

export class Connection {
  readonly venue: VenueId
  readonly stats: ConnectionStats = {
    state: 'connecting',
    messages: 0,
    reconnects: 0,
    errors: {},
    connectedSinceMs: undefined,
    lastMessageMs: undefined,
    messagesPerSec: 0,
    latencyMs: undefined,
    markets: new Map(),
    unlisted: [],
  }

  readonly #o: ConnectionOptions
  readonly #ex: Exchange
  readonly #log: Logger
  readonly #fetch: typeof fetch
  readonly #abort = new AbortController()
  readonly #logged = new Set<string>()
  /** Snapshot requests in flight: when asked, and for which incarnation of the book. */
  readonly #pending = new Map<Pair, { atMs: number; epoch: number }>()
  #natives = new Map<string, Pair>()
  #ws: WebSocket | undefined
  #parser: FrameParser | undefined
  #epoch = 0
  #attempt = 0
  #timers = new Set<ReturnType<typeof setTimeout>>()
  #socketTimers: ReturnType<typeof setInterval>[] = []
  #sendQueue: string[] = []
  #sendTimer: ReturnType<typeof setTimeout> | undefined
  #windowStartMs = 0
  #sentInWindow = 0
  #stopped = false
  #started = false
  #rateStartMs = 0
  #rateStartCount = 0

  constructor(options: ConnectionOptions) {
    this.#o = options
    this.#ex = options.exchange
    this.venue = options.exchange.id
    this.#log = options.log.child({ venue: this.venue })
    this.#fetch = options.fetch ?? fetch
  }

  /** Discovers the venue's markets (retrying), then connects. Resolves once started. */
  start(): void {
    if (this.#started) return
    this.#started = true
    void this.#discover()
  }

  /** Closes the socket, cancels timers and requests; no reconnect follows. */
  stop(): void {
    this.#stopped = true
    this.#abort.abort()
    for (const t of this.#timers) clearTimeout(t)
    this.#timers.clear()
    this.#closeSocket(1000, 'stopping')
    this.stats.state = 'down'
  }

  /** Asks for a fresh snapshot of one book (REST fetch or resubscribe, as the venue works). */
  requestSnapshot(pair: Pair): void {
    const native = this.stats.markets.get(pair)
    if (native === undefined || this.#ws?.readyState !== WebSocket.OPEN) return
    const now = Date.now()
    const epoch = this.#o.sink.epochOf(this.venue, pair)
    const pending = this.#pending.get(pair)
    if (
      pending !== undefined &&
      pending.epoch === epoch &&
      now - pending.atMs < (this.#o.snapshotTimeoutMs ?? 10_000)
    ) {
      return
    }
    this.#pending.set(pair, { atMs: now, epoch })
    if (this.#ex.snapshotSource === 'rest') void this.#fetchSnapshot(pair, native, this.#epoch, 0)
    else for (const frame of this.#ex.resubscribe?.(native) ?? []) this.#send(frame)
  }

  async #discover(): Promise<void> {
    for (let attempt = 0; !this.#stopped; attempt++) {
      try {
        const listed = await this.#ex.listMarkets(this.#o.restUrl, {
          fetch: this.#fetch,
          signal: this.#abort.signal,
        })
        const markets = new Map<Pair, string>()
        const unlisted: Pair[] = []
        for (const pair of this.#o.pairs) {
          const native = listed.get(pair)
          if (native === undefined) unlisted.push(pair)
          else markets.set(pair, native)
        }
        this.stats.markets = markets
        this.stats.unlisted = unlisted
        this.#natives = new Map([...markets].map(([p, n]) => [n, p]))
        if (unlisted.length > 0) {
          this.#log.warn(
            { unlisted },
            `${this.venue} does not list ${unlisted.join(', ')}; not subscribed`,
          )
          this.#o.onUnlisted?.(this.venue, unlisted)
        }
        if (markets.size === 0) {
          this.#log.warn(`${this.venue} lists none of the configured markets; venue idle`)
          this.stats.state = 'down'
          return
        }
        this.#connect()
        return
      } catch (err) {
        if (this.#stopped) return
        this.#countError(
          'instruments',
          `cannot list ${this.venue} markets: ${(err as Error).message}`,
        )
        this.stats.state = 'down'
        await this.#sleep(this.#backoff(attempt, err))
      }
    }
  }

  #connect(): void {
    if (this.#stopped) return
    const epoch = ++this.#epoch
    this.stats.state = 'connecting'
    this.#pending.clear()
    const natives = [...this.stats.markets.values()]
    let ws: WebSocket
    try {
      ws = new WebSocket(this.#ex.wsUrl(this.#o.wsUrl, natives))
    } catch (err) {
      this.#countError('connect', `cannot open socket: ${(err as Error).message}`)
      this.#scheduleReconnect()
      return
    }
    ws.binaryType = 'arraybuffer'
    this.#ws = ws
    this.#parser = this.#ex.createParser(this.#natives)
    ws.onopen = () => {
      if (epoch !== this.#epoch) return
      const now = Date.now()
      this.stats.state = 'connected'
      this.stats.connectedSinceMs = now
      this.stats.lastMessageMs = now
      this.#o.sink.connectionChanged(this.venue, true, now)
      this.#log.info(`${this.venue} connected`)
      for (const frame of this.#ex.subscribe(natives)) this.#send(frame)
      this.#armSocketTimers(ws, epoch)
    }
    ws.onmessage = (msg) => {
      if (epoch !== this.#epoch) return
      const data = msg.data
      this.#onFrame(typeof data === 'string' ? data : decoder.decode(data as ArrayBuffer))
    }
    ws.onerror = () => {
      if (epoch !== this.#epoch) return
      this.#countError('socket', `${this.venue} socket error`)
    }
    ws.onclose = (ev) => {
      if (epoch !== this.#epoch) return
      this.#onClosed(`closed (${ev.code}${ev.reason ? ` ${ev.reason}` : ''})`)
    }
  }

  #onFrame(raw: string): void {
    const now = Date.now()
    const stats = this.stats
    stats.messages++
    stats.lastMessageMs = now
    if (now - this.#rateStartMs >= 1000) {
      stats.messagesPerSec =
        ((stats.messages - this.#rateStartCount) * 1000) / (now - this.#rateStartMs)
      this.#rateStartMs = now
      this.#rateStartCount = stats.messages
    }
    let events: ExchangeEvent[]
    try {
      events = this.#parser!(raw, now)
    } catch (err) {
      this.#onBadInput(err)
      return
    }
    for (let i = 0; i < events.length; i++) {
      const ev = events[i]!
      switch (ev.type) {
        case 'snapshot':
          this.#pending.delete(ev.pair)
          this.#attempt = 0
          if (ev.exchangeTsMs !== undefined) stats.latencyMs = now - ev.exchangeTsMs
          this.#toBooks(ev, now)
          break
        case 'delta':
          if (ev.exchangeTsMs !== undefined) stats.latencyMs = now - ev.exchangeTsMs
          this.#toBooks(ev, now)
          break
        case 'reset':
          this.#countError('resync', `${ev.pair ?? 'all books'}: ${ev.reason}`)
          this.#toBooks(ev, now)
          break
        case 'reconnect':
          this.#log.info(`${this.venue} asked for a reconnect: ${ev.reason}`)
          this.#plannedReconnect(ev.reason)
          return
        case 'info':
          break
        case 'venue-error':
          this.#countError('venue-error', `${this.venue} reported: ${ev.message}`)
          break
        case 'unknown':
          this.#countError('unknown-message', `unhandled ${this.venue} message: ${ev.what}`)
          break
        default: {
          const never: never = ev
          throw new Error(`unhandled event ${JSON.stringify(never)}`)
        }
      }
    }
    this.#o.onFrame?.(now)
  }

  #toBooks(ev: Parameters<BookSink['apply']>[1], now: number): void {
    const need = this.#o.sink.apply(this.venue, ev, now)
    for (let i = 0; i < need.length; i++) this.requestSnapshot(need[i]!)
  }

  /** A frame failed to parse: count it, and resync what it may have broken. */
  #onBadInput(err: unknown): void {
    if (!(err instanceof ParseError)) {
      this.#countError('parser-bug', `parser threw: ${(err as Error)?.stack ?? String(err)}`)
      this.#toBooks({ type: 'reset', reason: 'parser failure' }, Date.now())
      return
    }
    this.#countError(err.kind, err.message)
    if (err.pair !== undefined) {
      this.#toBooks({ type: 'reset', pair: err.pair, reason: err.message }, Date.now())
    } else if (!this.#ex.detectsGaps) {
      // Without sequence numbers or checksums a lost update cannot be detected later: resync now.
      this.#toBooks({ type: 'reset', reason: err.message }, Date.now())
    }
  }

  async #fetchSnapshot(pair: Pair, native: string, epoch: number, attempt: number): Promise<void> {
    const fetchSnapshot = this.#ex.fetchSnapshot
    if (!fetchSnapshot) return
    const bookEpoch = this.#o.sink.epochOf(this.venue, pair)
    try {
      const snap = await fetchSnapshot.call(this.#ex, this.#o.restUrl, native, pair, {
        fetch: this.#fetch,
        signal: this.#abort.signal,
      })
      if (epoch !== this.#epoch || this.#stopped) return
      this.#attempt = 0
      if (this.#o.sink.epochOf(this.venue, pair) !== bookEpoch) {
        // The book was reset while this was in flight: the updates it would align with are gone.
        this.#pending.delete(pair)
        this.requestSnapshot(pair)
        return
      }
      this.#pending.delete(pair)
      const need = this.#o.sink.apply(this.venue, snap, Date.now())
      if (need.includes(pair)) {
        // Older than the buffered updates (or it failed a check): ask again shortly, unless an
        // update arriving meanwhile already has.
        await this.#sleep(100 + Math.random() * 200)
        if (epoch === this.#epoch && !this.#stopped) this.requestSnapshot(pair)
      }
    } catch (err) {
      if (epoch !== this.#epoch || this.#stopped) return
      this.#countError(
        err instanceof ParseError ? err.kind : 'snapshot',
        `${pair} snapshot failed: ${(err as Error).message}`,
      )
      await this.#sleep(this.#backoff(attempt, err))
      if (epoch === this.#epoch && !this.#stopped)
        void this.#fetchSnapshot(pair, native, epoch, attempt + 1)
    }
  }

  #armSocketTimers(ws: WebSocket, epoch: number): void {
    const ex = this.#ex
    // A book still without a snapshot well after connecting (a lost or rejected resubscribe, a
    // market too quiet to send the update that triggers a REST fetch) is asked for again.
    const snapshotTimeout = this.#o.snapshotTimeoutMs ?? 10_000
    this.#socketTimers.push(
      setInterval(
        () => {
          const now = Date.now()
          if (epoch !== this.#epoch || now - (this.stats.connectedSinceMs ?? now) < snapshotTimeout)
            return
          for (const pair of this.stats.markets.keys()) {
            if (!this.#o.sink.needsSnapshot(this.venue, pair)) continue
            const pending = this.#pending.get(pair)
            if (pending === undefined || now - pending.atMs >= snapshotTimeout) {
              this.#pending.delete(pair)
              this.requestSnapshot(pair)
            }
          }
        },
        Math.max(20, Math.min(1000, snapshotTimeout / 4)),
      ),
    )
    const idle = this.#o.idleTimeoutMs ?? ex.idleTimeoutMs
    this.#socketTimers.push(
      setInterval(
        () => {
          const last = this.stats.lastMessageMs ?? 0
          if (epoch === this.#epoch && Date.now() - last > idle) {
            this.#countError('idle', `${this.venue} silent for ${idle} ms; reconnecting`)
            this.#closeSocket(4000, 'idle')
            this.#onClosed('idle watchdog')
          }
        },
        Math.max(10, Math.min(1000, idle / 4)),
      ),
    )
    if (ex.pingIntervalMs !== undefined && ex.ping) {
      const ping = ex.ping.bind(ex)
      this.#socketTimers.push(setInterval(() => this.#send(ping()), ex.pingIntervalMs))
    }
    if (ex.maxLifetimeMs !== undefined) {
      const t = setTimeout(() => this.#plannedReconnect('connection lifetime'), ex.maxLifetimeMs)
      this.#socketTimers.push(t as unknown as ReturnType<typeof setInterval>)
    }
    void ws
  }

  #plannedReconnect(reason: string): void {
    this.#closeSocket(1000, reason)
    this.#markDown()
    this.stats.reconnects++
    this.#attempt = 0
    this.#connect()
  }

  #onClosed(why: string): void {
    if (this.#stopped) return
    this.#closeSocket(1000, why)
    this.#markDown()
    this.#log.warn(`${this.venue} disconnected: ${why}`)
    this.#scheduleReconnect()
  }

  #markDown(): void {
    this.stats.state = 'down'
    this.stats.connectedSinceMs = undefined
    this.#o.sink.connectionChanged(this.venue, false, Date.now())
  }

  #scheduleReconnect(): void {
    if (this.#stopped) return
    const delay = this.#backoff(this.#attempt++)
    this.stats.reconnects++
    this.#epoch++ // late events of the dead socket are ignored
    const t = setTimeout(() => {
      this.#timers.delete(t)
      this.#connect()
    }, delay)
    this.#timers.add(t)
  }

  /** Exponential backoff with jitter: base·2^n capped, minus up to half at random. */
  #backoff(attempt: number, err?: unknown): number {
    const base = this.#o.backoffBaseMs ?? 500
    const cap = this.#o.backoffCapMs ?? 30_000
    const step = Math.min(cap, base * 2 ** Math.min(attempt, 20))
    const jittered = step * (0.5 + Math.random() * 0.5)
    const asked = err instanceof ExchangeError ? (err.retryAfterMs ?? 0) : 0
    return Math.max(jittered, asked)
  }

  #closeSocket(code: number, reason: string): void {
    for (const t of this.#socketTimers) clearInterval(t)
    this.#socketTimers = []
    if (this.#sendTimer !== undefined) clearTimeout(this.#sendTimer)
    this.#sendTimer = undefined
    this.#sendQueue = []
    const ws = this.#ws
    this.#ws = undefined
    if (ws && ws.readyState !== WebSocket.CLOSED) {
      ws.onopen = ws.onmessage = ws.onerror = ws.onclose = null
      try {
        ws.close(code, reason.slice(0, 100))
      } catch {
        // already closing: nothing left to release
      }
    }
  }

  /** Sends within the venue's outbound budget per second; the rest waits for the next window. */
  #send(frame: string): void {
    this.#sendQueue.push(frame)
    if (this.#sendTimer === undefined) this.#drain()
  }

  #drain(): void {
    this.#sendTimer = undefined
    const now = Date.now()
    if (now - this.#windowStartMs >= 1000) {
      this.#windowStartMs = now
      this.#sentInWindow = 0
    }
    const ws = this.#ws
    while (this.#sentInWindow < this.#ex.sendPerSecond && this.#sendQueue.length > 0) {
      const frame = this.#sendQueue.shift()!
      this.#sentInWindow++
      if (ws?.readyState === WebSocket.OPEN) ws.send(frame)
    }
    if (this.#sendQueue.length > 0) {
      this.#sendTimer = setTimeout(() => this.#drain(), this.#windowStartMs + 1000 - now)
    }
  }

  #countError(kind: string, message: string): void {
    this.stats.errors[kind] = (this.stats.errors[kind] ?? 0) + 1
    if (!this.#logged.has(kind)) {
      this.#logged.add(kind)
      this.#log.warn({ kind }, `${message} (further ${kind} errors are counted, not logged)`)
    }
  }

  #sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const t = setTimeout(() => {
        this.#timers.delete(t)
        resolve()
      }, ms)
      this.#timers.add(t)
    })
  }
}

const decoder = new TextDecoder()
