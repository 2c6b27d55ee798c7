/**
 * @module
 * Fee- and depth-aware spread maths, pure: books in (best-first levels), numbers out. Sizes are in
 * the quote currency, spreads in basis points, fees in basis points of notional per fill.
 *
 * Model of a cross-venue trade of size q: spend q quote on venue A walking its asks, pay A's
 * taker fee out of the base received, sell that base on venue B walking its bids, pay B's taker
 * fee out of the quote received. Net spread = (proceeds after fees - q) / q. Chains of legs
 * (triangles, cross-quote routes) pass each leg's output after its fee to the next leg.
 */
import type { Level, Pair, VenueId } from '../types.ts'
import type { OpeningWalk, WalkLeg, WalkLevel } from './types.ts'

export const BPS = 10_000

/** Result of walking one side of a book. `filled` is false when the book ran out first. */
export interface Fill {
  /** What came out: base bought, or quote received. */
  readonly out: number
  readonly filled: boolean
}

/** Spends `quote` on `asks` (best first); returns the base bought. */
export function buyWithQuote(asks: readonly Level[], quote: number): Fill {
  let left = quote
  let base = 0
  for (let i = 0; i < asks.length; i++) {
    const { px, qty } = asks[i]!
    const cost = px * qty
    if (cost >= left) return { out: base + left / px, filled: true }
    base += qty
    left -= cost
  }
  return { out: base, filled: left <= 0 }
}

/** Sells `base` into `bids` (best first); returns the quote received. */
export function sellBase(bids: readonly Level[], base: number): Fill {
  let left = base
  let quote = 0
  for (let i = 0; i < bids.length; i++) {
    const { px, qty } = bids[i]!
    if (qty >= left) return { out: quote + left * px, filled: true }
    quote += qty * px
    left -= qty
  }
  return { out: quote, filled: left <= 0 }
}

export interface CrossInput {
  /** The buy venue's asks, best first. */
  readonly asks: readonly Level[]
  /** The sell venue's bids, best first. */
  readonly bids: readonly Level[]
  readonly buyFeeBps: number
  readonly sellFeeBps: number
  readonly sizeQuote: number
  /** Net spread the max size is computed against, basis points. */
  readonly thresholdBps: number
}

export type Depth = 'ok' | 'buy-side-too-thin' | 'sell-side-too-thin' | 'empty-book'

export interface CrossResult {
  /** Top of book: (bestBid_B - bestAsk_A) / bestAsk_A. NaN when a side is empty. */
  readonly grossBps: number
  /** Net spread at `sizeQuote` after fees; NaN when the books cannot fill the size. */
  readonly netBps: number
  readonly depth: Depth
  readonly buyPrice: number
  readonly sellPrice: number
  readonly profitQuote: number
  readonly maxSizeQuote: number
  readonly maxProfitQuote: number
  /** Both fees, basis points. */
  readonly feeBps: number
}

/** Top-of-book gross spread in bps, or NaN when either side is empty. */
export function grossSpreadBps(asks: readonly Level[], bids: readonly Level[]): number {
  const ask = asks[0]
  const bid = bids[0]
  if (ask === undefined || bid === undefined) return NaN
  return ((bid.px - ask.px) / ask.px) * BPS
}

/**
 * Upper bound of the net spread at any size: the top of book after both fees. When this is below
 * a threshold, no size can reach it, which lets the detector skip the depth walk.
 */
export function topNetBps(
  asks: readonly Level[],
  bids: readonly Level[],
  buyFeeBps: number,
  sellFeeBps: number,
): number {
  const ask = asks[0]
  const bid = bids[0]
  if (ask === undefined || bid === undefined) return NaN
  return ((1 - buyFeeBps / BPS) * (1 - sellFeeBps / BPS) * (bid.px / ask.px) - 1) * BPS
}

/**
 * The full cross-venue computation: gross at the top, net at the trade size, and the largest size
 * whose net spread is still at or above the threshold.
 *
 * @example
 * ```ts
 * const r = crossSpread({ asks: a.book.asks, bids: b.book.bids, buyFeeBps: 10, sellFeeBps: 40,
 *   sizeQuote: 1000, thresholdBps: 10 })
 * if (r.depth === 'ok' && r.netBps >= 10) { ... }
 * ```
 */
export function crossSpread(input: CrossInput): CrossResult {
  const { asks, bids, buyFeeBps, sellFeeBps, sizeQuote } = input
  const grossBps = grossSpreadBps(asks, bids)
  const feeBps = buyFeeBps + sellFeeBps
  const max = maxSizeAtThreshold(input)
  if (Number.isNaN(grossBps)) {
    return {
      grossBps,
      netBps: NaN,
      depth: 'empty-book',
      buyPrice: NaN,
      sellPrice: NaN,
      profitQuote: NaN,
      feeBps,
      ...max,
    }
  }
  const bought = buyWithQuote(asks, sizeQuote)
  if (!bought.filled) {
    return {
      grossBps,
      netBps: NaN,
      depth: 'buy-side-too-thin',
      buyPrice: NaN,
      sellPrice: NaN,
      profitQuote: NaN,
      feeBps,
      ...max,
    }
  }
  const baseAfterFee = bought.out * (1 - buyFeeBps / BPS)
  const sold = sellBase(bids, baseAfterFee)
  const buyPrice = sizeQuote / bought.out
  if (!sold.filled) {
    return {
      grossBps,
      netBps: NaN,
      depth: 'sell-side-too-thin',
      buyPrice,
      sellPrice: NaN,
      profitQuote: NaN,
      feeBps,
      ...max,
    }
  }
  const proceeds = sold.out * (1 - sellFeeBps / BPS)
  const sellPrice = sold.out / baseAfterFee
  return { grossBps, ...filled(proceeds, sizeQuote), buyPrice, sellPrice, feeBps, ...max }
}

/** The net figures of a trade of `sizeQuote` that came back as `proceeds` after every fee. */
function filled(proceeds: number, sizeQuote: number) {
  const profitQuote = proceeds - sizeQuote
  return { netBps: (profitQuote / sizeQuote) * BPS, depth: 'ok' as const, profitQuote }
}

/** What the largest profitable size depends on: books, fees and threshold, not the trade size. */
export type MaxSizeInput = Omit<CrossInput, 'sizeQuote'>

/** The largest size whose average net is still at a threshold, and the profit there. */
export interface MaxSize {
  /** Quote currency (a chain's start asset); 0 when no size reaches the threshold. */
  readonly maxSizeQuote: number
  readonly maxProfitQuote: number
}

/**
 * Largest size (quote currency) whose average net spread is still at or above the threshold, and
 * the profit there. Exact, in one merged walk of both books: between level boundaries each extra
 * unit of quote returns a constant r = (1-fA)(1-fB)·bid/ask, so the average net falls
 * monotonically and the crossing point is solved in closed form. Limited by the books' depth; 0
 * when even the top of book is below the threshold. It does not depend on the trade size, so any
 * threshold can be asked of the same books (a chat's own `/threshold`).
 *
 * @example
 * ```ts
 * maxSizeAtThreshold({ asks: a.book.asks, bids: b.book.bids, buyFeeBps: 10, sellFeeBps: 10, thresholdBps: 50 })
 * ```
 */
export function maxSizeAtThreshold(input: MaxSizeInput): MaxSize {
  const { asks, bids, buyFeeBps, sellFeeBps, thresholdBps } = input
  const keepA = 1 - buyFeeBps / BPS
  const keepB = 1 - sellFeeBps / BPS
  const target = 1 + thresholdBps / BPS
  let i = 0
  let j = 0
  let askLeft = asks[0]?.qty ?? 0 // base left at the current ask level
  let bidLeft = bids[0]?.qty ?? 0 // base left at the current bid level
  let spent = 0 // quote spent so far
  let got = 0 // quote back after both fees
  while (i < asks.length && j < bids.length) {
    const pa = asks[i]!.px
    const pb = bids[j]!.px
    const r = keepA * keepB * (pb / pa)
    // Quote that exhausts the ask level, or the bid level (which takes bidLeft/keepA base bought).
    const dqAsk = askLeft * pa
    const dqBid = (bidLeft / keepA) * pa
    const dq = Math.min(dqAsk, dqBid)
    const endSpent = spent + dq
    const endGot = got + r * dq
    if (endGot < target * endSpent) return crossing(spent, got, r, target)
    spent = endSpent
    got = endGot
    const baseBought = dq / pa
    askLeft -= baseBought
    bidLeft -= baseBought * keepA
    if (dq === dqAsk) {
      i++
      askLeft = asks[i]?.qty ?? 0
    }
    if (dq === dqBid || bidLeft <= 1e-15) {
      j++
      bidLeft = bids[j]?.qty ?? 0
    }
  }
  return { maxSizeQuote: spent, maxProfitQuote: got - spent }
}

/**
 * Where the average return falls to `target` inside a segment that returns `r` per extra unit,
 * having spent `spent` for `got` before it: solved in closed form (the segment's start when the
 * average never reached it, or at a numerical edge where r >= target).
 */
function crossing(spent: number, got: number, r: number, target: number): MaxSize {
  const q = r >= target ? spent : (got - r * spent) / (target - r)
  if (q <= spent) return { maxSizeQuote: spent, maxProfitQuote: got - spent }
  return { maxSizeQuote: q, maxProfitQuote: got + r * (q - spent) - q }
}

/** One leg of a triangle: buy the market's base with its quote (walk asks) or sell the base. */
export interface TriangleLegBook {
  readonly side: 'buy' | 'sell'
  /** Asks for a buy leg, bids for a sell leg, best first. */
  readonly levels: readonly Level[]
  readonly feeBps: number
}

export interface TriangleResult {
  readonly grossBps: number
  readonly netBps: number
  readonly depth: 'ok' | 'too-thin' | 'empty-book'
  /** Volume-weighted price of each leg at the trade size (NaN where it could not fill). */
  readonly legPrices: readonly number[]
  readonly profitQuote: number
  readonly maxSizeQuote: number
  readonly maxProfitQuote: number
  readonly feeBps: number
}

/** Runs `amount` of the start asset around the cycle; NaN when a leg cannot fill. */
function runCycle(legs: readonly TriangleLegBook[], amount: number, prices?: number[]): number {
  let x = amount
  for (let k = 0; k < legs.length; k++) {
    const leg = legs[k]!
    const fill = leg.side === 'buy' ? buyWithQuote(leg.levels, x) : sellBase(leg.levels, x)
    if (!fill.filled) return NaN
    if (prices) prices[k] = leg.side === 'buy' ? x / fill.out : fill.out / x
    x = fill.out * (1 - leg.feeBps / BPS)
  }
  return x
}

/** Top-of-book gross of a cycle, bps (no fees), NaN when a book is empty. */
export function triangleGrossBps(legs: readonly TriangleLegBook[]): number {
  let x = 1
  for (const leg of legs) {
    const top = leg.levels[0]
    if (top === undefined) return NaN
    x = leg.side === 'buy' ? x / top.px : x * top.px
  }
  return (x - 1) * BPS
}

/** Top-of-book net of a cycle after every leg's fee: an upper bound of the net at any size. */
export function triangleTopNetBps(legs: readonly TriangleLegBook[]): number {
  let keep = 1
  for (const leg of legs) keep *= 1 - leg.feeBps / BPS
  return ((1 + triangleGrossBps(legs) / BPS) * keep - 1) * BPS
}

/**
 * A chain of legs at a trade size (in the start asset), fees on every leg: a triangular cycle on
 * one venue, or a cross-quote route across two (buy X/Q1 on A, sell X/Q2 on B, convert Q2 to Q1
 * on B). The largest size still at the threshold is exact (see `chainMaxSize`).
 *
 * @example
 * ```ts
 * // USDT → BTC → USD → USDT: buy BTC/USDT on A, sell BTC/USD on B, buy USDT/USD on B.
 * const r = triangleSpread([
 *   { side: 'buy', levels: a.asks, feeBps: 10 },
 *   { side: 'sell', levels: b.bids, feeBps: 40 },
 *   { side: 'buy', levels: conversion.asks, feeBps: 40 },
 * ], 1000, 10)
 * ```
 */
export function triangleSpread(
  legs: readonly TriangleLegBook[],
  sizeQuote: number,
  thresholdBps: number,
): TriangleResult {
  const grossBps = triangleGrossBps(legs)
  const feeBps = legs.reduce((s, l) => s + l.feeBps, 0)
  const legPrices = legs.map(() => NaN)
  if (Number.isNaN(grossBps)) {
    return {
      grossBps,
      netBps: NaN,
      depth: 'empty-book',
      legPrices,
      profitQuote: NaN,
      maxSizeQuote: 0,
      maxProfitQuote: 0,
      feeBps,
    }
  }
  const out = runCycle(legs, sizeQuote, legPrices)
  const max = chainMaxSize(legs, thresholdBps)
  if (Number.isNaN(out)) {
    return { grossBps, netBps: NaN, depth: 'too-thin', legPrices, profitQuote: NaN, feeBps, ...max }
  }
  return { grossBps, ...filled(out, sizeQuote), legPrices, feeBps, ...max }
}

/** What one level of a leg takes in (quote for a buy, base for a sell) and gives per unit. */
const levelInput = (side: 'buy' | 'sell', l: Level) => (side === 'buy' ? l.px * l.qty : l.qty)
const levelRate = (side: 'buy' | 'sell', l: Level) => (side === 'buy' ? 1 / l.px : l.px)

/**
 * Largest size (start asset) of a chain of legs whose average net is still at or above the
 * threshold, and the profit there; limited by the books' depth. Exact, in one merged walk of every
 * leg's book, as `maxSizeAtThreshold` does for two: between level boundaries each extra unit of
 * the start asset returns a constant product of the legs' rates after fees, so the average falls
 * monotonically and the crossing point is solved in closed form. 0 when even the top of book is
 * below the threshold. Triangles and cross-quote routes alike (any threshold, as for two legs).
 */
export function chainMaxSize(legs: readonly TriangleLegBook[], thresholdBps: number): MaxSize {
  if (!(triangleTopNetBps(legs) >= thresholdBps)) return { maxSizeQuote: 0, maxProfitQuote: 0 }
  const n = legs.length
  const target = 1 + thresholdBps / BPS
  const level = new Array<number>(n).fill(0)
  /** Input left at each leg's current level, in that leg's input asset. */
  const left = legs.map((l) => levelInput(l.side, l.levels[0]!))
  /** Units of each leg's input per unit of the start asset, at the current levels. */
  const per = new Array<number>(n).fill(0)
  let spent = 0 // start asset put in so far
  let got = 0 // start asset back after every fee
  for (;;) {
    let r = 1
    let dq = Infinity
    for (let k = 0; k < n; k++) {
      const leg = legs[k]!
      const l = leg.levels[level[k]!]
      if (l === undefined) return { maxSizeQuote: spent, maxProfitQuote: got - spent }
      per[k] = r
      dq = Math.min(dq, left[k]! / r)
      r *= levelRate(leg.side, l) * (1 - leg.feeBps / BPS)
    }
    const endSpent = spent + dq
    const endGot = got + r * dq
    if (endGot < target * endSpent) return crossing(spent, got, r, target)
    spent = endSpent
    got = endGot
    for (let k = 0; k < n; k++) {
      const leg = legs[k]!
      const whole = levelInput(leg.side, leg.levels[level[k]!]!)
      left[k] = left[k]! - dq * per[k]!
      if (left[k]! <= whole * 1e-12) {
        level[k]!++
        const next = leg.levels[level[k]!]
        left[k] = next === undefined ? 0 : levelInput(leg.side, next)
      }
    }
  }
  return { maxSizeQuote: spent, maxProfitQuote: got - spent }
}

/** One leg as `walkChain` reads it: a buy walks `levels` (asks), a sell walks them (bids). */
export interface WalkLegBook extends TriangleLegBook {
  readonly venue: VenueId
  readonly market: Pair
}

/**
 * The walk behind a quote, level by level: the same arithmetic, in the same order, as
 * `crossSpread` (two legs: buy, then sell) and `triangleSpread` (three), so the last leg's
 * `amountAfterFee` is the very proceeds their net was computed from. Allocates; the detector
 * calls it only when an opportunity opens, never per book update.
 *
 * @returns undefined when a leg's book cannot fill its amount
 * @example
 * ```ts
 * const walk = walkChain([
 *   { venue: 'binance', market: 'BTC/USDT', side: 'buy', levels: a.asks, feeBps: 10 },
 *   { venue: 'kraken', market: 'BTC/USDT', side: 'sell', levels: b.bids, feeBps: 26 },
 * ], 1000)
 * ```
 */
export function walkChain(
  legs: readonly WalkLegBook[],
  sizeQuote: number,
): OpeningWalk | undefined {
  let x = sizeQuote
  const out: WalkLeg[] = []
  for (const leg of legs) {
    const levels: WalkLevel[] = []
    const fill =
      leg.side === 'buy' ? walkBuy(leg.levels, x, levels) : walkSell(leg.levels, x, levels)
    if (!fill.filled) return undefined
    const after = fill.out * (1 - leg.feeBps / BPS)
    out.push({
      venue: leg.venue,
      market: leg.market,
      side: leg.side,
      feeBps: leg.feeBps,
      levels,
      amountIn: x,
      amountOut: fill.out,
      amountAfterFee: after,
    })
    x = after
  }
  return { sizeQuote, legs: out }
}

/** `buyWithQuote`, noting each level used in `used`. */
function walkBuy(asks: readonly Level[], quote: number, used: WalkLevel[]): Fill {
  let left = quote
  let base = 0
  for (let i = 0; i < asks.length; i++) {
    const { px, qty, pxText, qtyText } = asks[i]!
    const cost = px * qty
    if (cost >= left) {
      const taken = left / px
      used.push({ pxText, qtyText, taken })
      return { out: base + taken, filled: true }
    }
    used.push({ pxText, qtyText, taken: qty })
    base += qty
    left -= cost
  }
  return { out: base, filled: left <= 0 }
}

/** `sellBase`, noting each level used in `used`. */
function walkSell(bids: readonly Level[], base: number, used: WalkLevel[]): Fill {
  let left = base
  let quote = 0
  for (let i = 0; i < bids.length; i++) {
    const { px, qty, pxText, qtyText } = bids[i]!
    if (qty >= left) {
      used.push({ pxText, qtyText, taken: left })
      return { out: quote + left * px, filled: true }
    }
    used.push({ pxText, qtyText, taken: qty })
    quote += qty * px
    left -= qty
  }
  return { out: quote, filled: left <= 0 }
}
