/**
 * @module
 * The ingest side of the bus (`ROLE=ingest`): every verified change of this shard's books goes to
 * its venue's stream. Only what book/sync.ts accepted is published (its `update`, `invalid` and
 * `removed` events); a book joins the stream with a snapshot when it goes live, again every
 * `snapshotMs` so a consumer can join at any time, and again after the stream lost entries (the
 * publisher's bound was reached while Redis was away) or may have (Redis came back after an
 * outage, possibly without its data). A heartbeat per venue every `heartbeatMs`
 * tells consumers the shard is alive when a venue is quiet.
 */
import type { BookEntry, Books } from '../book/books.ts'
import type { StatusSource } from '../api/status.ts'
import type { VenueId } from '../types.ts'
import { streamNames, wireLevels, type BookMessage } from './codec.ts'
import type { StreamPublisher } from './publisher.ts'

export interface BookPublisherOptions {
  readonly books: Books
  /** The venues this shard keeps; books of other venues are not published. */
  readonly venues: readonly VenueId[]
  readonly publisher: StreamPublisher
  readonly prefix: string
  /** How often each live book is published whole (ms). */
  readonly snapshotMs: number
  readonly heartbeatMs?: number
  /** Levels a venue keeps per side, when it has a fixed depth (its sync rules' `maxDepth`). */
  readonly depthOf: (venue: VenueId) => number | undefined
  /** The shard's connections, for the heartbeat's counts. */
  readonly connections: () => readonly StatusSource[]
}

interface Published {
  /** The stream has this book's state: a snapshot went out and nothing since was lost. */
  synced: boolean
  /** When the last snapshot went out, local ms. */
  snapshotAtMs: number
}

/** How often the periodic snapshots and re-snapshots are looked for. */
const TICK_MS = 250

export class BookPublisher {
  readonly #o: BookPublisherOptions
  readonly #venues: ReadonlySet<VenueId>
  readonly #streams: ReadonlyMap<VenueId, string>
  readonly #state = new WeakMap<BookEntry, Published>()
  readonly #off: (() => void)[] = []
  #tick: ReturnType<typeof setInterval> | undefined
  #heartbeat: ReturnType<typeof setInterval> | undefined
  /** Snapshots sent, deltas sent (for tests and logs). */
  readonly counts = { snapshots: 0, deltas: 0, invalid: 0, removed: 0 }

  constructor(options: BookPublisherOptions) {
    this.#o = options
    this.#venues = new Set(options.venues)
    const names = streamNames(options.prefix)
    this.#streams = new Map(options.venues.map((v) => [v, names.books(v)]))
  }

  start(): void {
    const { books, publisher } = this.#o
    this.#off.push(
      books.events.on((e) => {
        switch (e.type) {
          case 'update': {
            if (!this.#venues.has(e.entry.venue)) return
            const st = this.#state.get(e.entry)
            if (e.delta === undefined || st === undefined || !st.synced) this.#snapshot(e.entry)
            else {
              this.#send(e.entry.venue, {
                t: 'd',
                p: e.entry.pair,
                q: e.entry.lastSeq,
                x: e.delta.exchangeTsMs,
                r: e.receivedAtMs,
                b: wireLevels(e.delta.bids),
                a: wireLevels(e.delta.asks),
              })
              this.counts.deltas++
            }
            return
          }
          case 'invalid': {
            if (!this.#venues.has(e.entry.venue)) return
            const st = this.#state.get(e.entry)
            if (st !== undefined) st.synced = false
            this.#send(e.entry.venue, { t: 'i', p: e.entry.pair, why: e.reason })
            this.counts.invalid++
            return
          }
          case 'removed':
            for (const entry of e.entries) {
              if (!this.#venues.has(entry.venue)) continue
              this.#send(entry.venue, { t: 'r', p: entry.pair, why: e.reason })
              this.counts.removed++
            }
            return
        }
      }),
      // Entries were lost from a venue's stream (the buffer's bound), or may have been (Redis
      // came back, perhaps without what it had taken and no consumer had read yet): the books go
      // out whole again, so a consumer that saw a gap waits only until the next tick.
      publisher.events.on((e) => {
        if (e.type !== 'dropped' && e.type !== 'up') return
        for (const [venue, stream] of this.#streams) {
          if (e.type === 'dropped' && stream !== e.stream) continue
          for (const entry of books.ofVenue(venue)) {
            const st = this.#state.get(entry)
            if (st !== undefined) st.synced = false
          }
        }
      }),
    )
    this.#tick = setInterval(() => this.#periodic(), TICK_MS)
    this.#heartbeat = setInterval(() => this.#beat(), this.#o.heartbeatMs ?? 500)
    this.#beat()
  }

  stop(): void {
    for (const off of this.#off.splice(0)) off()
    clearInterval(this.#tick)
    clearInterval(this.#heartbeat)
  }

  /** Live books whose snapshot is due, or whose stream lost entries (once Redis takes writes). */
  #periodic(): void {
    if (this.#o.publisher.down) return
    const now = Date.now()
    for (const venue of this.#venues) {
      for (const entry of this.#o.books.ofVenue(venue)) {
        if (entry.state !== 'live') continue
        const st = this.#state.get(entry)
        if (st === undefined || !st.synced || now - st.snapshotAtMs >= this.#o.snapshotMs) {
          this.#snapshot(entry)
        }
      }
    }
  }

  #beat(): void {
    const byVenue = new Map<VenueId, { c: number; u: number }>()
    for (const { venue, stats } of this.#o.connections()) {
      const n = byVenue.get(venue) ?? { c: 0, u: 0 }
      n.c++
      if (stats.state === 'connected') n.u++
      byVenue.set(venue, n)
    }
    for (const venue of this.#venues) {
      const n = byVenue.get(venue) ?? { c: 0, u: 0 }
      this.#send(venue, { t: 'h', r: Date.now(), c: n.c, u: n.u })
    }
  }

  #snapshot(entry: BookEntry): void {
    const now = Date.now()
    // Marked synced before it is sent: if sending it drops messages (the buffer is full while
    // Redis is away, possibly this very snapshot), the 'dropped' handler marks it unsynced again.
    const st = this.#state.get(entry)
    if (st === undefined) this.#state.set(entry, { synced: true, snapshotAtMs: now })
    else {
      st.synced = true
      st.snapshotAtMs = now
    }
    this.#send(entry.venue, {
      t: 's',
      p: entry.pair,
      q: entry.lastSeq,
      x: entry.exchangeTsMs,
      r: entry.lastUpdateMs,
      d: this.#o.depthOf(entry.venue),
      b: wireLevels(entry.book.bids),
      a: wireLevels(entry.book.asks),
    })
    this.counts.snapshots++
  }

  #send(venue: VenueId, message: BookMessage): void {
    this.#o.publisher.publish(this.#streams.get(venue)!, message)
  }
}
