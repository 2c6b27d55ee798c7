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
              const { bids, asks } = e.delta
              this.#send(
                e.entry.venue,
                {
                  t: 'd',
                  p: e.entry.pair,
                  q: e.entry.lastSeq,
                  x: e.delta.exchangeTsMs,
                  r: e.receivedAtMs,
                  b: wireLevels(bids),
                  a: wireLevels(asks),
                },
                wireBytes(bids.length + asks.length),
              )
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

  /**
   * Live books whose snapshot is due, or whose stream lost entries (once Redis takes writes), a
   * share of them per tick: periodic copies spread evenly over `snapshotMs` (about live books ×
   * tick / `snapshotMs` a tick), books to rejoin first and faster (a tenth of the live books a
   * tick), so no round of snapshots goes out at once ahead of the deltas.
   */
  #periodic(): void {
    if (this.#o.publisher.down) return
    const now = Date.now()
    let live = 0
    const rejoin: BookEntry[] = []
    const due: BookEntry[] = []
    for (const venue of this.#venues) {
      for (const entry of this.#o.books.ofVenue(venue)) {
        if (entry.state !== 'live') continue
        live++
        const st = this.#state.get(entry)
        if (st === undefined || !st.synced) rejoin.push(entry)
        else if (now - st.snapshotAtMs >= this.#o.snapshotMs) due.push(entry)
      }
    }
    const rejoinBudget = Math.max(64, Math.ceil(live / 10))
    for (const entry of rejoin.slice(0, rejoinBudget)) this.#snapshot(entry, false)
    const dueBudget = Math.ceil((live * TICK_MS) / this.#o.snapshotMs) + 1
    for (const entry of due.slice(0, dueBudget)) this.#snapshot(entry, true)
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

  /** Publishes the book whole; `copy` when the stream already carries it exactly (periodic). */
  #snapshot(entry: BookEntry, copy = false): void {
    const now = Date.now()
    // Marked synced before it is sent: if sending it drops messages (the buffer is full while
    // Redis is away, possibly this very snapshot), the 'dropped' handler marks it unsynced again.
    const st = this.#state.get(entry)
    if (st === undefined) {
      // A first snapshot starts the book's period at a random phase (its first copy comes after
      // half a period to a whole one), so books that went live together are not copied together.
      const phase = (Math.random() * this.#o.snapshotMs) / 2
      this.#state.set(entry, { synced: true, snapshotAtMs: now - phase })
    } else {
      st.synced = true
      st.snapshotAtMs = now
    }
    const { bids, asks } = entry.book
    this.#send(
      entry.venue,
      {
        t: 's',
        p: entry.pair,
        q: entry.lastSeq,
        x: entry.exchangeTsMs,
        r: entry.lastUpdateMs,
        d: this.#o.depthOf(entry.venue),
        ...(copy ? { c: 1 as const } : {}),
        b: wireLevels(bids),
        a: wireLevels(asks),
      },
      wireBytes(bids.length + asks.length),
    )
    this.counts.snapshots++
  }

  #send(venue: VenueId, message: BookMessage, bytes = 96): void {
    this.#o.publisher.publish(this.#streams.get(venue)!, message, bytes)
  }
}

/** A message's encoded size, roughly: its stamps plus each level's two texts. */
const wireBytes = (levels: number): number => 96 + 26 * levels
