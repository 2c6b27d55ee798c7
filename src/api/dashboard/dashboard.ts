/**
 * @module
 * The live dashboard: `GET /` (the page), `/dashboard/app.js` and `/dashboard/style.css`, served
 * same-origin by the API process with no build step. The three files sit beside this module and are
 * read once, when it is first imported (at start-up).
 */
import type { Hono } from 'hono'
import type { Books } from '../../book/books.ts'
import { bookDepth, type BookDepth } from '../../book/depth.ts'
import type { Level } from '../../types.ts'

const HTML_TYPE = 'text/html; charset=utf-8'
const JS_TYPE = 'text/javascript; charset=utf-8'
const CSS_TYPE = 'text/css; charset=utf-8'

const read = (name: string) => Bun.file(`${import.meta.dir}/${name}`).text()
const [html, appJs, styleCss] = await Promise.all([
  read('index.html'),
  read('app.js'),
  read('style.css'),
])

/** Asset URLs the page refers to; they get the page's `?token=` when it was loaded with one. */
const ASSET_URLS = ['/dashboard/app.js', '/dashboard/style.css'] as const

/**
 * The page, with `token` appended to its asset URLs: behind API_TOKEN the browser loads them with
 * the same `?token=` it loaded the page with (the page's script adds it to its API calls itself).
 */
export function pageWithToken(page: string, token: string): string {
  const query = `?token=${encodeURIComponent(token)}`
  return ASSET_URLS.reduce((out, url) => out.replaceAll(`"${url}"`, `"${url}${query}"`), page)
}

/**
 * Serves the dashboard. Mount it behind the API token, if any: the page is then opened as
 * `/?token=…`.
 *
 * `GET /dashboard/depth?symbol=BTC/USDT` answers, per venue, the depth and imbalance of that
 * market's book (book/depth.ts). Given the `books`, from every level; without them, from what
 * `/api/status?symbol=…` gives, the best bid and ask only (`source: "top"`).
 *
 * @param app - the API app (`createApi`'s `mount` hook).
 * @param deps - the books, when the caller has them.
 * @example
 * ```ts
 * createApi({ ...deps, mount: (app) => mountDashboard(app, { books }) })
 * ```
 */
export function mountDashboard(app: Hono, deps: { readonly books?: Books } = {}): void {
  const headers = (type: string) => ({ 'content-type': type, 'cache-control': 'no-cache' })
  app.get('/', (c) => {
    const token = c.req.query('token')
    const page = token === undefined || token === '' ? html : pageWithToken(html, token)
    return c.body(page, 200, headers(HTML_TYPE))
  })
  app.get('/dashboard/app.js', (c) => c.body(appJs, 200, headers(JS_TYPE)))
  app.get('/dashboard/style.css', (c) => c.body(styleCss, 200, headers(CSS_TYPE)))
  app.get('/dashboard/depth', async (c) => {
    const symbol = (c.req.query('symbol') ?? '').trim().toUpperCase()
    if (!SYMBOL.test(symbol)) {
      return c.json({ error: 'symbol must be a market such as BTC/USDT' }, 400)
    }
    if (deps.books !== undefined) {
      const venues: VenueDepth[] = []
      for (const venue of deps.books.venues()) {
        const e = deps.books.get(venue, symbol)
        if (e !== undefined) venues.push({ venue, state: e.state, ...depthOrEmpty(e.book) })
      }
      return c.json({ symbol, source: 'books', venues })
    }
    // Without the books: the best levels from /api/status, with this request's credentials.
    const url = new URL(c.req.url)
    const query = new URLSearchParams({ symbol, limit: '100' })
    const token = url.searchParams.get('token')
    if (token !== null) query.set('token', token)
    const auth = c.req.header('authorization')
    const res = await app.request(`/api/status?${query}`, {
      headers: auth === undefined ? {} : { authorization: auth },
    })
    if (!res.ok) return c.json(await res.json(), res.status as 400)
    const body = (await res.json()) as { books?: StatusBook[] }
    const venues = (body.books ?? [])
      .filter((b) => b.pair === symbol)
      .map((b) => ({
        venue: b.venue,
        state: b.state,
        ...depthOrEmpty({
          bids: topLevel(b.bestBid, b.bestBidQty),
          asks: topLevel(b.bestAsk, b.bestAskQty),
        }),
      }))
    return c.json({ symbol, source: 'top', venues })
  })
}

/** A market as `BASE/QUOTE`. */
const SYMBOL = /^[A-Z0-9._-]{1,20}\/[A-Z0-9._-]{1,20}$/

/** One venue's figures in `/dashboard/depth`; all null for an empty book. */
type VenueDepth = { venue: string; state: string } & {
  [K in keyof BookDepth]: BookDepth[K] | null
}

/** A book row of `/api/status` (the fields used here). */
interface StatusBook {
  venue: string
  pair: string
  state: string
  bestBid: string | null
  bestBidQty: string | null
  bestAsk: string | null
  bestAskQty: string | null
}

const topLevel = (px: string | null, qty: string | null): Level[] =>
  px === null || qty === null
    ? []
    : [{ px: Number(px), qty: Number(qty), pxText: px, qtyText: qty }]

function depthOrEmpty(book: { bids: readonly Level[]; asks: readonly Level[] }) {
  return (
    bookDepth(book) ?? {
      mid: null,
      bidNear: null,
      askNear: null,
      bidWide: null,
      askWide: null,
      imbalance: null,
    }
  )
}
