/**
 * The dashboard's route table at scale, in headless Chromium: the bot watches every market of the
 * offline demo's simulated universe (`SYMBOLS=auto` over every venue), so there are pages of
 * cross and cross-quote routes. Search, sort by each column, paging, and cross-quote legs that
 * name their venues. Skipped only when /usr/bin/chromium is missing.
 */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { existsSync } from 'node:fs'
import type { Browser, Page } from 'playwright-core'
import { startSimulatedVenues, type Demo } from '../../src/demo.ts'
import { startApp, type App } from '../../src/main.ts'
import { allLive, silent } from '../support.ts'

const CHROMIUM = '/usr/bin/chromium'
const hasChromium = existsSync(CHROMIUM)

/** The rows as drawn, read in one go (a poll cannot redraw the table in the middle). */
function readRows(page: Page) {
  return page.$$eval('#spreads-body tr[data-key]', (trs) =>
    trs.map((tr) => {
      const num = (sel: string) => {
        const n = Number.parseFloat(tr.querySelector(sel)?.textContent ?? '')
        return Number.isFinite(n) ? n : null
      }
      return {
        key: tr.getAttribute('data-key')!,
        symbol: tr.getAttribute('data-symbol')!,
        kind: tr.getAttribute('data-kind')!,
        text: tr.textContent ?? '',
        gross: num('td.gross'),
        net: num('td.net'),
        legVenues: [...tr.querySelectorAll('.legs li')].map((li) => li.getAttribute('data-venue')),
      }
    }),
  )
}

/** Waits until the table shows `view` (`sort:order:page:search`). */
const drawn = (page: Page, view: string) =>
  page.waitForSelector(`#spreads-body[data-view="${view}"] tr[data-key]`, { timeout: 5000 })

/** Non-null values first and in order; nulls (stale, no figure) after them. */
function inOrder(values: (number | null)[], order: 'asc' | 'desc'): boolean {
  const firstNull = values.indexOf(null)
  const known = (firstNull < 0 ? values : values.slice(0, firstNull)) as number[]
  if (firstNull >= 0 && values.slice(firstNull).some((v) => v !== null)) return false
  return known.every(
    (v, i) => i === 0 || (order === 'desc' ? known[i - 1]! >= v : known[i - 1]! <= v),
  )
}

describe.skipIf(!hasChromium)('the route table over a whole universe', () => {
  let browser: Browser
  let page: Page
  let app: App
  let venues: Demo
  const problems: string[] = []

  beforeAll(async () => {
    const { chromium } = await import('playwright-core')
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      headless: true,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run'],
    })
    page = await (await browser.newContext({ viewport: { width: 1280, height: 900 } })).newPage()
    page.on('pageerror', (err) => problems.push(`page error: ${err.message}`))
    // Prices move, but nothing dislocates while the test runs.
    venues = startSimulatedVenues({
      marketsPerVenue: 10,
      ratePerSecond: 60,
      firstDislocationMs: 1e9,
    })
    app = await startApp(
      {
        ...venues.env,
        SYMBOLS: 'auto',
        PORT: '0',
        HOST: '127.0.0.1',
        DATABASE_URL: ':memory:',
        TRIANGLES: 'off',
      },
      silent,
    )
    if (app.universe.current === undefined) await app.universe.events.next('changed')
    await allLive(app.books, undefined, 15_000)
    await page.goto(`http://127.0.0.1:${app.port}/`)
  }, 60_000)

  afterAll(async () => {
    await browser?.close()
    await app?.stop()
    venues?.stop()
  }, 20_000)

  test('the first page holds the top routes, best net first, and the pager counts them all', async () => {
    await drawn(page, 'net:desc:1:')
    const pager = await page.textContent('#spreads-page')
    const [, pageText, pagesText, totalText] = /^Page (\d+) of (\d+) · ([\d,]+) routes$/.exec(
      pager!,
    )!
    expect(Number(pageText)).toBe(1)
    expect(Number(pagesText)).toBeGreaterThan(2)
    const total = Number(totalText!.replace(/,/g, ''))
    expect(total).toBeGreaterThan(40)
    const rows = await readRows(page)
    expect(rows).toHaveLength(20)
    expect(
      inOrder(
        rows.map((r) => r.net),
        'desc',
      ),
    ).toBe(true)
    expect(await page.isDisabled('#spreads-prev')).toBe(true)
  })

  test('paging: Next shows the following routes, Prev goes back', async () => {
    // By name, so that moving prices cannot move a route from one page to another meanwhile.
    await page.click('#spreads th[data-sort="symbol"] button')
    await drawn(page, 'symbol:asc:1:')
    const first = await readRows(page)
    await page.click('#spreads-next')
    await drawn(page, 'symbol:asc:2:')
    expect(await page.textContent('#spreads-page')).toStartWith('Page 2 of ')
    expect(await page.isDisabled('#spreads-prev')).toBe(false)
    const second = await readRows(page)
    expect(second).toHaveLength(20)
    const keys = new Set(first.map((r) => r.key))
    expect(second.some((r) => keys.has(r.key))).toBe(false)
    expect(first.at(-1)!.symbol.localeCompare(second[0]!.symbol)).toBeLessThanOrEqual(0)
    await page.click('#spreads-prev')
    await drawn(page, 'symbol:asc:1:')
    expect((await readRows(page)).map((r) => r.key)).toEqual(first.map((r) => r.key))
    await page.click('#spreads th[data-sort="net"] button')
    await drawn(page, 'net:desc:1:')
  })

  test('sorting: each header sorts by its column, a second click reverses it', async () => {
    await page.click('#spreads th[data-sort="gross"] button')
    await drawn(page, 'gross:desc:1:')
    expect(await page.getAttribute('#spreads th[data-sort="gross"]', 'aria-sort')).toBe(
      'descending',
    )
    expect(
      inOrder(
        (await readRows(page)).map((r) => r.gross),
        'desc',
      ),
    ).toBe(true)
    await page.click('#spreads th[data-sort="gross"] button')
    await drawn(page, 'gross:asc:1:')
    expect(
      inOrder(
        (await readRows(page)).map((r) => r.gross),
        'asc',
      ),
    ).toBe(true)

    await page.click('#spreads th[data-sort="symbol"] button')
    await drawn(page, 'symbol:asc:1:')
    const symbols = (await readRows(page)).map((r) => r.symbol)
    expect(symbols).toEqual([...symbols].sort((a, b) => a.localeCompare(b)))
    expect(await page.getAttribute('#spreads th[data-sort="net"]', 'aria-sort')).toBe('none')

    await page.click('#spreads th[data-sort="net"] button')
    await drawn(page, 'net:desc:1:')
  })

  test('search: every row shown matches the words typed, and the pager counts the matches', async () => {
    const total = Number(
      /· ([\d,]+) routes$/.exec((await page.textContent('#spreads-page'))!)![1]!.replace(/,/g, ''),
    )
    await page.click('#spreads-next')
    await drawn(page, 'net:desc:2:')
    // A search starts again from page 1.
    await page.fill('#spreads-q', 'btc binance')
    await drawn(page, 'net:desc:1:btc binance')
    const rows = await readRows(page)
    expect(rows.length).toBeGreaterThan(0)
    for (const r of rows) {
      expect(r.text.toLowerCase()).toContain('btc')
      expect(r.text.toLowerCase()).toContain('binance')
    }
    const matches = Number(/· (\d+) routes?$/.exec((await page.textContent('#spreads-page'))!)?.[1])
    expect(matches).toBeGreaterThanOrEqual(rows.length)
    expect(matches).toBeLessThan(total)

    await page.fill('#spreads-q', 'no-such-market')
    await page.waitForSelector('#spreads-body tr.placeholder:has-text("No route matches")')
    expect(await page.textContent('#spreads-page')).toBe('0 routes')
  })

  test('cross-quote routes show each leg with its venue', async () => {
    await page.fill('#spreads-q', 'cross-quote')
    await drawn(page, 'net:desc:1:cross-quote')
    const rows = await readRows(page)
    expect(rows.length).toBeGreaterThan(0)
    for (const r of rows) {
      expect(r.kind).toBe('cross-quote')
      expect(r.symbol).toContain('>')
      expect(r.legVenues).toHaveLength(3)
      for (const v of r.legVenues) expect(v).toMatch(/^[a-z]+$/)
      expect(r.text).toContain(' @ ')
    }
    await page.fill('#spreads-q', '')
    await drawn(page, 'net:desc:1:')
    expect(problems).toEqual([])
  })
})
