/**
 * @module
 * A venue-side order book for fakes: levels keyed by the exact price string the fake sends.
 */
export type Row = [price: string, qty: string]

export class SimBook {
  readonly bids = new Map<string, string>()
  readonly asks = new Map<string, string>()

  constructor(bids: Row[] = [], asks: Row[] = []) {
    this.apply(bids, asks)
  }

  /** Applies absolute updates; a zero quantity deletes. */
  apply(bids: Row[], asks: Row[]): void {
    for (const [p, q] of bids)
      if (Number(q) === 0) this.bids.delete(p)
      else this.bids.set(p, q)
    for (const [p, q] of asks)
      if (Number(q) === 0) this.asks.delete(p)
      else this.asks.set(p, q)
  }

  /** Bids best-first (descending), optionally only the top `n`. */
  topBids(n = Infinity): Row[] {
    return n === 1 ? best(this.bids, 1) : sorted(this.bids, 1, n)
  }

  /** Asks best-first (ascending). */
  topAsks(n = Infinity): Row[] {
    return n === 1 ? best(this.asks, -1) : sorted(this.asks, -1, n)
  }

  /** Keeps only the best `depth` levels per side (what a depth-limited venue shows). */
  truncate(depth: number): void {
    const keepB = new Set(this.topBids(depth).map((r) => r[0]))
    for (const p of [...this.bids.keys()]) if (!keepB.has(p)) this.bids.delete(p)
    const keepA = new Set(this.topAsks(depth).map((r) => r[0]))
    for (const p of [...this.asks.keys()]) if (!keepA.has(p)) this.asks.delete(p)
  }

  clone(): SimBook {
    // The levels are copied as they are (a book never holds a zero quantity: `apply` deletes it);
    // a Map copied whole is several times cheaper than one filled level by level.
    return Object.assign(new SimBook(), { bids: new Map(this.bids), asks: new Map(this.asks) })
  }
}

/**
 * A side best-first (`sign` 1: highest price first, -1: lowest), its top `n`; each price is
 * parsed once, not at every comparison. The sort is stable: equal prices keep their order.
 */
function sorted(side: ReadonlyMap<string, string>, sign: 1 | -1, n: number): Row[] {
  const keyed: { key: number; row: Row }[] = []
  for (const [p, q] of side) keyed.push({ key: sign * Number(p), row: [p, q] })
  keyed.sort((a, b) => b.key - a.key)
  const out: Row[] = []
  for (let i = 0; i < keyed.length && i < n; i++) out.push(keyed[i]!.row)
  return out
}

/**
 * The best level of a side without sorting it (`sign` 1: highest price, -1: lowest), as `[row]`
 * or `[]`; of equal prices the first listed, as the stable sort gives.
 */
function best(side: ReadonlyMap<string, string>, sign: 1 | -1): Row[] {
  let top: Row | undefined
  let topPx = -Infinity
  for (const [p, q] of side) {
    const px = sign * Number(p)
    if (px > topPx || top === undefined) {
      top = [p, q]
      topPx = px
    }
  }
  return top === undefined ? [] : [top]
}

/** A deterministic book around `mid` with `levels` levels a side, `tick` apart. */
export function makeBook(mid: number, levels = 20, tick = 0.1, decimals = 2): SimBook {
  const bids: Row[] = []
  const asks: Row[] = []
  for (let i = 0; i < levels; i++) {
    bids.push([(mid - tick * (i + 1)).toFixed(decimals), (0.5 + i * 0.25).toFixed(8)])
    asks.push([(mid + tick * (i + 1)).toFixed(decimals), (0.4 + i * 0.3).toFixed(8)])
  }
  return new SimBook(bids, asks)
}

/** The best ask a simulated venue's `pushCrossed` puts a bid at; throws when the book has none. */
export function askToCross(book: SimBook, pair: string): Row {
  const ask = book.topAsks(1)[0]
  if (ask === undefined) throw new Error(`${pair} has no ask to cross`)
  return ask
}

/**
 * The change that raises a book's best `side` quantity by one (what a simulated venue's
 * `corruptTop` pushes on its independent channel but leaves out of its diffs).
 */
export function bumpTop(
  book: SimBook,
  pair: string,
  side: 'bid' | 'ask',
): { bids: Row[]; asks: Row[] } {
  const top = (side === 'bid' ? book.topBids(1) : book.topAsks(1))[0]
  if (top === undefined) throw new Error(`${pair} has no ${side} to corrupt`)
  const changed: Row[] = [[top[0], (Number(top[1]) + 1).toFixed(8)]]
  return side === 'bid' ? { bids: changed, asks: [] } : { bids: [], asks: changed }
}
