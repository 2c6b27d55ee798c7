/**
 * @module
 * Alert text, pure: an opportunity record in, platform-free text out.
 */
import { venueName } from '../venues/index.ts'
import type { OpportunityRecord } from '../detector/record.ts'
import { marketOn, type MovingVenue } from './group.ts'
import type { AlertText } from './notifier.ts'
import type { TransferMode } from '../transfers/types.ts'
import type { VenueId } from '../types.ts'

/**
 * This chat's numbers: the net spread at the chat's own size when the alert was made, and the
 * largest profitable size at its own threshold (a delivery row has all of them).
 */
export interface ChatQuote {
  readonly netBps: number
  readonly sizeQuote: number
  /** This chat's `/transfer` setting: `off` hides the transfer line (default: shown). */
  readonly transfer?: TransferMode
  /**
   * The chat's threshold when the opportunity opened, bps: the largest profitable size shown is
   * at it. Null or absent: not known (rows written before 0011), the record's figure is shown
   * without naming a threshold.
   */
  readonly thresholdBps?: number | null
  /**
   * The largest profitable size at `thresholdBps` and the profit there, from the opening's books.
   * Null or absent: the record's own figures are at that threshold (MIN_SPREAD_PCT), and current.
   */
  readonly maxSizeQuote?: number | null
  readonly maxProfitQuote?: number | null
}

/** The largest profitable size an alert shows a chat. */
export interface LargestShown {
  readonly sizeQuote: number
  readonly profitQuote: number
  /** The threshold it is at, bps; undefined when not known (it is then MIN_SPREAD_PCT's). */
  readonly thresholdBps: number | undefined
  /** The chat's own figure from the opening, while the record has moved on since (or closed). */
  readonly asOpened: boolean
}

/** The record has changed since it opened: it updated, or it closed. */
const movedOn = (o: OpportunityRecord): boolean =>
  o.closedAtMs !== null || o.updatedAtMs > o.openedAtMs

/**
 * The largest profitable size at the chat's own threshold: the delivery's figure, computed from
 * the books the opportunity opened on at that threshold (the record's is at MIN_SPREAD_PCT), kept
 * on edits and then said to be as it opened; or, when the chat's threshold is MIN_SPREAD_PCT (the
 * delivery has no figure of its own), the record's current one, which every edit recomputes.
 */
export function largestShown(o: OpportunityRecord, chat: ChatQuote): LargestShown {
  const thresholdBps = chat.thresholdBps ?? undefined
  if (thresholdBps !== undefined && chat.maxSizeQuote != null && chat.maxProfitQuote != null) {
    return {
      sizeQuote: chat.maxSizeQuote,
      profitQuote: chat.maxProfitQuote,
      thresholdBps,
      asOpened: movedOn(o),
    }
  }
  return {
    sizeQuote: o.maxSizeQuote,
    profitQuote: o.maxProfitQuote,
    thresholdBps,
    asOpened: false,
  }
}

/** The badge word for a status. */
const STATUS_WORD = {
  transferable: 'transferable',
  blocked: 'BLOCKED',
  unknown: 'unknown',
} as const

/** 81.234 bps → "0.81%". */
export const pct = (bps: number, digits = 2): string => `${(bps / 100).toFixed(digits)}%`

/** A price with sensible precision: 60123.5 → "60,123.50", 0.0512345 → "0.051235". */
export function price(x: number): string {
  if (!Number.isFinite(x)) return 'n/a'
  const digits = x >= 1000 ? 2 : x >= 1 ? 4 : 6
  return x.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits })
}

/** An amount of the quote currency: 1234.5 → "1,234.50". */
export const amount = (x: number): string =>
  Number.isFinite(x)
    ? x.toLocaleString('en-US', { minimumFractionDigits: 2, maximumFractionDigits: 2 })
    : 'n/a'

/** 42_300 ms → "42 s", 185_000 → "3 min 5 s", 7_500_000 → "2 h 5 min". */
export function duration(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000))
  if (s < 60) return `${s} s`
  const m = Math.floor(s / 60)
  if (m < 60) return s % 60 === 0 ? `${m} min` : `${m} min ${s % 60} s`
  const h = Math.floor(m / 60)
  return m % 60 === 0 ? `${h} h` : `${h} h ${m % 60} min`
}

/** A quote's age as a trader reads it: 249 ms → "249 ms", 1,480 → "1.5 s", 75,000 → "1 min 15 s". */
export function age(ms: number): string {
  if (!Number.isFinite(ms) || ms < 0) return 'n/a'
  if (ms < 1000) return `${Math.round(ms)} ms`
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`
  return duration(ms)
}

/** 1795307804603 → "2026-11-22 14:36:44.603 UTC". */
const utc = (ms: number): string =>
  `${new Date(ms).toISOString().replace('T', ' ').slice(0, 23)} UTC`

/** 1795307804603 → "2026-11-22 14:36 UTC" (to the minute). */
export const utcMinute = (ms: number): string =>
  `${new Date(ms).toISOString().replace('T', ' ').slice(0, 16)} UTC`

/**
 * A route in a few words: `BTC/USDT buy Binance, sell Kraken`, a cross-quote route likewise with
 * its two markets, `Triangle USDT>BTC>ETH>USDT on Binance`.
 */
export function routeLabel(
  o: Pick<OpportunityRecord, 'kind' | 'symbol' | 'buyVenue' | 'sellVenue'>,
): string {
  return o.kind === 'triangle'
    ? `Triangle ${o.symbol} on ${venueName(o.buyVenue)}`
    : `${o.symbol} buy ${venueName(o.buyVenue)}, sell ${venueName(o.sellVenue)}`
}

/** "Binance", "Binance and OKX", "Binance, OKX and Bybit", "5 venues". */
function venueList(venues: readonly string[]): string {
  const names = [...new Set(venues)].map(venueName)
  if (names.length > 3) return `${names.length} venues`
  return names.length === 1 ? names[0]! : `${names.slice(0, -1).join(', ')} and ${names.at(-1)}`
}

/**
 * The currency sizes and profits are in: the market's quote (cross), the cycle's first asset
 * (triangle, `USDT>BTC>ETH>USDT`), the bought market's quote (cross-quote, `BTC/USDT>BTC/USD`).
 */
function quoteOf(o: OpportunityRecord): string {
  switch (o.kind) {
    case 'cross':
      return o.symbol.split('/')[1] ?? ''
    case 'triangle':
      return o.symbol.split('>')[0] ?? ''
    case 'cross-quote':
      return o.symbol.split('>')[0]?.split('/')[1] ?? ''
  }
}

/**
 * One line per leg of a cross-quote route: buy on the first venue, sell on the second, and the
 * conversion back to the starting quote on the second venue's book, e.g.
 * `3. Convert USD→USDT on Kraken (buy USDT/USD at 1.0010)`.
 */
function crossQuoteLines(o: OpportunityRecord): string[] {
  const [buy, sell, convert] = o.legs ?? []
  if (buy === undefined || sell === undefined || convert === undefined) return []
  const from = sell.market.split('/')[1]
  const to = buy.market.split('/')[1]
  const side = convert.side === 'buy' ? 'buy' : 'sell'
  return [
    `1. Buy ${buy.market} on ${venueName(buy.venue)} at ${price(buy.price)} (quote ${age(o.buyAgeMs)} old)`,
    `2. Sell ${sell.market} on ${venueName(sell.venue)} at ${price(sell.price)}`,
    `3. Convert ${from}→${to} on ${venueName(convert.venue)} (${side} ${convert.market} at ${price(convert.price)})`,
    `Sell and conversion quotes up to ${age(o.sellAgeMs)} old`,
  ]
}

/**
 * The alert for one chat: everything a trader needs to judge it, and, once closed, how long it
 * lasted and its peak.
 *
 * @example
 * ```ts
 * formatAlert(record, { netBps: 42, sizeQuote: 1000 }, Date.now()).title
 * // 'BTC/USDT: buy <buy venue's name>, sell <sell venue's name>, net 0.42%'
 * // a cross-quote route: 'BTC/USDT>BTC/USD: buy Binance, sell Kraken, net 0.42%', its lines
 * // listing the buy, the sell and the conversion leg with their venues
 * ```
 */
/** What every alert of this process shares: the taker fee each venue is charged at. */
export interface AlertContext {
  /** Taker fee per venue, bps (`FEE_BPS_<VENUE>` or the venue's default). */
  readonly feeBps?: Readonly<Record<VenueId, number>>
  /** The dashboard's public address (`PUBLIC_URL`): each alert links to its opportunity page. */
  readonly publicUrl?: string
}

export function formatAlert(
  o: OpportunityRecord,
  chat: ChatQuote,
  nowMs: number,
  context: AlertContext = {},
): AlertText {
  const q = quoteOf(o)
  const closed = o.closedAtMs !== null
  // Every line from the same numbers: the record's current net at its size (an edit recomputes
  // them all); a chat trading another size keeps its own net from the opening, and a chat with
  // another threshold its own largest profitable size from the opening, and each says so.
  const ownSize = chat.sizeQuote !== o.sizeQuote
  const net = ownSize ? chat.netBps : o.netBps
  const lines: string[] = []
  let title: string
  if (o.kind === 'cross') {
    title = `${o.symbol}: buy ${venueName(o.buyVenue)}, sell ${venueName(o.sellVenue)}, net ${pct(net)}`
    lines.push(
      `Buy on ${venueName(o.buyVenue)} at ${price(o.buyPrice)} (quote ${age(o.buyAgeMs)} old)`,
      `Sell on ${venueName(o.sellVenue)} at ${price(o.sellPrice)} (quote ${age(o.sellAgeMs)} old)`,
    )
  } else if (o.kind === 'cross-quote') {
    title = `${o.symbol}: buy ${venueName(o.buyVenue)}, sell ${venueName(o.sellVenue)}, net ${pct(net)}`
    lines.push(...crossQuoteLines(o))
  } else {
    title = `Triangle on ${venueName(o.buyVenue)}: ${o.symbol}, net ${pct(net)}`
    for (const [i, leg] of (o.legs ?? []).entries()) {
      lines.push(
        `${i + 1}. ${leg.side === 'buy' ? 'Buy' : 'Sell'} ${leg.market} at ${price(leg.price)}`,
      )
    }
    lines.push(`Quotes up to ${age(Math.max(o.buyAgeMs, o.sellAgeMs))} old`)
  }
  const t = o.transfer
  if (t !== null && chat.transfer !== 'off') {
    lines.push(`Transfer ${STATUS_WORD[t.status]}: ${t.line}`)
    if (t.netAfterFeeBps !== undefined) {
      lines.push(`Net after that withdrawal fee: ${pct(t.netAfterFeeBps)}`)
    }
  }
  const largest = largestShown(o, chat)
  const at =
    largest.thresholdBps === undefined ? '' : ` at your ${pct(largest.thresholdBps)} threshold`
  lines.push(
    `Net ${pct(net)} after fees (${pct(o.feeBps)} taker in total), gross ${pct(o.grossBps)}`,
    `Size ${amount(chat.sizeQuote)} ${q}: est. profit ${amount((net / 10_000) * chat.sizeQuote)} ${q}${ownSize && movedOn(o) ? ' (your size, as it opened)' : ''}`,
    `Largest profitable size${at}: ${amount(largest.sizeQuote)} ${q} (est. ${amount(largest.profitQuote)} ${q}${largest.asOpened ? ', as it opened' : ''})`,
  )
  const fees = context.feeBps
  if (fees !== undefined) {
    const venues = [...new Set([o.buyVenue, o.sellVenue, ...(o.legs ?? []).map((l) => l.venue)])]
    const each = venues.map((v) => `${venueName(v)} ${pct(fees[v] ?? NaN)}`)
    lines.push(`Taker fees: ${each.join(', ')}`)
  }
  lines.push(
    `Prices are size-weighted averages over the books at ${amount(o.sizeQuote)} ${q}; detected ${utc(o.openedAtMs)}`,
  )
  // A cross-venue net is what trading both legs at once earns with balances already on both venues.
  if (o.kind !== 'triangle') lines.push('The net assumes balances already on both venues')
  lines.push(`The arithmetic: /explain ${o.id}`)
  if (context.publicUrl !== undefined) {
    lines.push(`Details: ${context.publicUrl}/?opportunity=${encodeURIComponent(o.id)}`)
  }
  const footer = closed
    ? `Closed after ${duration(o.closedAtMs! - o.openedAtMs)}, peak ${pct(o.peakNetBps)}`
    : `Open for ${duration(nowMs - o.openedAtMs)}, peak ${pct(o.peakNetBps)}, now ${pct(o.netBps)}`
  return {
    title: closed ? `Closed: ${title}` : title,
    lines,
    footer,
    tone: closed ? 'closed' : 'open',
  }
}

/** One route of a grouped alert: its record now, and this chat's numbers for it. */
export interface GroupMember {
  readonly record: OpportunityRecord
  readonly quote: ChatQuote
}

/** The net a chat's alert shows for a route: the current one, or its own size's from the opening. */
const netShown = (o: OpportunityRecord, chat: ChatQuote): number =>
  chat.sizeQuote !== o.sizeQuote ? chat.netBps : o.netBps

/**
 * The members of a grouped alert, best first: open routes by the net shown, then closed ones by
 * their peak.
 */
export function bestFirst<T extends GroupMember>(members: readonly T[]): T[] {
  const open = (m: T) => m.record.closedAtMs === null
  return [...members].sort((a, b) => {
    if (open(a) !== open(b)) return open(a) ? -1 : 1
    const [x, y] = open(a)
      ? [netShown(a.record, a.quote), netShown(b.record, b.quote)]
      : [a.record.peakNetBps, b.record.peakNetBps]
    return y - x
  })
}

/**
 * One alert for the related openings of one detector pass in one chat: the market and the venue
 * that moved in the title, then one line per route (the other venue, its price, net, size,
 * profit and largest profitable size at the chat's threshold; closed ones say so), best first,
 * then what they share. Edited as its members update and close; closed when all of them are.
 *
 * @param members two or more routes that trade on `moving.venue` on `moving.side`
 * @example
 * ```ts
 * formatGroup(members, { side: 'buy', venue: 'kraken' }, Date.now()).title
 * // 'BTC/USDT: buy Kraken, sell on Binance and OKX, best net 0.81%'
 * ```
 */
export function formatGroup(
  members: readonly GroupMember[],
  moving: MovingVenue,
  nowMs: number,
  context: AlertContext = {},
): AlertText {
  const sorted = bestFirst(members)
  const best = sorted[0]!
  const o = best.record
  const q = quoteOf(o)
  const buying = moving.side === 'buy'
  const open = sorted.filter((m) => m.record.closedAtMs === null)
  const markets = [...new Set(sorted.map((m) => marketOn(m.record, moving.side)))]
  const others = sorted.map((m) => (buying ? m.record.sellVenue : m.record.buyVenue))
  const bestNet = netShown(o, best.quote)
  const title = `${markets.join(', ')}: ${buying ? 'buy' : 'sell'} ${venueName(moving.venue)}, ${buying ? 'sell' : 'buy'} on ${venueList(others)}, best net ${pct(bestNet)}`
  const lines: string[] = []
  let ownSize = false
  /** The thresholds the open routes' largest sizes are at; whether any is the opening's figure. */
  const thresholds = new Set<number>()
  let largestAsOpened = false
  for (const [i, m] of sorted.entries()) {
    const r = m.record
    const other = buying ? r.sellVenue : r.buyVenue
    let route: string
    if (r.kind === 'cross-quote') {
      const [buy, sell, convert] = r.legs ?? []
      const conversion =
        buy && sell && convert
          ? `, convert ${sell.market.split('/')[1]}→${buy.market.split('/')[1]}`
          : ''
      route = buying
        ? `Sell ${marketOn(r, 'sell')} on ${venueName(other)} at ${price(r.sellPrice)}${conversion}`
        : `Buy ${marketOn(r, 'buy')} on ${venueName(other)} at ${price(r.buyPrice)}${conversion}`
    } else {
      route = buying
        ? `Sell on ${venueName(other)} at ${price(r.sellPrice)}`
        : `Buy on ${venueName(other)} at ${price(r.buyPrice)}`
    }
    const t = r.transfer
    const transfer =
      t !== null && m.quote.transfer !== 'off' ? ` · transfer ${STATUS_WORD[t.status]}` : ''
    if (r.closedAtMs !== null) {
      lines.push(
        `${i + 1}. ${route}: closed after ${duration(r.closedAtMs - r.openedAtMs)}, peak ${pct(r.peakNetBps)}${transfer}`,
      )
      continue
    }
    const net = netShown(r, m.quote)
    if (m.quote.sizeQuote !== r.sizeQuote) ownSize = true
    const rq = quoteOf(r)
    const largest = largestShown(r, m.quote)
    if (largest.thresholdBps !== undefined) thresholds.add(largest.thresholdBps)
    if (largest.asOpened) largestAsOpened = true
    lines.push(
      `${i + 1}. ${route}: net ${pct(net)}, size ${amount(m.quote.sizeQuote)} ${rq}, est. profit ${amount((net / 10_000) * m.quote.sizeQuote)} ${rq}, largest profitable size ${amount(largest.sizeQuote)} ${rq} (est. ${amount(largest.profitQuote)} ${rq})${transfer}`,
    )
  }
  const movingAgeMs = buying ? o.buyAgeMs : o.sellAgeMs
  lines.push(
    buying
      ? `Buy on ${venueName(moving.venue)} at ${price(o.buyPrice)} (quote ${age(movingAgeMs)} old)`
      : `Sell on ${venueName(moving.venue)} at ${price(o.sellPrice)} (quote ${age(movingAgeMs)} old)`,
  )
  if (ownSize) lines.push('Nets at your size are as they opened')
  // One chat's routes of one pass: one threshold, in practice.
  if (thresholds.size > 0) {
    lines.push(
      `Largest profitable sizes at your ${[...thresholds].map((t) => pct(t)).join(' / ')} threshold${largestAsOpened ? ', as they opened' : ''}`,
    )
  }
  const fees = context.feeBps
  if (fees !== undefined) {
    const venues = [
      ...new Set(
        sorted.flatMap((m) => [
          m.record.buyVenue,
          m.record.sellVenue,
          ...(m.record.legs ?? []).map((l) => l.venue),
        ]),
      ),
    ]
    lines.push(
      `Taker fees: ${venues.map((v) => `${venueName(v)} ${pct(fees[v] ?? NaN)}`).join(', ')}`,
    )
  }
  const openedAtMs = Math.min(...sorted.map((m) => m.record.openedAtMs))
  lines.push(
    `Prices are size-weighted averages over the books at ${amount(o.sizeQuote)} ${q}; detected ${utc(openedAtMs)}`,
    'The nets assume balances already on both venues of each route',
    `The arithmetic: ${sorted.map((m, i) => `/explain ${m.record.id} (${i + 1})`).join(', ')}`,
  )
  if (context.publicUrl !== undefined) {
    lines.push(`Details: ${context.publicUrl}/?opportunity=${encodeURIComponent(o.id)}`)
  }
  const peak = Math.max(...sorted.map((m) => m.record.peakNetBps))
  const closedAtMs = Math.max(...sorted.map((m) => m.record.closedAtMs ?? 0))
  const footer =
    open.length === 0
      ? `Closed after ${duration(closedAtMs - openedAtMs)}, peak ${pct(peak)}`
      : `Open for ${duration(nowMs - openedAtMs)}, ${open.length} of ${sorted.length} routes open, peak ${pct(peak)}`
  return {
    title: open.length === 0 ? `Closed: ${title}` : title,
    lines,
    footer,
    tone: open.length === 0 ? 'closed' : 'open',
  }
}
