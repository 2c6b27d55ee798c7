/**
 * @module
 * The latest transfer facts in memory: per venue → asset → network, as the venue's last successful
 * fetch gave them, plus per venue the outcome of its last fetch (ok at a time, or an error at a
 * time, or the key it needs), so a route status can say "endpoint failed" or "needs a key".
 * A failed fetch never drops facts already accepted: they stay, with their own `fetchedAtMs`, and
 * age until a status stops relying on them. Changes are announced on `events` so consumers can
 * re-evaluate the opportunities they hold.
 */
import { Emitter } from '../events.ts'
import type { VenueId } from '../types.ts'
import type { FetchOutcome } from './status.ts'
import type { TransferFact } from './types.ts'

export type { FetchOutcome }

export type TransferFactsEvent =
  /**
   * A fetch of `venue` was accepted. `assets`: those whose facts changed (added, removed, or any
   * field but `fetchedAtMs`); empty when only the ages moved (a stale status may still turn fresh).
   */
  | {
      readonly type: 'updated'
      readonly venue: VenueId
      readonly assets: readonly string[]
      readonly atMs: number
    }
  /** A fetch of `venue` failed; its facts are kept as they were. */
  | {
      readonly type: 'failed'
      readonly venue: VenueId
      readonly error: string
      readonly atMs: number
    }

/**
 * @example
 * ```ts
 * const facts = new TransferFacts()
 * facts.events.on((e) => e.type === 'updated' && reevaluate(e.venue, e.assets))
 * facts.replace('binance', fetched, Date.now())
 * facts.of('binance', 'BTC') // [{ network: 'BTC', withdrawEnabled: true, … }]
 * ```
 */
export class TransferFacts {
  readonly events = new Emitter<TransferFactsEvent>()
  readonly #facts = new Map<VenueId, Map<string, Map<string, TransferFact>>>()
  readonly #outcomes = new Map<VenueId, FetchOutcome>()

  /**
   * Takes a venue's fetch as its whole truth: its assets and networks replace the ones held (an
   * asset or network it no longer lists is dropped). Facts of other venues are ignored; for a
   * repeated asset and network the last wins.
   * @returns the assets whose facts changed
   */
  replace(venue: VenueId, facts: readonly TransferFact[], atMs: number): string[] {
    const next = new Map<string, Map<string, TransferFact>>()
    for (const f of facts) {
      if (f.venue !== venue) continue
      let byNet = next.get(f.asset)
      if (byNet === undefined) next.set(f.asset, (byNet = new Map()))
      byNet.set(f.network, f)
    }
    const prev = this.#facts.get(venue)
    const changed: string[] = []
    for (const asset of new Set([...(prev?.keys() ?? []), ...next.keys()])) {
      if (!sameNetworks(prev?.get(asset), next.get(asset))) changed.push(asset)
    }
    changed.sort()
    this.#facts.set(venue, next)
    this.#outcomes.set(venue, { okAtMs: atMs })
    this.events.emit({ type: 'updated', venue, assets: changed, atMs })
    return changed
  }

  /** Records a failed fetch; the facts held are kept. */
  fail(venue: VenueId, error: string, atMs: number): void {
    const prev = this.#outcomes.get(venue)
    this.#outcomes.set(venue, {
      ...(prev?.okAtMs === undefined ? {} : { okAtMs: prev.okAtMs }),
      error,
      errorAtMs: atMs,
    })
    this.events.emit({ type: 'failed', venue, error, atMs })
  }

  /** Records that the venue cannot be fetched without a key (`envVar`, e.g. `BINANCE_API_KEY`). */
  needsKey(venue: VenueId, envVar: string): void {
    const prev = this.#outcomes.get(venue)
    this.#outcomes.set(venue, { ...prev, missingKey: envVar })
  }

  /**
   * Warms the store from saved facts and outcomes (the database at start): ages are kept as saved.
   * Nothing is announced; later `replace` calls compare against these.
   */
  restore(facts: readonly TransferFact[], outcomes: ReadonlyMap<VenueId, FetchOutcome>): void {
    for (const f of facts) {
      let byAsset = this.#facts.get(f.venue)
      if (byAsset === undefined) this.#facts.set(f.venue, (byAsset = new Map()))
      let byNet = byAsset.get(f.asset)
      if (byNet === undefined) byAsset.set(f.asset, (byNet = new Map()))
      byNet.set(f.network, f)
    }
    for (const [venue, o] of outcomes) this.#outcomes.set(venue, o)
  }

  /** The asset's facts on the venue, one per network; undefined when the venue lists none. */
  of(venue: VenueId, asset: string): readonly TransferFact[] | undefined {
    const byNet = this.#facts.get(venue)?.get(asset)
    return byNet === undefined || byNet.size === 0 ? undefined : [...byNet.values()]
  }

  /** The venue's last fetch outcome; undefined before any. */
  outcome(venue: VenueId): FetchOutcome | undefined {
    return this.#outcomes.get(venue)
  }

  /** Every venue's last fetch outcome. */
  outcomes(): ReadonlyMap<VenueId, FetchOutcome> {
    return new Map(this.#outcomes)
  }

  /** Every fact held (of one asset when given), ordered by venue, asset and network: for the API. */
  all(asset?: string): TransferFact[] {
    const out: TransferFact[] = []
    for (const byAsset of this.#facts.values()) {
      for (const [a, byNet] of byAsset)
        if (asset === undefined || a === asset) out.push(...byNet.values())
    }
    return out.sort(
      (x, y) => cmp(x.venue, y.venue) || cmp(x.asset, y.asset) || cmp(x.network, y.network),
    )
  }
}

const cmp = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0)

function sameNetworks(
  a: ReadonlyMap<string, TransferFact> | undefined,
  b: ReadonlyMap<string, TransferFact> | undefined,
): boolean {
  if ((a?.size ?? 0) !== (b?.size ?? 0)) return false
  for (const [net, fa] of a ?? []) {
    const fb = b?.get(net)
    if (fb === undefined || !sameFact(fa, fb)) return false
  }
  return true
}

/** Equal in everything but when it was fetched. */
function sameFact(a: TransferFact, b: TransferFact): boolean {
  return (
    a.venueNetwork === b.venueNetwork &&
    a.depositEnabled === b.depositEnabled &&
    a.withdrawEnabled === b.withdrawEnabled &&
    a.withdrawFee === b.withdrawFee &&
    a.withdrawMin === b.withdrawMin &&
    a.contract === b.contract &&
    a.source === b.source
  )
}
