/**
 * @module
 * Saving and loading transfer facts (`transfer_facts`) and each venue's last fetch outcome
 * (`transfer_fetches`), so a restart starts from the facts it had, with their ages, instead of
 * from nothing. A venue's facts are replaced as a whole, in one batch, like `TransferFacts.replace`.
 */
import { eq } from 'drizzle-orm'
import type { FetchOutcome } from '../transfers/status.ts'
import type { TransferFact } from '../transfers/types.ts'
import type { VenueId } from '../types.ts'
import type { Db } from './client.ts'
import { transferFacts, transferFetches, type TransferFactRow } from './schema.ts'

/** Rows per insert statement (SQLite's bound-parameter limit is far above 11 × this). */
const CHUNK = 500

/**
 * Replaces everything saved for `venue` by `facts` (facts of other venues are ignored; for a
 * repeated asset and network the last wins), in one batch.
 * @example
 * ```ts
 * await saveTransferFacts(db, 'binance', fetched)
 * ```
 */
export async function saveTransferFacts(
  db: Db,
  venue: VenueId,
  facts: readonly TransferFact[],
): Promise<void> {
  const byKey = new Map<string, TransferFact>()
  for (const f of facts) if (f.venue === venue) byKey.set(`${f.asset}\u0000${f.network}`, f)
  const rows = [...byKey.values()].map(toRow)
  const del = db.delete(transferFacts).where(eq(transferFacts.venue, venue))
  const inserts = []
  for (let i = 0; i < rows.length; i += CHUNK) {
    inserts.push(db.insert(transferFacts).values(rows.slice(i, i + CHUNK)))
  }
  await db.batch([del, ...inserts])
}

/** Saves the venue's last fetch outcome (`missingKey` is not saved: it is known again at start). */
export async function saveTransferOutcome(
  db: Db,
  venue: VenueId,
  outcome: FetchOutcome,
): Promise<void> {
  const row = {
    okAtMs: outcome.okAtMs ?? null,
    error: outcome.error ?? null,
    errorAtMs: outcome.error === undefined ? null : (outcome.errorAtMs ?? null),
  }
  await db
    .insert(transferFetches)
    .values({ venue, ...row })
    .onConflictDoUpdate({ target: transferFetches.venue, set: row })
}

/**
 * Everything saved, to warm `TransferFacts` at start (`facts.restore(loaded.facts,
 * loaded.outcomes)`): facts keep the `fetchedAtMs` they were fetched at.
 */
export async function loadTransferFacts(
  db: Db,
): Promise<{ facts: TransferFact[]; outcomes: Map<VenueId, FetchOutcome> }> {
  const rows = await db.select().from(transferFacts)
  const fetches = await db.select().from(transferFetches)
  const outcomes = new Map<VenueId, FetchOutcome>()
  for (const r of fetches) {
    outcomes.set(r.venue, {
      ...(r.okAtMs === null ? {} : { okAtMs: r.okAtMs }),
      ...(r.error === null ? {} : { error: r.error, errorAtMs: r.errorAtMs ?? 0 }),
    })
  }
  return { facts: rows.map(fromRow), outcomes }
}

function toRow(f: TransferFact): TransferFactRow {
  return {
    venue: f.venue,
    asset: f.asset,
    network: f.network,
    venueNetwork: f.venueNetwork,
    depositEnabled: f.depositEnabled ?? null,
    withdrawEnabled: f.withdrawEnabled ?? null,
    withdrawFee: finiteOrNull(f.withdrawFee),
    withdrawMin: finiteOrNull(f.withdrawMin),
    contract: f.contract ?? null,
    fetchedAtMs: f.fetchedAtMs,
    source: f.source,
  }
}

function fromRow(r: TransferFactRow): TransferFact {
  return {
    venue: r.venue,
    asset: r.asset,
    network: r.network,
    venueNetwork: r.venueNetwork,
    depositEnabled: r.depositEnabled ?? undefined,
    withdrawEnabled: r.withdrawEnabled ?? undefined,
    withdrawFee: r.withdrawFee ?? undefined,
    withdrawMin: r.withdrawMin ?? undefined,
    contract: r.contract ?? undefined,
    fetchedAtMs: r.fetchedAtMs,
    source: r.source,
  }
}

const finiteOrNull = (x: number | undefined): number | null =>
  x !== undefined && Number.isFinite(x) ? x : null
