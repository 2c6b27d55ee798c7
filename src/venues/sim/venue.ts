/**
 * @module
 * What every simulated venue offers, whatever protocol it speaks: the demo drives its books, and
 * the venue-contract tests inject the faults real venues produce (lost messages, bad checksums,
 * crossed books, failing REST snapshots) through this one interface.
 */
import type { Pair } from '../../types.ts'
import type { SimBook, Row } from './book.ts'
import type { SimServer } from './server.ts'
import type { SimTransfers } from './transfers.ts'
import type { Credentials } from '../../transfers/types.ts'

/** One market a simulated venue lists. */
export interface SimMarket {
  readonly base: string
  readonly quote: string
  /** The venue-side book to serve (empty when absent). */
  readonly book?: SimBook
  /** False: listed, but not trading (halted, disabled, offline). */
  readonly trading?: boolean
  /** 24 h traded volume in the quote asset, as the venue's ticker endpoint reports it. */
  readonly volume24h?: number
}

/**
 * The 24 h quote volume a simulated ticker reports for a market: its `volume24h`, else a
 * deterministic figure from its pair (1,000,000 to 1,999,999, the same on every run).
 */
export function simVolume24h(m: SimMarket): number {
  if (m.volume24h !== undefined) return m.volume24h
  let h = 2166136261
  for (const c of `${m.base}/${m.quote}`.toUpperCase()) h = Math.imul(h ^ c.charCodeAt(0), 16777619)
  return 1_000_000 + ((h >>> 0) % 1_000_000)
}

/**
 * How the next REST snapshot request is answered (served in order, one per request; the normal
 * answer once the list is empty).
 * - `status`: that HTTP status (429/418 with `Retry-After` seconds when given, 500, ...);
 * - `slow`: the normal answer, `delayMs` late (taken when the request arrives);
 * - `invalid-json`: a 200 whose body is not JSON;
 * - `stale`: a well-formed snapshot from before the oldest update a client can hold.
 */
export type SnapshotFault =
  | { readonly kind: 'status'; readonly status: number; readonly retryAfterS?: number }
  | { readonly kind: 'slow'; readonly delayMs: number }
  | { readonly kind: 'invalid-json' }
  | { readonly kind: 'stale' }

export interface SimVenue {
  readonly server: SimServer
  readonly wsUrl: string
  readonly restUrl: string
  /** The venue-side book of one listed market (unified pair). */
  book(pair: Pair): SimBook
  /** Applies a change to the venue's book and pushes it as the venue does. */
  update(pair: Pair, bids: Row[], asks: Row[]): void
  /**
   * Applies a change to the venue's book but the message never reaches the client (a lost frame:
   * sequence numbers still advance, so the next message shows the gap where the venue lets it).
   */
  lose(pair: Pair, bids: Row[], asks: Row[]): void
  /** Pushes a change that crosses the book (a bid at the best ask), not applied venue-side. */
  pushCrossed(pair: Pair): void
  /**
   * Changes the venue's best `side` quantity and shows it on the independent top-of-book channel,
   * but leaves it out of the book messages (venues whose books are cross-checked).
   */
  corruptTop?(pair: Pair, side: 'bid' | 'ask'): void
  /** Pushes an otherwise valid change whose checksum is wrong (venues that send checksums). */
  corruptChecksum?(pair: Pair): void
  /**
   * Every way a client broke the venue's published limits, counted as the venue answered it
   * (429s and 418s, refused connections, too many streams or args): all zero for a client that
   * keeps them.
   */
  readonly limited?: Readonly<Record<string, number>>
  /** REST snapshot answers to serve before the normal ones (venues seeded from REST). */
  readonly snapshotFaults: SnapshotFault[]
  /** When each snapshot request reached the venue (REST, or on the socket: HTX `req`), local ms. */
  readonly snapshotRequestsMs: number[]
  /** Deposit and withdrawal state per asset and network, served by the venue's endpoint. */
  readonly transfers: SimTransfers
  /** The read-only API key a signed transfer endpoint accepts (venues whose endpoint is signed). */
  readonly credentials?: Credentials
  stop(): void
}

/**
 * Serves one REST snapshot request, taking the next fault off `faults`: `make(stale)` builds the
 * normal (or the stale) body, `errorBody(status)` the venue's own body for a `status` fault.
 */
export async function serveSnapshot(
  faults: SnapshotFault[],
  make: (stale: boolean) => unknown,
  errorBody: (status: number) => unknown = (status) => ({ error: `simulated ${status}` }),
): Promise<Response> {
  const fault = faults.shift()
  switch (fault?.kind) {
    case undefined:
      return Response.json(make(false))
    case 'status': {
      const headers: Record<string, string> = {}
      if (fault.retryAfterS !== undefined) headers['retry-after'] = String(fault.retryAfterS)
      return Response.json(errorBody(fault.status), { status: fault.status, headers })
    }
    case 'slow': {
      const body = make(false)
      await Bun.sleep(fault.delayMs)
      return Response.json(body)
    }
    case 'invalid-json':
      return new Response('{"lastUpdateId": 12, "bids": [[', {
        headers: { 'content-type': 'application/json' },
      })
    case 'stale':
      return Response.json(make(true))
    default: {
      const never: never = fault
      throw new Error(`unknown snapshot fault ${JSON.stringify(never)}`)
    }
  }
}
