/**
 * @module
 * Writes messages to Redis streams in order, within a bound, through outages.
 *
 * Messages published in one turn of the event loop go out as one stream entry per stream
 * (`XADD <stream> MAXLEN ~ <cap> * s <src> k <n> m <json>`), one entry in flight per stream, so
 * entries land in the order they were made and a busy stream batches by itself while it waits
 * for Redis. An entry that fails is kept and sent again with the same number (a consumer drops a
 * number it has seen, so a retry of an entry that did land is harmless). While Redis is away the
 * messages wait, up to `maxBuffered` over all streams; past that the oldest of the stream are
 * dropped and counted, and the stream's next entry skips a number, which its consumers see as
 * a gap (they wait for the next snapshot; the book publisher sends one for every book once Redis
 * is back).
 */
import type { RedisClient } from 'bun'
import { Emitter } from '../events.ts'
import { sleep } from '../venues/connection.ts'
import type { Logger } from '../log.ts'
import { encodeBatch } from './codec.ts'
import { connectWithin, redisErrorText } from './redis.ts'

export type PublisherEvent =
  /** Writes failed: Redis is unreachable or refused (`error` says why). */
  | { readonly type: 'down'; readonly error: string }
  /** Writes succeed again after being down. */
  | { readonly type: 'up' }
  /** Messages were dropped from a stream's buffer (the bound was reached while down). */
  | { readonly type: 'dropped'; readonly stream: string; readonly messages: number }
  /** An entry was written. */
  | {
      readonly type: 'written'
      readonly stream: string
      readonly k: number
      readonly messages: number
    }

export interface StreamStats {
  /** Messages written to Redis. */
  published: number
  /** Entries written. */
  entries: number
  /** Messages dropped because the buffer was full. */
  dropped: number
}

export interface PublisherOptions {
  readonly client: RedisClient
  /** Approximate cap of every stream (`MAXLEN ~`). */
  readonly maxLen: number
  /** Messages held over all streams while Redis is away, at most. */
  readonly maxBuffered: number
  /** Messages per entry, at most (a backlog after an outage goes out in entries of this size). */
  readonly batchMax?: number
  /** This process's name on the streams (default: random). */
  readonly src?: string
  readonly log: Logger
}

interface StreamState {
  readonly name: string
  pending: unknown[]
  /** Each pending message's estimated encoded size, bytes. */
  sizes: number[]
  inflight: { k: number; messages: unknown[] } | undefined
  k: number
  /** Messages were dropped since the last entry was made: the next one skips a number. */
  lost: boolean
  pumping: boolean
  readonly stats: StreamStats
}

/** An entry holds messages of about this many bytes at most (one bigger message goes alone). */
export const MAX_ENTRY_BYTES = 256 * 1024

const RETRY_FIRST_MS = 100
const RETRY_MAX_MS = 2_000
export class StreamPublisher {
  readonly events = new Emitter<PublisherEvent>()
  readonly src: string
  readonly #o: PublisherOptions
  readonly #log: Logger
  readonly #streams = new Map<string, StreamState>()
  readonly #idle: (() => void)[] = []
  #buffered = 0
  #down: string | undefined
  #scheduled = false
  #stopped = false
  /** Aborted by stop(): wakes every retry that waits. */
  readonly #abort = new AbortController()

  constructor(options: PublisherOptions) {
    this.#o = options
    this.src = options.src ?? crypto.randomUUID().slice(0, 8)
    this.#log = options.log.child({ component: 'bus-publisher' })
  }

  /** True while writes fail. */
  get down(): boolean {
    return this.#down !== undefined
  }

  /** Messages waiting to be written, over all streams. */
  get buffered(): number {
    return this.#buffered
  }

  /** Each stream's counts so far. */
  streamStats(): ReadonlyMap<string, Readonly<StreamStats>> {
    return new Map([...this.#streams].map(([name, s]) => [name, s.stats]))
  }

  /**
   * Queues one message; it is written with the others of this turn of the event loop. `bytes` is
   * its encoded size, roughly (entries are cut at `MAX_ENTRY_BYTES`, so a round of snapshots does
   * not hold the deltas behind one huge entry).
   */
  publish(stream: string, message: unknown, bytes = 64): void {
    if (this.#stopped) return
    const s = this.#state(stream)
    s.pending.push(message)
    s.sizes.push(bytes)
    this.#buffered++
    if (this.#buffered > this.#o.maxBuffered) this.#drop(s)
    if (!this.#scheduled) {
      this.#scheduled = true
      setImmediate(() => {
        this.#scheduled = false
        for (const st of this.#streams.values()) if (!st.pumping) void this.#pump(st)
      })
    }
  }

  /** Resolves once everything queued so far is written (or dropped). */
  flushed(): Promise<void> {
    if (this.#buffered === 0) return Promise.resolve()
    return new Promise((resolve) => this.#idle.push(resolve))
  }

  /** Writes what is queued (waiting at most `graceMs`), then stops taking messages. */
  async stop(graceMs = 2_000): Promise<void> {
    if (this.#stopped) return
    let timer: ReturnType<typeof setTimeout> | undefined
    await Promise.race([this.flushed(), new Promise<void>((r) => (timer = setTimeout(r, graceMs)))])
    clearTimeout(timer)
    this.#stopped = true
    this.#abort.abort()
    if (this.#buffered > 0) {
      this.#log.warn({ messages: this.#buffered }, 'bus: stopped with messages not yet written')
    }
  }

  #state(stream: string): StreamState {
    let s = this.#streams.get(stream)
    if (s === undefined) {
      s = {
        name: stream,
        pending: [],
        sizes: [],
        inflight: undefined,
        k: 0,
        lost: false,
        pumping: false,
        stats: { published: 0, entries: 0, dropped: 0 },
      }
      this.#streams.set(stream, s)
    }
    return s
  }

  /** The bound is reached: the oldest messages not yet in an entry go. */
  #drop(s: StreamState): void {
    const excess = this.#buffered - this.#o.maxBuffered
    const n = Math.min(excess, s.pending.length)
    if (n <= 0) return
    s.pending.splice(0, n)
    s.sizes.splice(0, n)
    this.#buffered -= n
    s.stats.dropped += n
    s.lost = true
    this.events.emit({ type: 'dropped', stream: s.name, messages: n })
  }

  async #pump(s: StreamState): Promise<void> {
    s.pumping = true
    let retryMs = RETRY_FIRST_MS
    try {
      while (!this.#stopped && (s.inflight !== undefined || s.pending.length > 0)) {
        if (s.inflight === undefined) {
          // An entry in flight cannot be dropped: it holds at most a quarter of the bound, so a
          // backlog always leaves room for the newest messages (and the re-snapshots after it).
          const most = Math.max(1, Math.min(this.#o.batchMax ?? 2_000, this.#o.maxBuffered >> 2))
          let n = 0
          let bytes = 0
          while (
            n < most &&
            n < s.pending.length &&
            (n === 0 || bytes + s.sizes[n]! <= MAX_ENTRY_BYTES)
          ) {
            bytes += s.sizes[n]!
            n++
          }
          const messages = s.pending.splice(0, n)
          s.sizes.splice(0, n)
          s.k += s.lost ? 2 : 1
          s.lost = false
          s.inflight = { k: s.k, messages }
        }
        const entry = s.inflight
        try {
          await connectWithin(this.#o.client)
          await this.#o.client.send('XADD', [
            s.name,
            'MAXLEN',
            '~',
            String(this.#o.maxLen),
            '*',
            ...encodeBatch(this.src, entry.k, entry.messages),
          ])
        } catch (err) {
          this.#markDown(redisErrorText(err))
          await sleep(retryMs, this.#abort.signal)
          retryMs = Math.min(retryMs * 2, RETRY_MAX_MS)
          continue
        }
        retryMs = RETRY_FIRST_MS
        s.inflight = undefined
        this.#buffered -= entry.messages.length
        s.stats.published += entry.messages.length
        s.stats.entries++
        if (this.#down !== undefined) {
          this.#log.info(`bus: writing again (was: ${this.#down})`)
          this.#down = undefined
          this.events.emit({ type: 'up' })
        }
        this.events.emit({
          type: 'written',
          stream: s.name,
          k: entry.k,
          messages: entry.messages.length,
        })
      }
    } finally {
      s.pumping = false
      if (this.#buffered === 0) for (const resolve of this.#idle.splice(0)) resolve()
    }
  }

  #markDown(error: string): void {
    if (this.#down !== undefined) return
    this.#down = error
    this.#log.warn(`bus: cannot write to Redis (${error}); buffering up to ${this.#o.maxBuffered}`)
    this.events.emit({ type: 'down', error })
  }
}
