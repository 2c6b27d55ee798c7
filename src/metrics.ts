/**
 * @module
 * Prometheus metrics (prom-client), on a registry of their own: per-venue feed counters, book and
 * detector timings, opportunities, alert delivery, and the runtime's defaults (event-loop lag).
 * Counters that live elsewhere (connection stats, dispatcher stats) are read at scrape time.
 */
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client'
import type { Dispatcher } from './alerts/dispatch.ts'
import type { Books } from './book/books.ts'
import type { ChatRepo } from './db/chats.ts'
import type { Store } from './db/store.ts'
import type { OpportunityEvent } from './detector/types.ts'
import type { ConnectionStats } from './venues/connection.ts'
import type { VenueId } from './types.ts'

export interface MetricsSources {
  readonly connections: readonly { venue: VenueId; stats: ConnectionStats }[]
  readonly books: Books
  readonly store: Store
  readonly dispatcher?: Dispatcher
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
  const perVenue = (read: (s: ConnectionStats) => number) =>
    function collect(this: Counter<'venue'> | Gauge<'venue'>) {
      this.reset()
      for (const { venue, stats } of src.connections) {
        const v = read(stats)
        if (this instanceof Counter) this.inc({ venue }, v)
        else this.set({ venue }, v)
      }
    }
  new Counter({
    name: 'arbwatch_messages_total',
    help: 'Frames received per venue',
    labelNames: ['venue'],
    registers: [registry],
    collect: perVenue((s) => s.messages),
  })
  new Counter({
    name: 'arbwatch_reconnects_total',
    help: 'Reconnections per venue',
    labelNames: ['venue'],
    registers: [registry],
    collect: perVenue((s) => s.reconnects),
  })
  new Gauge({
    name: 'arbwatch_venue_connected',
    help: '1 while the venue connection is up',
    labelNames: ['venue'],
    registers: [registry],
    collect: perVenue((s) => (s.state === 'connected' ? 1 : 0)),
  })
  new Gauge({
    name: 'arbwatch_venue_latency_seconds',
    help: 'Exchange-to-receive latency of the last timestamped update',
    labelNames: ['venue'],
    registers: [registry],
    collect: perVenue((s) => (s.latencyMs ?? 0) / 1000),
  })
  new Counter({
    name: 'arbwatch_input_errors_total',
    help: 'Bad or unexpected input per venue and kind',
    labelNames: ['venue', 'kind'],
    registers: [registry],
    collect() {
      this.reset()
      for (const { venue, stats } of src.connections) {
        for (const [kind, n] of Object.entries(stats.errors)) this.inc({ venue, kind }, n)
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
        for (const { venue } of src.connections) {
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
  new Gauge({
    name: 'arbwatch_books_live',
    help: 'Live books per venue',
    labelNames: ['venue'],
    registers: [registry],
    collect() {
      this.reset()
      for (const { venue } of src.connections) {
        this.set({ venue }, [...src.books.ofVenue(venue)].filter((e) => e.state === 'live').length)
      }
    },
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
      this.set(src.store.stats.pending)
    },
  })
  new Counter({
    name: 'arbwatch_store_write_failures_total',
    help: 'Failed database writes',
    registers: [registry],
    collect() {
      this.reset()
      this.inc(src.store.stats.failures)
    },
  })
  new Gauge({
    name: 'arbwatch_store_write_failing_seconds',
    help: 'How long database writes have been failing (0 while they succeed)',
    registers: [registry],
    collect() {
      const since = src.store.stats.failingSinceMs
      this.set(since === null ? 0 : (Date.now() - since) / 1000)
    },
  })
  new Counter({
    name: 'arbwatch_alerts_dropped_total',
    help: 'Alerts dropped unsent because their opportunity closed before they could be sent',
    registers: [registry],
    collect() {
      this.reset()
      this.inc(src.store.stats.dropped)
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
