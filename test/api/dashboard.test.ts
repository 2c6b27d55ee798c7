import { afterEach, describe, expect, test } from 'bun:test'
import { Hono } from 'hono'
import { mountDashboard, pageWithToken } from '../../src/api/dashboard/dashboard.ts'
import type { StatusSource } from '../../src/api/status.ts'
import { applySnapshot } from '../../src/book/book.ts'
import { Books } from '../../src/book/books.ts'
import { openDb, runMigrations, type DbHandle } from '../../src/db/client.ts'
import { Store } from '../../src/db/store.ts'
import { silent, testApi, testDetector } from '../support.ts'

const DIR = `${import.meta.dir}/../../src/api/dashboard`
const TOKEN = 'a-dashboard-token-0123456789'

let handle: DbHandle | undefined
afterEach(() => {
  handle?.close()
  handle = undefined
})

/** The real API with the dashboard mounted the way main.ts mounts it. */
async function api(apiToken?: string) {
  handle = await openDb({ url: ':memory:' })
  await runMigrations(handle.db)
  const books = new Books()
  const detector = testDetector(books, [], [], { maxQuoteAgeMs: 5000 })
  const store = new Store({ db: handle.db, log: silent })
  return testApi({ books, detector, store, apiToken, mount: (app) => mountDashboard(app) })
}

describe('dashboard routes', () => {
  test('GET / is the page, under the API content security policy', async () => {
    const res = await (await api()).request('http://localhost/')
    expect(res.status).toBe(200)
    expect(res.headers.get('content-type')).toBe('text/html; charset=utf-8')
    expect(res.headers.get('content-security-policy')).toBe(
      "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; " +
        "img-src 'self' data:; connect-src 'self'",
    )
    const html = await res.text()
    expect(html).toBe(await Bun.file(`${DIR}/index.html`).text())
    expect(html).toContain('<script type="module" src="/dashboard/app.js"></script>')
    expect(html).toContain('<link rel="stylesheet" href="/dashboard/style.css" />')
    // The policy forbids inline scripts and event handler attributes.
    expect(html).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>/)
    expect(html).not.toMatch(/\son[a-z]+=/i)
  })

  test('the script and the style sheet are served as files with their content types', async () => {
    const app = await api()
    const js = await app.request('http://localhost/dashboard/app.js')
    expect(js.status).toBe(200)
    expect(js.headers.get('content-type')).toBe('text/javascript; charset=utf-8')
    const code = await js.text()
    expect(code).toBe(await Bun.file(`${DIR}/app.js`).text())
    // It parses as a module, and has no imports to fetch from elsewhere.
    expect(new Bun.Transpiler({ loader: 'js' }).scan(code).imports).toEqual([])

    const css = await app.request('http://localhost/dashboard/style.css')
    expect(css.status).toBe(200)
    expect(css.headers.get('content-type')).toBe('text/css; charset=utf-8')
    expect(await css.text()).toContain('prefers-color-scheme: dark')
  })

  test('every element the script looks up by id is in the page', async () => {
    const html = await Bun.file(`${DIR}/index.html`).text()
    const code = await Bun.file(`${DIR}/app.js`).text()
    const ids = [...code.matchAll(/byId\('([^']+)'\)/g)].map((m) => m[1]!)
    expect(ids.length).toBeGreaterThan(10)
    for (const id of new Set(ids)) expect(html).toContain(`id="${id}"`)
  })

  test('behind API_TOKEN the page needs ?token= and hands it on to its assets', async () => {
    const app = await api(TOKEN)
    expect((await app.request('http://localhost/')).status).toBe(401)
    expect((await app.request('http://localhost/dashboard/app.js')).status).toBe(401)

    const res = await app.request(`http://localhost/?token=${TOKEN}`)
    expect(res.status).toBe(200)
    const html = await res.text()
    expect(html).toContain(`src="/dashboard/app.js?token=${TOKEN}"`)
    expect(html).toContain(`href="/dashboard/style.css?token=${TOKEN}"`)
    const js = await app.request(`http://localhost/dashboard/app.js?token=${TOKEN}`)
    expect(js.status).toBe(200)
    const css = await app.request(`http://localhost/dashboard/style.css?token=${TOKEN}`)
    expect(css.status).toBe(200)
  })

  test('a token is URL-encoded into the page, so it cannot break out of the attribute', () => {
    const page = pageWithToken('<script src="/dashboard/app.js"></script>', 'x"><b>&y')
    expect(page).toBe('<script src="/dashboard/app.js?token=x%22%3E%3Cb%3E%26y"></script>')
  })

  test('mounted on a bare Hono app it serves the same three routes', async () => {
    const app = new Hono()
    mountDashboard(app)
    for (const path of ['/', '/dashboard/app.js', '/dashboard/style.css']) {
      expect((await app.request(`http://localhost${path}`)).status).toBe(200)
    }
    expect((await app.request('http://localhost/dashboard/other.js')).status).toBe(404)
  })
})

describe('GET /dashboard/depth', () => {
  const lv = (px: number, qty: number) => ({ px, qty, pxText: String(px), qtyText: String(qty) })
  /** Binance and Bybit books of BTC/USDT around a mid of 100 (Bybit's bid side empty). */
  function twoVenues() {
    const books = new Books()
    const b = books.addVenue('binance', ['BTC/USDT', 'ETH/USDT']).get('BTC/USDT')!
    b.state = 'live'
    applySnapshot(b.book, [lv(99.9, 2), lv(99, 1), lv(90, 5)], [lv(100.1, 1), lv(101.5, 4)])
    const y = books.addVenue('bybit', ['BTC/USDT']).get('BTC/USDT')!
    y.state = 'live'
    applySnapshot(y.book, [], [lv(100, 3)])
    return books
  }
  const connection = (venue: string, pairs: string[]): StatusSource => ({
    venue,
    stats: {
      state: 'connected',
      messages: 1,
      reconnects: 0,
      errors: {},
      connectedSinceMs: 1,
      lastMessageMs: 1,
      messagesPerSec: 1,
      latencyMs: 1,
      markets: new Map(pairs.map((p) => [p, p])),
      unlisted: [],
    },
  })

  test('with the books: every level within ±0.5 % and ±2 % per venue, behind the token', async () => {
    handle = await openDb({ url: ':memory:' })
    await runMigrations(handle.db)
    const books = twoVenues()
    const detector = testDetector(books, [], [], { maxQuoteAgeMs: 5000 })
    const store = new Store({ db: handle.db, log: silent })
    const app = testApi({
      books,
      detector,
      store,
      apiToken: TOKEN,
      mount: (a) => mountDashboard(a, { books }),
    })
    expect((await app.request('http://localhost/dashboard/depth?symbol=BTC/USDT')).status).toBe(401)
    const res = await app.request(`http://localhost/dashboard/depth?symbol=btc/usdt&token=${TOKEN}`)
    expect(res.status).toBe(200)
    const body = (await res.json()) as { symbol: string; source: string; venues: any[] }
    expect(body.symbol).toBe('BTC/USDT')
    expect(body.source).toBe('books')
    const [binance, bybit] = body.venues
    expect(binance.venue).toBe('binance')
    expect(binance.mid).toBeCloseTo(100, 12)
    expect(binance.bidNear).toBeCloseTo(199.8, 9)
    expect(binance.askNear).toBeCloseTo(100.1, 9)
    expect(binance.bidWide).toBeCloseTo(298.8, 9)
    expect(binance.askWide).toBeCloseTo(506.1, 9)
    expect(binance.imbalance).toBeCloseTo(99.7 / 299.9, 12)
    expect(bybit).toMatchObject({ venue: 'bybit', mid: 100, bidNear: 0, askNear: 300 })
    expect(bybit.imbalance).toBe(-1)
    const bad = await app.request(`http://localhost/dashboard/depth?symbol=nope&token=${TOKEN}`)
    expect(bad.status).toBe(400)
  })

  test('without the books: the best levels /api/status gives, with the same token', async () => {
    handle = await openDb({ url: ':memory:' })
    await runMigrations(handle.db)
    const books = twoVenues()
    const detector = testDetector(books, [], [], { maxQuoteAgeMs: 5000 })
    const store = new Store({ db: handle.db, log: silent })
    const app = testApi({
      books,
      detector,
      store,
      apiToken: TOKEN,
      connections: [
        connection('binance', ['BTC/USDT', 'ETH/USDT']),
        connection('bybit', ['BTC/USDT']),
      ],
      mount: (a) => mountDashboard(a),
    })
    const res = await app.request('http://localhost/dashboard/depth?symbol=BTC/USDT', {
      headers: { authorization: `Bearer ${TOKEN}` },
    })
    expect(res.status).toBe(200)
    const body = (await res.json()) as { source: string; venues: any[] }
    expect(body.source).toBe('top')
    expect(body.venues.map((v) => v.venue)).toEqual(['binance', 'bybit'])
    const [binance, bybit] = body.venues
    expect(binance.bidNear).toBeCloseTo(199.8, 9)
    expect(binance.askNear).toBeCloseTo(100.1, 9)
    expect(binance.askWide).toBeCloseTo(100.1, 9) // the best ask only
    expect(bybit.imbalance).toBe(-1)
  })
})
