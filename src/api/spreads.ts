/**
 * @module
 * Choosing which current spreads `/api/spreads` returns: a text search, a kind, one row per market
 * (its best route), a sort order and a page. Pure; the rows are the detector's `SpreadView`s.
 */
import type { SpreadView } from '../detector/detector.ts'

export const SPREAD_SORTS = ['net', 'gross', 'profit', 'maxSize', 'symbol'] as const
export type SpreadSort = (typeof SPREAD_SORTS)[number]

export interface SpreadQuery {
  /** Words that must each appear in a row's market, kind, venues or legs (any case). */
  readonly q?: string
  readonly kind?: string
  /** `symbol`: only each market's best route (best fresh net, else best gross, else the first). */
  readonly group?: 'symbol'
  /** Default `net`; rows without the figure come last in either order. */
  readonly sort?: SpreadSort
  /** Default `desc`, except `asc` for `symbol`. */
  readonly order?: 'asc' | 'desc'
  /** 1-based; with `limit` only. */
  readonly page?: number
  readonly limit?: number
}

const compact = (s: string) => s.toLowerCase().replace(/[^a-z0-9]/g, '')

/** What a row is searched by: its kind, market, venues and legs, as typed and without separators. */
function haystack(r: SpreadView): string {
  const words: string[] = [r.kind, r.symbol, r.buyVenue, r.sellVenue]
  for (const leg of r.legs ?? []) words.push(leg.market, leg.venue)
  const text = words.join(' ').toLowerCase()
  return `${text} ${words.map(compact).join(' ')}`
}

/** Per market, its best route: the best net among fresh rows, else the best gross, else the first. */
export function bestPerSymbol(rows: readonly SpreadView[]): SpreadView[] {
  const best = new Map<string, SpreadView>()
  const rank = (r: SpreadView) =>
    r.fresh && r.netBps !== null ? [2, r.netBps] : r.grossBps !== null ? [1, r.grossBps] : [0, 0]
  for (const r of rows) {
    const held = best.get(r.symbol)
    if (held === undefined) {
      best.set(r.symbol, r)
      continue
    }
    const [a, x] = rank(r)
    const [b, y] = rank(held)
    if (a! > b! || (a === b && x! > y!)) best.set(r.symbol, r)
  }
  return [...best.values()]
}

function figure(r: SpreadView, sort: Exclude<SpreadSort, 'symbol'>): number | null {
  switch (sort) {
    case 'net':
      return r.fresh ? r.netBps : null
    case 'gross':
      return r.grossBps
    case 'profit':
      return r.fresh ? r.profitQuote : null
    case 'maxSize':
      return r.fresh ? r.maxSizeQuote : null
    default: {
      const never: never = sort
      throw new Error(`unknown sort ${String(never)}`)
    }
  }
}

const byName = (a: SpreadView, b: SpreadView): number =>
  a.symbol.localeCompare(b.symbol) ||
  a.buyVenue.localeCompare(b.buyVenue) ||
  a.sellVenue.localeCompare(b.sellVenue) ||
  a.kind.localeCompare(b.kind)

/**
 * Filters, groups, sorts and pages spread rows. Net, profit and largest size count only for
 * fresh rows (a stale row's figures are not tradeable), so those sort last.
 *
 * @returns how many rows matched, and the page of them (all when there is no `limit`)
 * @example
 * ```ts
 * selectSpreads(detector.spreads(1000, now), { q: 'btc binance', sort: 'net', page: 1, limit: 25 })
 * ```
 */
export function selectSpreads(
  rows: readonly SpreadView[],
  query: SpreadQuery,
): { total: number; page: number; limit: number | null; spreads: SpreadView[] } {
  let out = query.kind === undefined ? [...rows] : rows.filter((r) => r.kind === query.kind)
  const words = (query.q ?? '')
    .toLowerCase()
    .split(/[\s,]+/)
    .filter(Boolean)
  if (words.length > 0) {
    out = out.filter((r) => {
      const hay = haystack(r)
      return words.every((w) => hay.includes(w) || (compact(w) !== '' && hay.includes(compact(w))))
    })
  }
  if (query.group === 'symbol') out = bestPerSymbol(out)
  const sort = query.sort ?? 'net'
  const order = query.order ?? (sort === 'symbol' ? 'asc' : 'desc')
  const sign = order === 'asc' ? 1 : -1
  if (sort === 'symbol') {
    out.sort((a, b) => sign * byName(a, b))
  } else {
    out.sort((a, b) => {
      const x = figure(a, sort)
      const y = figure(b, sort)
      if (x === null || y === null) return x === y ? byName(a, b) : x === null ? 1 : -1
      return x === y ? byName(a, b) : sign * (x - y)
    })
  }
  const total = out.length
  if (query.limit === undefined) return { total, page: 1, limit: null, spreads: out }
  const page = query.page ?? 1
  const from = (page - 1) * query.limit
  return { total, page, limit: query.limit, spreads: out.slice(from, from + query.limit) }
}
