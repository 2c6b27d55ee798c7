/**
 * @module
 * A deterministic Binance diff-depth stream: a seeded random walk of one BTCUSDT book, each event
 * a realistic `depthUpdate` (5-25 levels a side, 2-decimal prices, 8-decimal quantities, about a
 * third of them deletes). Same seed, same bytes.
 */

/** mulberry32: a small, fast, seeded PRNG. */
export function prng(seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

export interface Stream {
  /** `depthUpdate` payloads (raw stream form), update ids 1..n. */
  events: string[]
  /** The book at update id 0, as a REST depth body. */
  snapshot: string
  bytes: number
}

export function generateStream(n: number, symbol = 'BTCUSDT', seed = 42): Stream {
  const rand = prng(seed)
  // Prices in integer cents; bids sit below `mid`, asks above it, and `mid` itself is never a
  // level, so deleting the level `mid` lands on after each step keeps the book uncrossed.
  let mid = 6_000_000
  const price = (cents: number) => (cents / 100).toFixed(2)
  const qty = () => (0.0001 + rand() * 3).toFixed(8)
  const bidSet = new Set<number>()
  const askSet = new Set<number>()
  const bids: [string, string][] = []
  const asks: [string, string][] = []
  for (let i = 1; i <= 1000; i++) {
    bids.push([price(mid - i), qty()])
    asks.push([price(mid + i), qty()])
    bidSet.add(mid - i)
    askSet.add(mid + i)
  }
  const snapshot = JSON.stringify({ lastUpdateId: 0, bids, asks })
  const events: string[] = new Array(n)
  let bytes = 0
  let time = 1_700_000_000_000
  for (let id = 1; id <= n; id++) {
    const b: [string, string][] = []
    const a: [string, string][] = []
    const step = rand()
    if (step < 0.1) {
      mid += 1
      if (askSet.delete(mid)) a.push([price(mid), '0.00000000'])
    } else if (step < 0.2) {
      mid -= 1
      if (bidSet.delete(mid)) b.push([price(mid), '0.00000000'])
    }
    const nb = 5 + Math.floor(rand() * 21)
    const na = 5 + Math.floor(rand() * 21)
    for (let i = 0; i < nb; i++) {
      const p = mid - 1 - Math.floor(rand() * rand() * 300)
      if (rand() < 0.33) {
        bidSet.delete(p)
        b.push([price(p), '0.00000000'])
      } else {
        bidSet.add(p)
        b.push([price(p), qty()])
      }
    }
    for (let i = 0; i < na; i++) {
      const p = mid + 1 + Math.floor(rand() * rand() * 300)
      if (rand() < 0.33) {
        askSet.delete(p)
        a.push([price(p), '0.00000000'])
      } else {
        askSet.add(p)
        a.push([price(p), qty()])
      }
    }
    time += 1 + Math.floor(rand() * 3)
    const e = `{"e":"depthUpdate","E":${time},"s":"${symbol}","U":${id},"u":${id},"b":${JSON.stringify(b)},"a":${JSON.stringify(a)}}`
    events[id - 1] = e
    bytes += e.length
  }
  return { events, snapshot, bytes }
}

/**
 * A stream that opens and closes an opportunity on every pair of messages: bids below 60,000,
 * asks above 60,200, and each odd update adds an ask at 60,100.00 (cheap enough to buy and sell on a venue
 * bidding 60,300), each even update removes it.
 */
export function generateDislocationStream(n: number, symbol = 'BTCUSDT'): Stream {
  const bids: [string, string][] = []
  const asks: [string, string][] = []
  for (let i = 1; i <= 200; i++) {
    bids.push([(60000 - i / 100).toFixed(2), '1.00000000'])
    asks.push([(60200 + i / 100).toFixed(2), '1.00000000'])
  }
  const snapshot = JSON.stringify({ lastUpdateId: 0, bids, asks })
  const events: string[] = new Array(n)
  let bytes = 0
  for (let id = 1; id <= n; id++) {
    const qty = id % 2 === 1 ? '1.00000000' : '0.00000000'
    const e = `{"e":"depthUpdate","E":${1_700_000_000_000 + id},"s":"${symbol}","U":${id},"u":${id},"b":[["59999.50","2.00000000"]],"a":[["60100.00","${qty}"]]}`
    events[id - 1] = e
    bytes += e.length
  }
  return { events, snapshot, bytes }
}
