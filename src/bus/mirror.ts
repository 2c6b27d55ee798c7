/**
 * @module
 * The core side of the bus (`ROLE=core`): the books of every venue rebuilt from the ingest
 * shards' streams, into the same `Books` the detector, the API and the metrics read in one
 * process. A book is rebuilt from a snapshot plus the deltas after it; until a snapshot arrives
 * (at start, after a gap in the stream or a restarted shard) its deltas are skipped and counted,
 * so a book is never built from part of its changes. Quote ages count from the shard's receive
 * time. A venue whose stream says nothing (not even its heartbeat) for `silentMs` has its books
 * made stale with the reason "ingest shard silent"; they come back with the stream.
 *
 * It reads every venue stream with one consumer group (`XREADGROUP … NOACK`: a book stream needs
 * no acknowledgements, what matters is its position). On start the group is moved to a little
 * before the last snapshot round, since books held in memory are gone anyway; through an outage it
 * keeps its position, and a Redis that came back without its data gets the group again from the
 * stream's start.
 */
import type { RedisClient } from 'bun'
import type { StatusSource } from '../api/status.ts'
import {
  applyDelta,
  applySnapshot as replaceBook,
  truncateBook,
  type OrderBook,
} from '../book/book.ts'
import type { BookEntry, Books } from '../book/books.ts'
import { Emitter } from '../events.ts'
import { sleep } from '../venues/connection.ts'
import type { Logger } from '../log.ts'
import type { Level, Pair, VenueId } from '../types.ts'
import { newConnectionStats, type ConnectionStats } from '../venues/connection.ts'
import type { DeltaEvent } from '../venues/venue.ts'
import {
  bookMessageOf,
  BusDecodeError,
  decodeBatch,
  entryTimeMs,
  levelsOf,
  streamNames,
  type BookMessage,
} from './codec.ts'
import { connectWithin, isNoGroup, redisErrorText } from './redis.ts'

export type MirrorEvent =
  /** A venue's stream went quiet: its live books were made stale. */
  | { readonly type: 'silent'; readonly venue: VenueId; readonly books: number }
  /** A venue's stream speaks again after being silent. */
  | { readonly type: 'resumed'; readonly venue: VenueId }
  /** Entries of a venue's stream were missed, or its shard restarted: its books wait. */
  | { readonly type: 'gap'; readonly venue: VenueId; readonly why: string }
  /** A stream entry was read and applied. */
  | {
      readonly type: 'entry'
      readonly venue: VenueId
      readonly messages: number
      readonly lagMs: number
    }
  /** Redis could not be read (`error`), or can be again (`error` undefined). */
  | { readonly type: 'down'; readonly error: string }
  | { readonly type: 'up' }

export interface MirrorStats {
  entries: number
  messages: number
  /** Entries seen twice (a publisher's retry of an entry that had landed). */
  duplicates: number
  /** Gaps in a stream, and shard restarts. */
  gaps: number
  /** Deltas skipped because their book was waiting for a snapshot. */
  waiting: number
  /** Entries or messages that could not be read. */
  bad: number
  /** Periodic snapshots that differed from the rebuilt book (zero unless something is wrong). */
  mismatches: number
}

export interface BookMirrorOptions {
  readonly client: RedisClient
  readonly books: Books
  readonly venues: readonly VenueId[]
  readonly prefix: string
  readonly group: string
  readonly consumer: string
  /** How long a stream may be quiet before its books are stale (ms). */
  readonly silentMs: number
  /** Where a new group starts reading: this long before now (ms), to catch a snapshot round. */
  readonly joinBackMs: number
  readonly log: Logger
}

interface StreamState {
  readonly venue: VenueId
  readonly name: string
  src: string | undefined
  k: number
  lastMs: number
  silent: boolean
  /** When the last entry was assigned its id by Redis, ms (its lag is now minus this). */
  lastEntryMs: number | undefined
  readonly status: ConnectionStats
  /** Messages in the current second, for `messagesPerSec`. */
  second: number
  secondCount: number
}

interface Mirrored {
  readonly entry: BookEntry
  /** A snapshot arrived and nothing since was missed. */
  synced: boolean
  depth: number | undefined
  /** Made stale because its shard went silent (it comes back when the stream does, unbroken). */
  silenced: boolean
}

const READ_COUNT = '2000'
const BLOCK_MS = '500'
const RETRY_MAX_MS = 2_000

export class BookMirror {
  readonly events = new Emitter<MirrorEvent>()
  readonly stats: MirrorStats = {
    entries: 0,
    messages: 0,
    duplicates: 0,
    gaps: 0,
    waiting: 0,
    bad: 0,
    mismatches: 0,
  }
  readonly #o: BookMirrorOptions
  readonly #log: Logger
  readonly #streams = new Map<string, StreamState>()
  readonly #books = new Map<VenueId, Map<Pair, Mirrored>>()
  #running: Promise<void> | undefined
  #stopped = false
  #down: string | undefined
  #watch: ReturnType<typeof setInterval> | undefined
  /** Aborted by stop(): wakes every retry that waits. */
  readonly #abort = new AbortController()
  #logged = new Set<string>()

  constructor(options: BookMirrorOptions) {
    this.#o = options
    this.#log = options.log.child({ component: 'bus-mirror' })
    const names = streamNames(options.prefix)
    const now = Date.now()
    for (const venue of options.venues) {
      const name = names.books(venue)
      this.#streams.set(name, {
        venue,
        name,
        src: undefined,
        k: 0,
        lastMs: now,
        silent: false,
        lastEntryMs: undefined,
        second: 0,
        secondCount: 0,
        status: newConnectionStats(),
      })
      this.#books.set(venue, new Map())
    }
  }

  /** One status source per venue: its stream, as `/api/status` and `/metrics` show connections. */
  get sources(): readonly StatusSource[] {
    return [...this.#streams.values()].map((s) => ({ venue: s.venue, stats: s.status }))
  }

  /** Each venue stream's lag: now minus when its last entry was written (null before any). */
  lags(now = Date.now()): { venue: VenueId; stream: string; lagMs: number | null }[] {
    return [...this.#streams.values()].map((s) => ({
      venue: s.venue,
      stream: s.name,
      lagMs: s.lastEntryMs === undefined ? null : Math.max(0, now - s.lastEntryMs),
    }))
  }

  /** True while Redis cannot be read. */
  get down(): boolean {
    return this.#down !== undefined
  }

  /** Moves the group to the join point and starts reading; resolves once the group is in place. */
  async start(): Promise<void> {
    this.#watch = setInterval(() => this.#checkSilence(), 100)
    let ready: () => void
    const placed = new Promise<void>((r) => (ready = r))
    this.#running = this.#loop(() => ready())
    // The first placement waits for Redis at most a moment: the loop keeps trying after that.
    await Promise.race([placed, Bun.sleep(3_000)])
  }

  async stop(): Promise<void> {
    this.#stopped = true
    clearInterval(this.#watch)
    this.#abort.abort()
    await this.#running
  }

  async #loop(placed: () => void): Promise<void> {
    const { client, group, consumer } = this.#o
    const names = [...this.#streams.keys()]
    const args = [
      'GROUP',
      group,
      consumer,
      'COUNT',
      READ_COUNT,
      'BLOCK',
      BLOCK_MS,
      'NOACK',
      'STREAMS',
      ...names,
      ...names.map(() => '>'),
    ]
    let joined = false
    let retryMs = 100
    while (!this.#stopped) {
      try {
        await connectWithin(client)
        if (!joined) {
          await this.#join(`${Date.now() - this.#o.joinBackMs}-0`, true)
          joined = true
          placed()
        }
        const res = await client.send('XREADGROUP', args)
        this.#markUp()
        retryMs = 100
        if (res !== null && res !== undefined) this.#onRead(res)
      } catch (err) {
        if (this.#stopped) break
        if (isNoGroup(err)) {
          // Redis came back without the streams (no persistence): the group starts at their start.
          this.#log.warn('bus: consumer group missing (Redis restarted empty?); creating it again')
          try {
            await this.#join('0', false)
            continue
          } catch (e) {
            err = e
          }
        }
        this.#markDown(redisErrorText(err))
        await sleep(retryMs, this.#abort.signal)
        retryMs = Math.min(retryMs * 2, RETRY_MAX_MS)
      }
    }
  }

  /** Creates the group on every stream at `id`, or (when `move`) moves an existing one there. */
  async #join(id: string, move: boolean): Promise<void> {
    const { client, group } = this.#o
    for (const name of this.#streams.keys()) {
      try {
        await client.send('XGROUP', ['CREATE', name, group, id, 'MKSTREAM'])
      } catch (err) {
        if (!/BUSYGROUP/.test(redisErrorText(err))) throw err
        if (move) await client.send('XGROUP', ['SETID', name, group, id])
      }
    }
  }

  /** `XREADGROUP`'s answer: a map (RESP3) or a list (RESP2) of streams and their entries. */
  #onRead(res: unknown): void {
    const streams: [string, unknown][] = Array.isArray(res)
      ? (res as [string, unknown][])
      : Object.entries(res as Record<string, unknown>)
    for (const [name, entries] of streams) {
      const st = this.#streams.get(name)
      if (st === undefined || !Array.isArray(entries)) continue
      for (const item of entries as [string, string[]][]) this.#onEntry(st, item[0], item[1])
    }
  }

  #onEntry(st: StreamState, id: string, fields: string[]): void {
    const now = Date.now()
    let batch: ReturnType<typeof decodeBatch>
    try {
      batch = decodeBatch(fields)
    } catch (err) {
      this.#bad(st, err)
      return
    }
    st.lastMs = now
    st.lastEntryMs = entryTimeMs(id)
    let unbroken = true
    if (batch.src !== st.src) {
      if (st.src !== undefined) this.#gap(st, 'its ingest shard restarted')
      st.src = batch.src
      unbroken = false
    } else if (batch.k <= st.k) {
      this.stats.duplicates++
      return
    } else if (batch.k > st.k + 1) {
      this.#gap(st, `${batch.k - st.k - 1} stream entries were lost`)
      unbroken = false
    }
    st.k = batch.k
    if (st.silent) {
      st.silent = false
      // The stream went on where it stopped: the books it silenced are exact, and live again
      // (their quotes keep their age, so the detector still judges their freshness).
      if (unbroken) {
        for (const m of this.#books.get(st.venue)!.values()) {
          if (!m.silenced || !m.synced) continue
          m.silenced = false
          this.#changed(m.entry, m.entry.lastUpdateMs, undefined, false)
        }
      }
      this.events.emit({ type: 'resumed', venue: st.venue })
      this.#log.info(`${st.venue}: its ingest shard is publishing again`)
    }
    this.stats.entries++
    const status = st.status
    for (const raw of batch.messages) {
      let m: BookMessage
      try {
        m = bookMessageOf(raw)
        this.#apply(st, m, now)
      } catch (err) {
        this.#bad(st, err)
        continue
      }
      this.stats.messages++
      status.messages++
    }
    status.lastMessageMs = now
    const second = Math.floor(now / 1000)
    if (second !== st.second) {
      status.messagesPerSec = second === st.second + 1 ? st.secondCount : 0
      st.second = second
      st.secondCount = 0
    }
    st.secondCount += batch.messages.length
    this.events.emit({
      type: 'entry',
      venue: st.venue,
      messages: batch.messages.length,
      lagMs: now - st.lastEntryMs,
    })
  }

  #apply(st: StreamState, m: BookMessage, now: number): void {
    const venue = st.venue
    switch (m.t) {
      case 'h': {
        const s = st.status
        // Up when any of the shard's connections for the venue is (each carries a share of its
        // books, which say for themselves whether they are live); none yet is still connecting.
        const state = m.u > 0 ? 'connected' : m.c === 0 ? 'connecting' : 'down'
        if (s.state !== state) {
          if (state === 'connected') s.connectedSinceMs = now
          s.state = state
        }
        return
      }
      case 's': {
        const bids = levelsOf(m.b)
        const asks = levelsOf(m.a)
        const mirrored = this.#mirrored(st, m.p)
        const e = mirrored.entry
        if (mirrored.synced && e.state === 'live' && sameBook(e.book, bids, asks)) {
          e.lastUpdateMs = Math.max(e.lastUpdateMs, m.r)
          return
        }
        // Only a periodic copy says what the book already is; any other snapshot replaces it.
        if (mirrored.synced && e.state === 'live' && m.c === 1) {
          this.stats.mismatches++
          this.#once(`mismatch:${venue}`, `${venue} ${m.p}: a snapshot differed from the book`)
        }
        replaceBook(e.book, bids, asks)
        mirrored.depth = m.d
        mirrored.synced = true
        mirrored.silenced = false
        e.hasSnapshot = true
        e.lastSeq = m.q
        e.exchangeTsMs = m.x
        this.#changed(e, m.r, undefined)
        return
      }
      case 'd': {
        const mirrored = this.#mirrored(st, m.p)
        if (!mirrored.synced) {
          this.stats.waiting++
          return
        }
        const bids = levelsOf(m.b)
        const asks = levelsOf(m.a)
        const e = mirrored.entry
        mirrored.silenced = false
        applyDelta(e.book, bids, asks)
        if (mirrored.depth !== undefined) truncateBook(e.book, mirrored.depth)
        e.lastSeq = m.q
        if (m.x !== undefined) e.exchangeTsMs = m.x
        if (m.x !== undefined) st.status.latencyMs = m.r - m.x
        this.#changed(e, m.r, {
          type: 'delta',
          pair: m.p,
          bids,
          asks,
          seq: m.q,
          exchangeTsMs: m.x,
        })
        return
      }
      case 'i': {
        const mirrored = this.#books.get(venue)!.get(m.p)
        if (mirrored === undefined) return
        mirrored.synced = false
        this.#invalidate(mirrored.entry, m.why)
        return
      }
      case 'r': {
        const books = this.#books.get(venue)!
        if (!books.has(m.p)) return
        books.delete(m.p)
        st.status.markets.delete(m.p)
        this.#o.books.remove(venue, [m.p], m.why)
        return
      }
    }
  }

  #changed(e: BookEntry, receivedAtMs: number, delta: DeltaEvent | undefined, counts = true): void {
    const books = this.#o.books
    e.lastUpdateMs = receivedAtMs
    if (counts) e.updates++
    if (e.state !== 'live') {
      e.state = 'live'
      e.syncNote = undefined
      books.events.emit({ type: 'live', entry: e, atMs: receivedAtMs })
    }
    books.events.emit({ type: 'update', entry: e, receivedAtMs, delta })
  }

  #mirrored(st: StreamState, pair: Pair): Mirrored {
    const books = this.#books.get(st.venue)!
    let m = books.get(pair)
    if (m === undefined) {
      const entry = this.#o.books.addVenue(st.venue, [pair]).get(pair)!
      entry.syncNote = 'waiting for the ingest shard’s next snapshot'
      m = { entry, synced: false, depth: undefined, silenced: false }
      books.set(pair, m)
      st.status.markets.set(pair, pair)
    }
    return m
  }

  #invalidate(e: BookEntry, reason: string): void {
    if (e.state !== 'live') return
    e.state = 'stale'
    this.#o.books.events.emit({ type: 'invalid', entry: e, reason })
  }

  /** Entries were missed: every book of the venue waits for its next snapshot. */
  #gap(st: StreamState, why: string): void {
    this.stats.gaps++
    this.#log.warn(`${st.venue}: ${why}; its books wait for the next snapshot`)
    for (const m of this.#books.get(st.venue)!.values()) {
      m.synced = false
      m.silenced = false
      m.entry.syncNote = `${why}; waiting for the next snapshot`
      if (m.entry.state === 'live') {
        m.entry.state = 'syncing'
        this.#o.books.events.emit({ type: 'invalid', entry: m.entry, reason: `bus: ${why}` })
      } else if (m.entry.state === 'stale') m.entry.state = 'syncing'
    }
    this.events.emit({ type: 'gap', venue: st.venue, why })
  }

  #checkSilence(): void {
    const now = Date.now()
    for (const st of this.#streams.values()) {
      if (st.silent || now - st.lastMs <= this.#o.silentMs) continue
      st.silent = true
      st.status.state = 'down'
      st.status.messagesPerSec = 0
      st.status.errors['ingest shard silent'] = (st.status.errors['ingest shard silent'] ?? 0) + 1
      let n = 0
      for (const m of this.#books.get(st.venue)!.values()) {
        if (m.entry.state !== 'live') continue
        n++
        m.silenced = true
        this.#invalidate(m.entry, 'ingest shard silent')
      }
      this.#log.warn(
        `${st.venue}: nothing from its ingest shard for ${this.#o.silentMs} ms; ${n} book(s) stale`,
      )
      this.events.emit({ type: 'silent', venue: st.venue, books: n })
    }
  }

  #bad(st: StreamState, err: unknown): void {
    this.stats.bad++
    st.status.errors['bad bus entry'] = (st.status.errors['bad bus entry'] ?? 0) + 1
    const message = err instanceof BusDecodeError ? err.message : redisErrorText(err)
    this.#once(`bad:${st.venue}:${message}`, `${st.venue}: dropped a bus message: ${message}`)
  }

  #once(key: string, message: string): void {
    if (this.#logged.has(key)) return
    this.#logged.add(key)
    this.#log.warn(message)
  }

  #markDown(error: string): void {
    if (this.#down !== undefined) return
    this.#down = error
    this.#log.warn(`bus: cannot read from Redis (${error}); retrying`)
    this.events.emit({ type: 'down', error })
  }

  #markUp(): void {
    if (this.#down === undefined) return
    this.#log.info(`bus: reading again (was: ${this.#down})`)
    this.#down = undefined
    this.events.emit({ type: 'up' })
  }
}

/** True when a side list equals the book's, level by level (text included). */
function sameBook(book: OrderBook, bids: readonly Level[], asks: readonly Level[]): boolean {
  return sameSide(book.bids, bids) && sameSide(book.asks, asks)
}

function sameSide(side: readonly Level[], levels: readonly Level[]): boolean {
  if (side.length !== levels.length) return false
  for (let i = 0; i < side.length; i++) {
    if (side[i]!.pxText !== levels[i]!.pxText || side[i]!.qtyText !== levels[i]!.qtyText) {
      return false
    }
  }
  return true
}
