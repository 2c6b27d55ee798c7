/**
 * Shared test helpers: a silent logger, condition waits, and a venue connection wired to books.
 */
import { Books, type BooksOptions } from '../src/book/books.ts'
import { Connection, type ConnectionOptions } from '../src/exchanges/connection.ts'
import type { Exchange } from '../src/exchanges/exchange.ts'
import { createLogger } from '../src/log.ts'
import type { Level, Pair } from '../src/types.ts'

export const silent = createLogger('silent')

/** Resolves once `check()` is true; polls every few ms; rejects after `timeoutMs`. */
export async function until(
  check: () => boolean,
  timeoutMs = 5000,
  what = 'condition',
): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!check()) {
    if (Date.now() > deadline)
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)
    await Bun.sleep(5)
  }
}

export interface Feed {
  books: Books
  conn: Connection
  stop(): void
}

/** Starts a real Connection for `exchange` against local URLs, with fast backoff. */
export function startFeed(
  exchange: Exchange,
  urls: { wsUrl: string; restUrl: string },
  pairs: Pair[],
  options: Partial<ConnectionOptions> & { books?: BooksOptions } = {},
): Feed {
  const books = new Books(options.books)
  books.addVenue(exchange.id, exchange, pairs)
  const conn = new Connection({
    exchange,
    wsUrl: urls.wsUrl,
    restUrl: urls.restUrl,
    pairs,
    sink: books,
    log: silent,
    backoffBaseMs: 20,
    backoffCapMs: 200,
    ...options,
  })
  conn.start()
  return { books, conn, stop: () => conn.stop() }
}

/** A book side as `[price, qty]` strings, for level-by-level comparison. */
export const rows = (levels: readonly Level[], n = Infinity): [string, string][] =>
  levels.slice(0, n).map((l) => [l.pxText, l.qtyText])
