/**
 * @module
 * Prometheus metrics (prom-client), on a registry of their own: per-venue feed counters (summed
 * over the venue's connections), books by state, REST budgets, book and detector timings,
 * opportunities, alert delivery, and the runtime's defaults (event-loop lag). Counters that live
 * elsewhere (connection stats, budgets, dispatcher stats) are read at scrape time. Labels are
 * venues and kinds, never markets, so the series stay few with thousands of books.
 */
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client'
import type { Dispatcher } from './alerts/dispatch.ts'
import type { Books } from './book/books.ts'
import type { BookMirror } from './bus/mirror.ts'
import type { StreamPublisher } from './bus/publisher.ts'
import type { ChatRepo } from './db/chats.ts'
import type { Store } from './db/store.ts'
import type { OpportunityEvent } from './detector/types.ts'
import { connectionsOf, venueState, type BudgetSource, type StatusSource } from './api/status.ts'
import type { ConnectionStats } from './venues/connection.ts'
import type { RestBudgetStats } from './venues/rest-budget.ts'
import type { VenueId } from './types.ts'

export interface MetricsSources {
  /** Every venue connection, or a function of the live set (shards come and go). */
  readonly connections: readonly StatusSource[] | (() => readonly StatusSource[])
  /** Each venue's REST budget figures. */
  readonly budgets?: BudgetSource
  readonly books: Books
  /** Absent on an ingest shard, which keeps no opportunities. */
  readonly store?: Store
  readonly dispatcher?: Dispatcher
  /** The Redis Streams bus, when this process writes to it or reads from it. */
  readonly bus?: { readonly publisher?: StreamPublisher; readonly mirror?: BookMirror }
  readonly repo?: ChatRepo
}

export interface Metrics {
  readonly registry: Registry
  /** Seconds spent applying one book event. */
  readonly bookUpdate: Histogram
  /** Seconds the detector spent on one book update. */
  readonly detector: Histogram
  /** Counts an opportunity event. */
  onOpportunity(event: OpportunityEvent): void
  /** The exposition text. */
  render(): Promise<string>
}

const FAST_BUCKETS = [1e-6, 2.5e-6, 5e-6, 1e-5, 2.5e-5, 5e-5, 1e-4, 2.5e-4, 1e-3, 1e-2]

export function createMetrics(src: MetricsSources): Metrics {
  const registry = new Registry()
  collectDefaultMetrics({ register: registry, prefix: 'arbwatch_' })
  /** The connections by venue, read once per scrape per metric. */
  const venues = (): Map<VenueId, ConnectionStats[]> => {
    const out = new Map<VenueId, ConnectionStats[]>()
    for (const { venue, stats } of connectionsOf(src.connections)) {
      const list = out.get(venue)
      if (list === undefined) out.set(venue, [stats])
      else list.push(stats)
    }
    return out
  }
  /** One value per venue from its connections' stats. */
  const perVenue = (read: (s: readonly ConnectionStats[]) => number) =>
    function collect(this: Counter<'venue'> | Gauge<'venue'>) {
      this.reset()
      for (const [venue, stats] of venues()) {
        const v = read(stats)
        if (this instanceof Counter) this.inc({ venue }, v)
        else this.set({ venue }, v)
      }
    }
  const sum = (read: (s: ConnectionStats) => number) => (stats: readonly ConnectionStats[]) =>
    stats.reduce((n, s) => n + read(s), 0)
  new Counter({
    name: 'arbwatch_messages_total',
    help: 'Frames received per venue (all its connections)',
    labelNames: ['venue'],
    registers: [registry],
    collect: perVenue(sum((s) => s.messages)),
  })
  new Counter({
    name: 'arbwatch_reconnects_total',
    help: 'Reconnections per venue (all its connections)',
    labelNames: ['venue'],
    registers: [registry],
    collect: perVenue(sum((s) => s.reconnects)),
  })
  new Gauge({
    name: 'arbwatch_venue_connected',
    help: "1 while every one of the venue's connections is up",
    labelNames: ['venue'],
    registers: [registry],
    collect: perVenue((stats) => (venueState(stats.map((s) => s.state)) === 'connected' ? 1 : 0)),
  })
  new Gauge({
    name: 'arbwatch_venue_connections',
    help: "The venue's connections (shards) by state",
    labelNames: ['venue', 'state'],
    registers: [registry],
    collect() {
      this.reset()
      for (const [venue, stats] of venues()) {
        const counts = { connected: 0, connecting: 0, down: 0 }
        for (const s of stats) counts[s.state]++
        for (const [state, n] of Object.entries(counts)) this.set({ venue, state }, n)
      }
    },
  })
  new Gauge({
    name: 'arbwatch_venue_latency_seconds',
    help: 'Exchange-to-receive latency of the last timestamped update, the worst connection',
    labelNames: ['venue'],
    registers: [registry],
    collect: perVenue((stats) => Math.max(0, ...stats.map((s) => s.latencyMs ?? 0)) / 1000),
  })
  new Counter({
    name: 'arbwatch_input_errors_total',
    help: 'Bad or unexpected input per venue and kind',
    labelNames: ['venue', 'kind'],
    registers: [registry],
    collect() {
      this.reset()
      for (const [venue, stats] of venues()) {
        const merged: Record<string, number> = {}
        for (const s of stats) {
          for (const [kind, n] of Object.entries(s.errors)) merged[kind] = (merged[kind] ?? 0) + n
        }
        for (const [kind, n] of Object.entries(merged)) this.inc({ venue, kind }, n)
      }
    },
  })
  /** A counter per venue and one label, filled from a venue's counts by that label's values. */
  const countsPerVenue = (
    name: string,
    help: string,
    label: string,
    counts: (venue: VenueId) => Record<string, number>,
  ) =>
    new Counter({
      name,
      help,
      labelNames: ['venue', label],
      registers: [registry],
      collect() {
        this.reset()
        for (const venue of venues().keys()) {
          for (const [value, n] of Object.entries(counts(venue)))
            this.inc({ venue, [label]: value }, n)
        }
      },
    })
  countsPerVenue('arbwatch_resyncs_total', 'Books rebuilt per venue and reason', 'reason', (v) => ({
    ...src.books.resyncCounts(v),
  }))
  countsPerVenue(
    'arbwatch_cross_checks_total',
    "Tops from a venue's independent channel compared with the book, or skipped",
    'outcome',
    (v) => ({ ...src.books.crossCheckCounts(v) }),
  )
  /** A venue's books by state, counted once per scrape for both gauges. */
  const bookStates = (venue: VenueId) => {
    const counts = { live: 0, syncing: 0, stale: 0 }
    for (const e of src.books.ofVenue(venue)) counts[e.state]++
    return counts
  }
  new Gauge({
    name: 'arbwatch_books_live',
    help: 'Live books per venue',
    labelNames: ['venue'],
    registers: [registry],
    collect() {
      this.reset()
      for (const venue of venues().keys()) this.set({ venue }, bookStates(venue).live)
    },
  })
  new Gauge({
    name: 'arbwatch_books',
    help: 'Books per venue and state (syncing, live, stale)',
    labelNames: ['venue', 'state'],
    registers: [registry],
    collect() {
      this.reset()
      for (const venue of venues().keys()) {
        for (const [state, n] of Object.entries(bookStates(venue))) this.set({ venue, state }, n)
      }
    },
  })
  /** A metric per venue read from its REST budget's figures. */
  const perBudget = (read: (b: RestBudgetStats, nowMs: number) => number) =>
    function collect(this: Counter<'venue'> | Gauge<'venue'>) {
      this.reset()
      const nowMs = Date.now()
      for (const [venue, b] of src.budgets?.() ?? []) {
        const v = read(b, nowMs)
        if (this instanceof Counter) this.inc({ venue }, v)
        else this.set({ venue }, v)
      }
    }
  new Counter({
    name: 'arbwatch_rest_requests_total',
    help: 'REST requests per venue, through its budget',
    labelNames: ['venue'],
    registers: [registry],
    collect: perBudget((b) => b.requests),
  })
  new Gauge({
    name: 'arbwatch_rest_peak_weight',
    help: "Most REST weight spent in one of the venue's windows",
    labelNames: ['venue'],
    registers: [registry],
    collect: perBudget((b) => b.peakWeight),
  })
  new Gauge({
    name: 'arbwatch_rest_venue_used_weight',
    help: 'REST weight the venue last said it had counted (where it says so)',
    labelNames: ['venue'],
    registers: [registry],
    collect: perBudget((b) => b.venueUsedWeight ?? 0),
  })
  new Counter({
    name: 'arbwatch_rest_throttled_total',
    help: 'REST answers 429 (too many requests) per venue',
    labelNames: ['venue'],
    registers: [registry],
    collect: perBudget((b) => b.throttled),
  })
  new Counter({
    name: 'arbwatch_rest_banned_total',
    help: 'REST answers 418 (IP banned for not backing off) per venue',
    labelNames: ['venue'],
    registers: [registry],
    collect: perBudget((b) => b.banned),
  })
  new Gauge({
    name: 'arbwatch_rest_paused_seconds',
    help: 'Seconds left of a pause the venue asked for (0 when none)',
    labelNames: ['venue'],
    registers: [registry],
    collect: perBudget((b, nowMs) => Math.max(0, b.pausedUntilMs - nowMs) / 1000),
  })
  const bookUpdate = new Histogram({
    name: 'arbwatch_book_update_seconds',
    help: 'Time to apply one book event',
    buckets: FAST_BUCKETS,
    registers: [registry],
  })
  const detector = new Histogram({
    name: 'arbwatch_detector_seconds',
    help: 'Detector time per book update',
    buckets: FAST_BUCKETS,
    registers: [registry],
  })
  const opened = new Counter({
    name: 'arbwatch_opportunities_opened_total',
    help: 'Opportunities opened',
    labelNames: ['kind', 'anomaly'],
    registers: [registry],
  })
  new Gauge({
    name: 'arbwatch_store_pending',
    help: 'Opportunities waiting to be written',
    registers: [registry],
    collect() {
      this.set(src.store?.stats.pending ?? 0)
    },
  })
  new Counter({
    name: 'arbwatch_store_write_failures_total',
    help: 'Failed database writes',
    registers: [registry],
    collect() {
      this.reset()
      this.inc(src.store?.stats.failures ?? 0)
    },
  })
  new Gauge({
    name: 'arbwatch_store_write_failing_seconds',
    help: 'How long database writes have been failing (0 while they succeed)',
    registers: [registry],
    collect() {
      const since = src.store?.stats.failingSinceMs ?? null
      this.set(since === null ? 0 : (Date.now() - since) / 1000)
    },
  })
  new Counter({
    name: 'arbwatch_alerts_dropped_total',
    help: 'Alerts dropped unsent because their opportunity closed before they could be sent',
    registers: [registry],
    collect() {
      this.reset()
      this.inc(src.store?.stats.dropped ?? 0)
    },
  })
  new Counter({
    name: 'arbwatch_alerts_sent_total',
    help: 'Alerts delivered',
    registers: [registry],
    collect() {
      this.reset()
      this.inc(src.dispatcher?.stats.sent ?? 0)
    },
  })
  new Counter({
    name: 'arbwatch_alerts_failed_total',
    help: 'Alerts given up on (marked failed)',
    registers: [registry],
    collect() {
      this.reset()
      this.inc(src.dispatcher?.stats.failed ?? 0)
    },
  })
  new Counter({
    name: 'arbwatch_alerts_interrupted_total',
    help: 'Alerts caught mid-send by a crash: maybe delivered, never sent again (status unknown)',
    registers: [registry],
    collect() {
      this.reset()
      this.inc(src.dispatcher?.stats.interrupted ?? 0)
    },
  })
  new Gauge({
    name: 'arbwatch_deliveries_pending',
    help: 'Alert deliveries waiting to be sent',
    registers: [registry],
    async collect() {
      const counts = (await src.repo?.counts().catch(() => undefined)) ?? {}
      this.set((counts.pending ?? 0) + (counts.sending ?? 0))
    },
  })
  if (src.bus !== undefined) busMetrics(registry, src.bus)
  return {
    registry,
    bookUpdate,
    detector,
    onOpportunity(event) {
      if (event.type === 'opened')
        opened.inc({ kind: event.opportunity.kind, anomaly: String(event.opportunity.anomaly) })
    },
    render: () => registry.metrics(),
  }
}

/**
 * The bus: what this process wrote (per stream: messages, drops, what waits while Redis is away)
 * and what it read (entries, gaps, skipped deltas, and each venue stream's lag: from Redis taking
 * an entry to this process applying it, for the last entry, and how long since any).
 */
function busMetrics(
  registry: Registry,
  { publisher, mirror }: { publisher?: StreamPublisher; mirror?: BookMirror },
): void {
  new Gauge({
    name: 'arbwatch_bus_up',
    help: "Whether Redis takes this process's writes and answers its reads (1) or not (0)",
    registers: [registry],
    collect() {
      this.set(publisher?.down === true || mirror?.down === true ? 0 : 1)
    },
  })
  if (publisher !== undefined) {
    const perStream = (read: (s: { published: number; dropped: number }) => number) =>
      function collect(this: Counter<'stream'>) {
        this.reset()
        for (const [stream, s] of publisher.streamStats()) this.inc({ stream }, read(s))
      }
    new Counter({
      name: 'arbwatch_bus_published_messages_total',
      help: 'Messages written to the bus, per stream',
      labelNames: ['stream'],
      registers: [registry],
      collect: perStream((s) => s.published),
    })
    new Counter({
      name: 'arbwatch_bus_dropped_messages_total',
      help: 'Messages dropped unwritten because the buffer was full while Redis was away',
      labelNames: ['stream'],
      registers: [registry],
      collect: perStream((s) => s.dropped),
    })
    new Gauge({
      name: 'arbwatch_bus_buffered_messages',
      help: 'Messages waiting to be written to the bus',
      registers: [registry],
      collect() {
        this.set(publisher.buffered)
      },
    })
  }
  if (mirror !== undefined) {
    const stat = (name: string, help: string, key: keyof BookMirror['stats']) =>
      new Counter({
        name,
        help,
        registers: [registry],
        collect() {
          this.reset()
          this.inc(mirror.stats[key])
        },
      })
    stat('arbwatch_bus_consumed_messages_total', 'Book messages read from the bus', 'messages')
    stat('arbwatch_bus_gaps_total', 'Gaps in a venue stream and restarted shards', 'gaps')
    stat(
      'arbwatch_bus_waiting_deltas_total',
      'Deltas skipped because their book waited for a snapshot',
      'waiting',
    )
    stat('arbwatch_bus_bad_messages_total', 'Bus entries or messages that could not be read', 'bad')
    stat(
      'arbwatch_bus_snapshot_mismatches_total',
      'Periodic snapshots that differed from the rebuilt book',
      'mismatches',
    )
    const lagMs = new Map<string, number>()
    mirror.events.on((e) => e.type === 'entry' && lagMs.set(e.venue, e.lagMs))
    new Gauge({
      name: 'arbwatch_bus_lag_seconds',
      help: 'Per venue stream: from Redis taking the last entry to this process applying it',
      labelNames: ['venue'],
      registers: [registry],
      collect() {
        this.reset()
        for (const [venue, ms] of lagMs) this.set({ venue }, ms / 1000)
      },
    })
    new Gauge({
      name: 'arbwatch_bus_stream_idle_seconds',
      help: 'Per venue stream: since its last entry was written (heartbeats keep it under 1 s)',
      labelNames: ['venue'],
      registers: [registry],
      collect() {
        this.reset()
        for (const l of mirror.lags())
          if (l.lagMs !== null) this.set({ venue: l.venue }, l.lagMs / 1000)
      },
    })
  }
}
