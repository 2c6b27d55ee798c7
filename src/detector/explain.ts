/**
 * @module
 * `/explain`: the arithmetic behind an opportunity's opening net, from the walk stored with it
 * (`OpeningWalk`): each leg's book levels as the venue sent them and what was taken of each, the
 * size-weighted price, each taker fee, the gross and the net. Pure; every number shown is enough
 * to redo the sum by hand, and the net it ends with is the one the detector opened at.
 */
import { splitPair } from '../symbols.ts'
import { BPS, walkChain, type WalkLegBook } from './spread.ts'
import type { OpportunityRecord } from './record.ts'
import type { OpeningWalk, WalkLeg } from './types.ts'

/** What a leg spends and what it gets: a buy spends the quote for the base, a sell the reverse. */
function assets(leg: WalkLeg): { spent: string; got: string; base: string; quote: string } {
  const { base, quote } = splitPair(leg.market)
  return leg.side === 'buy'
    ? { spent: quote, got: base, base, quote }
    : { spent: base, got: quote, base, quote }
}

const AMOUNT = new Intl.NumberFormat('en-US', { maximumSignificantDigits: 10 })

/** An amount to 10 significant digits, grouped: 1002.991005 → `1,002.991005`. */
function amount(x: number): string {
  return AMOUNT.format(x)
}

/** A price or quantity as the venue sent it, its integer part grouped: `60000.10` → `60,000.10`. */
function grouped(text: string): string {
  const m = /^(\d+)(\.\d+)?$/.exec(text)
  if (m === null) return text
  return `${m[1]!.replace(/\B(?=(\d{3})+(?!\d))/g, ',')}${m[2] ?? ''}`
}

const signed = (x: number, digits: number) => `${x >= 0 ? '+' : ''}${x.toFixed(digits)}`

/** A spread in basis points as `+0.30% (29.91 bps)`. */
export function spreadText(bps: number): string {
  return `${signed(bps / 100, 2)}% (${signed(bps, 2)} bps)`
}

/**
 * The net of a walk in basis points: what came back after every fee against the trade size, by
 * the same arithmetic as the detector's (`spread.ts`), so it is the net the opportunity opened at.
 */
export function walkNetBps(walk: OpeningWalk): number {
  const proceeds = walk.legs.at(-1)?.amountAfterFee ?? NaN
  const profit = proceeds - walk.sizeQuote
  return (profit / walk.sizeQuote) * BPS
}

/**
 * The books a walk read, as far as it read them: each leg's levels, best first, at the full
 * quantity the venue sent (the last one too, of which the walk took only part). Nothing past the
 * last level was read, so walking these again is walking the whole books for any amount they fill.
 */
function walkedBooks(walk: OpeningWalk): WalkLegBook[] {
  return walk.legs.map((leg) => ({
    venue: leg.venue,
    market: leg.market,
    side: leg.side,
    feeBps: leg.feeBps,
    levels: leg.levels.map((l) => ({
      px: Number(l.pxText),
      qty: Number(l.qtyText),
      pxText: l.pxText,
      qtyText: l.qtyText,
    })),
  }))
}

/**
 * The opening walk again at another trade size (in its start asset), over the same book levels
 * and fees, by the detector's own walk (`walkChain`): exact for any size those levels fill. That
 * is every size up to the one walked, and a little beyond while the rest of each leg's last level
 * lasts (cross, triangle and cross-quote routes alike: each leg gets what the one before left
 * after its fee).
 *
 * @returns undefined when a leg would need a level the walk never read (the size is beyond what
 *   the walk covers, so its net is unknown), or for a size that is not positive
 * @example
 * ```ts
 * walkAt(record.walk!, 500)?.legs[0]!.levels // the levels a 500 trade would have taken
 * ```
 */
export function walkAt(walk: OpeningWalk, sizeQuote: number): OpeningWalk | undefined {
  if (walk.legs.length === 0 || !(sizeQuote > 0) || !Number.isFinite(sizeQuote)) return undefined
  return walkChain(walkedBooks(walk), sizeQuote)
}

/**
 * An opening's net at a trade size, basis points, from the walk stored with it: what
 * `walkNetBps` gives of `walkAt` (the walk itself at the size it was walked at).
 *
 * @param walk the stored walk; undefined for opportunities recorded before walks were kept
 * @returns undefined when it cannot be known: no walk, or a size beyond what the walk covers
 * @example
 * ```ts
 * walkNetBpsAt(record.walk, 500) // e.g. 41.9: better than at 1000, fewer levels walked
 * ```
 */
export function walkNetBpsAt(walk: OpeningWalk | undefined, sizeQuote: number): number | undefined {
  if (walk === undefined || walk.legs.length === 0) return undefined
  const at = sizeQuote === walk.sizeQuote ? walk : walkAt(walk, sizeQuote)
  return at === undefined ? undefined : walkNetBps(at)
}

/** The asset the trade size and the profit are counted in: what the first leg spends. */
export function startAsset(walk: OpeningWalk): string {
  const first = walk.legs[0]
  return first === undefined ? '' : assets(first).spent
}

function route(r: OpportunityRecord): string {
  if (r.kind === 'triangle') return `triangle ${r.symbol} on ${r.buyVenue}`
  return `${r.kind} ${r.symbol}: buy on ${r.buyVenue}, sell on ${r.sellVenue}`
}

function legLines(leg: WalkLeg, n: number): string[] {
  const { spent, got, base, quote } = assets(leg)
  const book = leg.side === 'buy' ? 'asks' : 'bids'
  const lines = [
    `${n}. ${leg.side} ${leg.market} on ${leg.venue}, walking its ${book} with ${amount(leg.amountIn)} ${spent}:`,
  ]
  for (let i = 0; i < leg.levels.length; i++) {
    const l = leg.levels[i]!
    const value = l.taken * Number(l.pxText)
    const whole = i < leg.levels.length - 1
    const of = whole
      ? 'the whole level'
      : `of ${grouped(l.qtyText)} ${leg.side === 'buy' ? 'offered' : 'bid'}`
    lines.push(
      `   ${leg.side} ${amount(l.taken)} ${base} at ${grouped(l.pxText)} = ${amount(value)} ${quote} (${of})`,
    )
  }
  const [baseAmount, quoteAmount] =
    leg.side === 'buy' ? [leg.amountOut, leg.amountIn] : [leg.amountIn, leg.amountOut]
  lines.push(
    `   ${amount(leg.amountIn)} ${spent} for ${amount(leg.amountOut)} ${got}: size-weighted price ${amount(quoteAmount)} / ${amount(baseAmount)} = ${amount(quoteAmount / baseAmount)} ${quote}`,
  )
  const fee = leg.amountOut - leg.amountAfterFee
  lines.push(
    `   taker fee ${leg.feeBps} bps of ${amount(leg.amountOut)} ${got} = ${amount(fee)} ${got}, leaving ${amount(leg.amountAfterFee)} ${got}`,
  )
  return lines
}

/**
 * The opening arithmetic of a stored opportunity, one line each: the route and trade size, each
 * leg's levels (`buy 0.0166 BTC at 60,000.10 = 1,000 USDT`), size-weighted price and fee, the
 * gross at the top of book and before fees at the size, and last the net, in % (two decimals)
 * and bps, the same as the record's `netBpsOpen`.
 *
 * @param r a record with its `walk` (one stored before walks were kept gets a line saying so)
 * @example
 * ```ts
 * explain(await store.getOpportunity(id)).join('\n')
 * ```
 */
export function explain(r: OpportunityRecord): string[] {
  const walk = r.walk
  if (walk === undefined || walk.legs.length === 0) {
    return [
      `${r.id} was recorded before opening walks were kept: its net (${spreadText(r.netBpsOpen)}) cannot be explained level by level.`,
    ]
  }
  const asset = startAsset(walk)
  const lines = [
    `${route(r)}, opened ${new Date(r.openedAtMs).toISOString()} at a trade of ${amount(walk.sizeQuote)} ${asset}.`,
  ]
  walk.legs.forEach((leg, k) => lines.push(...legLines(leg, k + 1)))
  const fees = walk.legs.map((l) => l.feeBps)
  const feeSum = fees.reduce((s, f) => s + f, 0)
  lines.push(
    `Fees: ${fees.length > 1 ? `${fees.join(' + ')} = ` : ''}${feeSum} bps, each taken from what its leg got.`,
  )
  lines.push(`Gross at the top of book: ${spreadText(r.grossBpsOpen)}.`)
  // Before fees, at the walked prices: one unit divided by each buy's price, times each sale's.
  let x = 1
  let sum = '1'
  for (const l of walk.legs) {
    const price = l.side === 'buy' ? l.amountIn / l.amountOut : l.amountOut / l.amountIn
    x = l.side === 'buy' ? x / price : x * price
    sum += ` ${l.side === 'buy' ? '÷' : '×'} ${amount(price)}`
  }
  lines.push(`Gross at this size before fees: ${sum} − 1 = ${spreadText((x - 1) * BPS)}.`)
  const proceeds = walk.legs.at(-1)!.amountAfterFee
  const profit = proceeds - walk.sizeQuote
  const net = walkNetBps(walk)
  lines.push(
    `Back after every fee: ${amount(proceeds)} ${asset} for ${amount(walk.sizeQuote)} ${asset}, ${profit >= 0 ? '+' : ''}${amount(profit)} ${asset}.`,
  )
  if (Math.abs(net - r.netBpsOpen) > 1e-6) {
    lines.push(`(The net recorded at the opening was ${spreadText(r.netBpsOpen)}.)`)
  }
  lines.push(
    `Net: (${amount(proceeds)} − ${amount(walk.sizeQuote)}) / ${amount(walk.sizeQuote)} = ${spreadText(net)}.`,
  )
  return lines
}
