/**
 * @module
 * One venue's live connection, written once for every venue and read top to bottom: discover the
 * venue's markets, then loop: connect, subscribe, move frames, keep alive (protocol ping, idle
 * watchdog, planned reconnects), and on close sleep with exponential backoff and jitter. It only
 * moves frames: each frame's parsed events go out as a typed `frame` event, with `up`/`down`
 * around them; what the events mean for the books is book/sync.ts's business. Bad input is
 * counted per kind and logged once per kind; nothing here throws into the caller.
 */
import { Emitter } from '../events.ts'
import type { RateWindow } from './rest-budget.ts'
import type { Logger } from '../log.ts'
import type { Pair, VenueId } from '../types.ts'
import {
  ExchangeError,
  ParseError,
  type FrameParser,
  type SessionTicket,
  type Venue,
  type VenueEvent,
} from './venue.ts'

export type ConnectionState = 'connecting' | 'connected' | 'down'

/** What a connection announces. */
export type ConnectionEvent =
  /** The venue's instrument list was read: the pairs subscribed and those it does not list. */
  | {
      readonly type: 'listed'
      readonly markets: ReadonlyMap<Pair, string>
      readonly unlisted: readonly Pair[]
    }
  /** The socket is open and the subscriptions are on their way. */
  | { readonly type: 'up'; readonly atMs: number }
  /** The socket closed (or was closed); a reconnect follows unless the connection was stopped. */
  | { readonly type: 'down'; readonly reason: string; readonly atMs: number }
  /** One frame's events, in order. */
  | {
      readonly type: 'frame'
      readonly events: readonly VenueEvent[]
      readonly receivedAtMs: number
    }

export interface ConnectionOptions {
  readonly venue: Venue
  readonly wsUrl: string
  readonly restUrl: string
  /** Unified pairs the user asked for. */
  readonly pairs: readonly Pair[]
  readonly log: Logger
  readonly fetch?: typeof fetch
  /** First backoff step; later steps double up to `backoffCapMs` (5 s). Jitter takes 0-50 % off. */
  readonly backoffBaseMs?: number
  readonly backoffCapMs?: number
  /** Overrides the venue's idle timeout (tests). */
  readonly idleTimeoutMs?: number
  /**
   * The markets to subscribe, unified → native, when the caller has read the instrument list
   * already (the universe); the connection then lists nothing itself.
   */
  readonly markets?: ReadonlyMap<Pair, string>
  /** Awaited before every connection attempt (venues/feed.ts paces new connections per IP). */
  readonly beforeConnect?: (signal: AbortSignal) => Promise<void>
  /** The venue's per-IP outbound frame window, shared by its connections (venues/feed.ts). */
  readonly sendWindow?: RateWindow
  /** Names this connection in logs when a venue has several (`binance#2`). */
  readonly label?: string
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

/** The figures of a connection that has not connected yet. */
export function newConnectionStats(): ConnectionStats {
  return {
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
}

/** A session lasting at least this long resets the backoff (a quick accept-then-close does not). */
const HEALTHY_SESSION_MS = 5_000

interface SessionEnd {
  readonly opened: boolean
  readonly planned: boolean
  readonly why: string
  readonly lastedMs: number
}

export class Connection {
  readonly venue: VenueId
  readonly events = new Emitter<ConnectionEvent>()
  readonly stats: ConnectionStats = newConnectionStats()

  readonly #o: ConnectionOptions
  readonly #venue: Venue
  readonly #log: Logger
  readonly #fetch: typeof fetch
  readonly #abort = new AbortController()
  readonly #logged = new Set<string>()
  #ws: WebSocket | undefined
  #parser: FrameParser | undefined
  #natives: readonly string[] = []
  /** Set by a `reconnect` event: the session ends after the frame that asked for it. */
  #plannedReason: string | undefined
  #sendQueue: string[] = []
  #sendTimer: ReturnType<typeof setTimeout> | undefined
  #windowStartMs = 0
  #sentInWindow = 0
  #lastSentMs = 0
  #rateStartMs = 0
  #rateStartCount = 0
  #running: Promise<void> | undefined

  constructor(options: ConnectionOptions) {
    this.#o = options
    this.#venue = options.venue
    this.venue = options.venue.id
    this.#log = options.log.child(
      options.label === undefined
        ? { venue: this.venue }
        : { venue: this.venue, shard: options.label },
    )
    this.#fetch = options.fetch ?? fetch
  }

  /** The venue module this connection speaks for. */
  get spec(): Venue {
    return this.#venue
  }

  /** The unified pairs asked for (listed or not). */
  get pairs(): readonly Pair[] {
    return this.#o.pairs
  }

  /** How this connection is named in logs (`binance#2` for a venue's second shard). */
  get label(): string {
    return this.#o.label ?? this.venue
  }

  get restUrl(): string {
    return this.#o.restUrl
  }

  /** Aborted when the connection stops (for requests made on its behalf). */
  get signal(): AbortSignal {
    return this.#abort.signal
  }

  get fetch(): typeof fetch {
    return this.#fetch
  }

  get isUp(): boolean {
    return this.#ws?.readyState === WebSocket.OPEN && this.stats.state === 'connected'
  }

  /** Discovers the venue's markets (retrying), then connects and stays connected until stopped. */
  start(): void {
    this.#running ??= this.#run()
  }

  /** Closes the socket and cancels timers and requests; no reconnect follows. */
  async stop(): Promise<void> {
    this.#abort.abort()
    this.#clearSendQueue()
    await this.#running
    this.stats.state = 'down'
  }

  /** Sends a frame within the venue's outbound budget per second (dropped while down). */
  send(frame: string): void {
    this.#sendQueue.push(frame)
    if (this.#sendTimer === undefined) this.#drain()
  }

  /**
   * Sends a frame the venue is waiting for (HTX's pong) ahead of every queued one, still within
   * the outbound budget: a pong behind a queue of snapshot requests would come too late.
   */
  #reply(frame: string): void {
    this.#sendQueue.unshift(frame)
    if (this.#sendTimer === undefined) this.#drain()
  }

  /** Counts an error of one kind; the first of each kind is logged, the rest only counted. */
  countError(kind: string, message: string): void {
    this.stats.errors[kind] = (this.stats.errors[kind] ?? 0) + 1
    if (!this.#logged.has(kind)) {
      this.#logged.add(kind)
      this.#log.warn({ kind }, `${message} (further ${kind} errors are counted, not logged)`)
    }
  }

  async #run(): Promise<void> {
    const natives = await this.#discover()
    if (natives === undefined) {
      this.stats.state = 'down'
      return
    }
    const signal = this.#abort.signal
    for (let attempt = 0; !signal.aborted;) {
      this.stats.state = 'connecting'
      if (this.#o.beforeConnect !== undefined) {
        try {
          await this.#o.beforeConnect(signal)
        } catch {
          break // stopped while waiting for a connection slot
        }
      }
      let ticket: SessionTicket | undefined
      if (this.#venue.openSession !== undefined) {
        try {
          ticket = await this.#venue.openSession(this.#o.wsUrl, this.#o.restUrl, natives, {
            fetch: this.#fetch,
            signal,
          })
        } catch (err) {
          if (signal.aborted) break
          this.countError('session', `cannot open a ${this.venue} session: ${errorText(err)}`)
          await sleep(this.#backoff(attempt++, err), signal)
          continue
        }
      }
      const end = await this.#session(natives, ticket)
      if (end.opened) this.#markDown(end.why)
      if (signal.aborted) break
      this.stats.reconnects++
      if (end.planned) {
        this.#log.info(`${this.venue} reconnecting: ${end.why}`)
        attempt = 0
        continue
      }
      this.#log.warn(`${this.venue} disconnected: ${end.why}`)
      if (end.lastedMs >= HEALTHY_SESSION_MS) attempt = 0
      await sleep(this.#backoff(attempt++), signal)
    }
    this.stats.state = 'down'
  }

  /** Reads the venue's instrument list until it answers; undefined when stopped or none listed. */
  async #discover(): Promise<string[] | undefined> {
    const signal = this.#abort.signal
    for (let attempt = 0; !signal.aborted; attempt++) {
      try {
        const listed =
          this.#o.markets ??
          (await this.#venue.listMarkets(this.#o.restUrl, { fetch: this.#fetch, signal }))
        const markets = new Map<Pair, string>()
        const unlisted: Pair[] = []
        for (const pair of this.#o.pairs) {
          const native = listed.get(pair)
          if (native === undefined) unlisted.push(pair)
          else markets.set(pair, native)
        }
        this.stats.markets = markets
        this.stats.unlisted = unlisted
        if (unlisted.length > 0) {
          const names = unlisted.join(', ')
          this.#log.warn({ unlisted }, `${this.venue} does not list ${names}; not subscribed`)
        }
        this.events.emit({ type: 'listed', markets, unlisted })
        if (markets.size === 0) {
          this.#log.warn(`${this.venue} lists none of the configured markets; venue idle`)
          return undefined
        }
        this.#parser = this.#venue.createParser(new Map([...markets].map(([p, n]) => [n, p])))
        return [...markets.values()]
      } catch (err) {
        if (signal.aborted) return undefined
        this.countError('instruments', `cannot list ${this.venue} markets: ${errorText(err)}`)
        this.stats.state = 'down'
        await sleep(this.#backoff(attempt, err), signal)
      }
    }
    return undefined
  }

  /** One socket, from connect to close. Resolves (never rejects) with how it ended. */
  #session(natives: readonly string[], ticket?: SessionTicket): Promise<SessionEnd> {
    const venue = this.#venue
    const signal = this.#abort.signal
    const startedMs = Date.now()
    return new Promise((resolve) => {
      let ws: WebSocket
      try {
        ws = new WebSocket(ticket?.url ?? venue.wsUrl(this.#o.wsUrl, natives))
      } catch (err) {
        this.countError('connect', `cannot open socket: ${errorText(err)}`)
        resolve({ opened: false, planned: false, why: 'cannot open socket', lastedMs: 0 })
        return
      }
      ws.binaryType = 'arraybuffer'
      let opened = false
      let done = false
      const timers: ReturnType<typeof setInterval>[] = []
      const finish = (planned: boolean, why: string) => {
        if (done) return
        done = true
        signal.removeEventListener('abort', onAbort)
        for (const t of timers) clearInterval(t)
        this.#clearSendQueue()
        this.#ws = undefined
        ws.onopen = ws.onmessage = ws.onerror = ws.onclose = null
        if (ws.readyState !== WebSocket.CLOSED) {
          try {
            ws.close(1000, why.slice(0, 100))
          } catch {
            // already closing: nothing left to release
          }
        }
        resolve({ opened, planned, why, lastedMs: Date.now() - startedMs })
      }
      const onAbort = () => finish(true, 'stopping')
      signal.addEventListener('abort', onAbort, { once: true })

      ws.onopen = () => {
        opened = true
        const now = Date.now()
        this.#ws = ws
        this.#plannedReason = undefined
        this.stats.state = 'connected'
        this.stats.connectedSinceMs = now
        this.stats.lastMessageMs = now
        this.#log.info(`${this.venue} connected`)
        this.events.emit({ type: 'up', atMs: now })
        this.#natives = natives
        if (venue.greets !== true) this.#subscribe()
        const idle = this.#o.idleTimeoutMs ?? ticket?.idleTimeoutMs ?? venue.limits.idleTimeoutMs
        timers.push(
          setInterval(
            () => {
              if (Date.now() - (this.stats.lastMessageMs ?? 0) <= idle) return
              this.countError('idle', `${this.venue} silent for ${idle} ms; reconnecting`)
              finish(false, 'idle watchdog')
            },
            Math.max(10, Math.min(1000, idle / 4)),
          ),
        )
        const ping = venue.ping
        const pingEvery = ticket?.pingIntervalMs ?? venue.limits.pingIntervalMs
        if (pingEvery !== undefined && ping) {
          timers.push(setInterval(() => this.send(ping.call(venue)), pingEvery))
        }
        if (venue.limits.maxLifetimeMs !== undefined) {
          const lifetime = setTimeout(
            () => finish(true, 'connection lifetime'),
            venue.limits.maxLifetimeMs,
          )
          timers.push(lifetime as unknown as ReturnType<typeof setInterval>)
        }
      }
      ws.onmessage = (msg) => {
        this.#onFrame(msg.data as string | ArrayBuffer)
        if (this.#plannedReason !== undefined) finish(true, this.#plannedReason)
      }
      ws.onerror = () => this.countError('socket', `${this.venue} socket error`)
      ws.onclose = (ev) => finish(false, `closed (${ev.code}${ev.reason ? ` ${ev.reason}` : ''})`)
    })
  }

  /** Sends the subscriptions (at open, or at the greeting of a venue that `greets`). */
  #subscribe(): void {
    for (const frame of this.#venue.subscribe(this.#natives)) this.send(frame)
  }

  #onFrame(data: string | ArrayBuffer): void {
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
    let events: VenueEvent[]
    try {
      const parser = this.#parser!
      if (typeof data === 'string') events = parser(data, now)
      else if (parser.binary !== undefined) events = parser.binary(new Uint8Array(data), now)
      else events = parser(decoder.decode(data), now)
    } catch (err) {
      events = [this.#rejected(err)]
    }
    for (let i = 0; i < events.length; i++) {
      const ev = events[i]!
      switch (ev.type) {
        case 'snapshot':
        case 'delta':
          if (ev.exchangeTsMs !== undefined) stats.latencyMs = now - ev.exchangeTsMs
          break
        case 'rejected':
          this.countError(ev.kind, ev.message)
          break
        case 'reconnect':
          this.#log.info(`${this.venue} asked for a reconnect: ${ev.reason}`)
          this.#plannedReason = ev.reason
          break
        case 'venue-error':
          this.countError('venue-error', `${this.venue} reported: ${ev.message}`)
          break
        case 'unknown':
          this.countError('unknown-message', `unhandled ${this.venue} message: ${ev.what}`)
          break
        case 'reply':
          this.#reply(ev.frame)
          break
        case 'welcome':
          if (this.#venue.greets === true) this.#subscribe()
          break
        case 'info':
        case 'subscribed':
        case 'stream-seq':
        case 'top':
          break
        default: {
          const never: never = ev
          throw new Error(`unhandled event ${JSON.stringify(never)}`)
        }
      }
    }
    this.events.emit({ type: 'frame', events, receivedAtMs: now })
  }

  /** A frame the parser threw on, as the event that says so (a bug in ours resyncs everything). */
  #rejected(err: unknown): VenueEvent {
    if (err instanceof ParseError) {
      return err.pair === undefined
        ? { type: 'rejected', kind: err.kind, message: err.message }
        : { type: 'rejected', kind: err.kind, message: err.message, pairs: [err.pair] }
    }
    const message = `parser threw: ${(err as Error)?.stack ?? String(err)}`
    return { type: 'rejected', kind: 'parser-bug', message, all: true }
  }

  #markDown(why: string): void {
    this.stats.state = 'down'
    this.stats.connectedSinceMs = undefined
    this.events.emit({ type: 'down', reason: why, atMs: Date.now() })
  }

  /** Exponential backoff with jitter: base·2^n capped, minus up to half at random. */
  #backoff(attempt: number, err?: unknown): number {
    // Capped at 5 s: once a venue accepts again the books are back within seconds, and one
    // attempt per 2.5-5 s stays far inside every venue's connection-rate limit.
    return backoffMs(attempt, this.#o.backoffBaseMs ?? 500, this.#o.backoffCapMs ?? 5_000, err)
  }

  #clearSendQueue(): void {
    if (this.#sendTimer !== undefined) clearTimeout(this.#sendTimer)
    this.#sendTimer = undefined
    this.#sendQueue = []
  }

  #drain(): void {
    this.#sendTimer = undefined
    const now = Date.now()
    if (now - this.#windowStartMs >= 1000) {
      this.#windowStartMs = now
      this.#sentInWindow = 0
    }
    const ws = this.#ws
    const shared = this.#o.sendWindow
    const gapMs = this.#venue.limits.minSendIntervalMs ?? 0
    let waitMs = 0
    while (this.#sentInWindow < this.#venue.limits.sendPerSecond && this.#sendQueue.length > 0) {
      if (gapMs > 0 && now - this.#lastSentMs < gapMs) {
        waitMs = this.#lastSentMs + gapMs - now
        break
      }
      if (shared !== undefined && (waitMs = shared.tryTake(1)) > 0) break
      const frame = this.#sendQueue.shift()!
      this.#sentInWindow++
      this.#lastSentMs = now
      if (ws?.readyState === WebSocket.OPEN) ws.send(frame)
    }
    if (this.#sendQueue.length > 0) {
      if (waitMs <= 0) waitMs = this.#windowStartMs + 1000 - now
      this.#sendTimer = setTimeout(() => this.#drain(), waitMs)
    }
  }
}

/**
 * Exponential backoff with jitter: base·2^attempt capped, minus up to half at random, and never
 * less than the venue's Retry-After when it gave one.
 */
export function backoffMs(attempt: number, baseMs: number, capMs: number, err?: unknown): number {
  const step = Math.min(capMs, baseMs * 2 ** Math.min(attempt, 20))
  const jittered = step * (0.5 + Math.random() * 0.5)
  const asked = err instanceof ExchangeError ? (err.retryAfterMs ?? 0) : 0
  return Math.max(jittered, asked)
}

/** Resolves after `ms`, or at once when `signal` aborts. */
export function sleep(ms: number, signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.resolve()
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer)
      signal.removeEventListener('abort', done)
      resolve()
    }
    const timer = setTimeout(done, ms)
    signal.addEventListener('abort', done, { once: true })
  })
}

const errorText = (err: unknown): string => (err instanceof Error ? err.message : String(err))

const decoder = new TextDecoder()
