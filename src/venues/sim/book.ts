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
    return [...this.bids].sort((a, b) => Number(b[0]) - Number(a[0])).slice(0, n)
  }

  /** Asks best-first (ascending). */
  topAsks(n = Infinity): Row[] {
    return [...this.asks].sort((a, b) => Number(a[0]) - Number(b[0])).slice(0, n)
  }

  /** Keeps only the best `depth` levels per side (what a depth-limited venue shows). */
  truncate(depth: number): void {
    const keepB = new Set(this.topBids(depth).map((r) => r[0]))
    for (const p of [...this.bids.keys()]) if (!keepB.has(p)) this.bids.delete(p)
    const keepA = new Set(this.topAsks(depth).map((r) => r[0]))
    for (const p of [...this.asks.keys()]) if (!keepA.has(p)) this.asks.delete(p)
  }

  clone(): SimBook {
    return new SimBook([...this.bids], [...this.asks])
  }
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
