/**
 * @module
 * Opportunities on the bus: every detector event (opened, updated, closed) as one entry of the
 * `<prefix>:opportunities` stream, for any downstream consumer to read with a consumer group of
 * its own (the README has a ten-line one). An entry's `m` is a JSON list of events
 * `{ type, atMs, opportunity }`, `opportunity` being the same record `/api/opportunities` returns
 * (without the walk of the opening books, which `/api/opportunities/:id/explain` serves). Entries
 * are numbered per process (`s`, `k`) like the book streams, so a consumer can drop a retried one.
 * Numbers keep the API's units: spreads in basis points, sizes in the quote currency.
 */
import type { OpportunityEvent } from '../detector/types.ts'
import { toRecord } from '../detector/record.ts'
import { streamNames } from './codec.ts'
import type { StreamPublisher } from './publisher.ts'

export interface BusOpportunityEvent {
  readonly type: OpportunityEvent['type']
  readonly atMs: number
  readonly opportunity: Omit<ReturnType<typeof toRecord>, 'walk'>
}

/** The message for one detector event. */
export function opportunityMessage(event: OpportunityEvent): BusOpportunityEvent {
  const { walk: _walk, ...opportunity } = toRecord(event.opportunity)
  return { type: event.type, atMs: event.atMs, opportunity }
}

/** Publishes every detector event; returns what stops it. */
export function publishOpportunities(
  subscribe: (listener: (event: OpportunityEvent) => void) => () => void,
  publisher: StreamPublisher,
  prefix: string,
): () => void {
  const stream = streamNames(prefix).opportunities
  return subscribe((event) => publisher.publish(stream, opportunityMessage(event)))
}
