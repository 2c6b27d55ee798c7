/**
 * The dashboard in headless Chromium against a running bot fed by simulated Binance and Bybit: venue
 * badges, an injected opportunity reaching the table and the alert log, the profit calculator, and
 * the page noticing a lost server. Skipped only when /usr/bin/chromium is missing.
 */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { existsSync, mkdirSync } from 'node:fs'
import type { Browser, BrowserContext, Page } from 'playwright-core'
import { startApp, type App } from '../../src/main.ts'
import type { Row } from '../../src/venues/sim/book.ts'
import { binanceAndBybitLive, silent, simulateBinanceAndBybit } from '../support.ts'

const CHROMIUM = '/usr/bin/chromium'
const FLAGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
]
const ARTIFACTS = `${import.meta.dir}/../artifacts`
/** The route table's row for buying BTC/USDT on Binance and selling it on Bybit. */
const BUY_BINANCE = '#spreads-body tr[data-key="cross|BTC/USDT|binance|bybit"]'
const TOKEN = 'browser-test-token-0123456789'
const hasChromium = existsSync(CHROMIUM)
/** A latency as the badge writes one (the simulated venues' clocks make any value possible). */
const LAT = String.raw`(<1 ms|-?\d+ ms|-?\d+\.\d s|[<>] -?1 min)`
/** The badge's exchange-to-receive latency: p50 and p99 over the window, or the last one seen. */
const LATENCY_TEXT = new RegExp(`^latency (${LAT}|p50 ${LAT} · p99 ${LAT})$`)

/**
 * A pass-through proxy in front of the bot, so the test can take "the server" away (and close the
 * page's open stream) without stopping the bot, then bring it back on the same port.
 */
function startProxy(targetPort: number, port = 0) {
  return Bun.serve({
    hostname: '127.0.0.1',
    port,
    idleTimeout: 0,
    fetch(req) {
      const url = new URL(req.url)
      return fetch(`http://127.0.0.1:${targetPort}${url.pathname}${url.search}`, {
        method: req.method,
        headers: req.headers,
        signal: req.signal,
      })
    },
  })
}
if (!hasChromium) {
  console.warn(
    `SKIPPED the dashboard browser test: ${CHROMIUM} is missing (apt-get install -y chromium)`,
  )
}

describe.skipIf(!hasChromium)('dashboard in headless Chromium', () => {
  let browser: Browser
  let context: BrowserContext
  let page: Page
  let app: App
  let sims: ReturnType<typeof simulateBinanceAndBybit>
  let proxy: ReturnType<typeof startProxy>
  const problems: string[] = []

  beforeAll(async () => {
    const { chromium } = await import('playwright-core')
    // Cold Chromium first: the bot's quotes must still be fresh when the test moves a book.
    browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: FLAGS })
    context = await browser.newContext({ viewport: { width: 1280, height: 900 }, locale: 'en-US' })
    page = await context.newPage()
    page.on('pageerror', (err) => problems.push(`page error: ${err.message}`))
    page.on('console', (msg) => {
      if (msg.type() === 'error') problems.push(`console: ${msg.text()}`)
    })

    sims = simulateBinanceAndBybit()
    app = await startApp(
      {
        EXCHANGES: 'binance,bybit',
        SYMBOLS: 'BTC/USDT,ETH/USDT',
        PORT: '0',
        HOST: '127.0.0.1',
        DATABASE_URL: ':memory:',
        TRIANGLES: 'off',
        FEE_BPS_BINANCE: '10',
        FEE_BPS_BYBIT: '10',
        MAX_QUOTE_AGE_MS: '60000',
        API_TOKEN: TOKEN,
        ...sims.env,
      },
      silent,
    )
    await binanceAndBybitLive(app.books, sims.binance)
    proxy = startProxy(app.port)
  }, 60_000)

  afterAll(async () => {
    await browser?.close()
    await proxy?.stop(true)
    await app?.stop()
    sims?.stop()
  }, 20_000)

  test('shows each venue connected with its latency, and scans while nothing is open', async () => {
    await page.goto(`http://127.0.0.1:${proxy.port}/?token=${TOKEN}`)
    for (const venue of ['binance', 'bybit']) {
      const badge = await page.waitForSelector(
        `.venue[data-venue="${venue}"][data-state="connected"]`,
      )
      // The simulated venues stamp frames with their own clock, so the latency here is only well-formed.
      const latency = await badge.$eval('.venue-latency', (el) => el.textContent)
      expect(latency).toMatch(LATENCY_TEXT)
      expect(await badge.$eval('.venue-latency', (el) => el.getAttribute('title'))).toContain(
        'exchange-to-receive latency',
      )
      // Labelled as latency, so it cannot read as uptime ("connected 24 ms").
      expect(await badge.$eval('.venue-info', (el) => el.textContent)).toMatch(
        /^connected · latency /,
      )
    }
    await page.waitForSelector('#conn[data-state="live"]')
    expect(await page.isVisible('#scanning')).toBe(true)
    // Every route: both directions of both markets.
    await page.waitForSelector(`${BUY_BINANCE} td.net`)
    await page.waitForSelector('#spreads-body tr[data-key="cross|BTC/USDT|bybit|binance"]')
    await page.waitForSelector('#spreads-body tr[data-key="cross|ETH/USDT|binance|bybit"]')
    await page.waitForSelector('#spreads-page:has-text("Page 1 of 1 · 4 routes")')
    // Spreads read in %, as the alerts and /threshold give them (the API stays in bps).
    const header = (col: string) =>
      page.textContent(`#spreads th[data-sort="${col}"] button`).then((t) => t?.trim())
    expect(await header('gross')).toBe('Gross %')
    expect(await header('net')).toBe('Net %')
    expect(await page.textContent('#chart-title')).toContain('(%)')
    for (const cell of await page.$$eval('#spreads-body td.gross', (tds) =>
      tds.map((td) => td.textContent),
    )) {
      expect(cell).toMatch(/^([+-]?\d+\.\d\d%|—)$/)
    }
  })

  // How fast is the benchmark's business (bench/alert-latency.ts); the bounds here only end the wait.
  test('the depth panel shows each venue: an imbalance bar and depth figures as the API gives', async () => {
    // The books have not moved since they went live: the page's poll and this request agree.
    const res = await fetch(
      `http://127.0.0.1:${proxy.port}/dashboard/depth?symbol=BTC/USDT&token=${TOKEN}`,
    )
    expect(res.status).toBe(200)
    const api = (await res.json()) as {
      symbol: string
      venues: {
        venue: string
        imbalance: number | null
        bidNear: number
        askNear: number
        bidWide: number
        askWide: number
      }[]
    }
    expect(api.venues.map((v) => v.venue).sort()).toEqual(['binance', 'bybit'])
    await page.waitForSelector('#depth .depth-list[data-symbol="BTC/USDT"]')
    for (const v of api.venues) {
      const row = `#depth .depth-venue[data-venue="${v.venue}"]`
      // A second sample has been drawn on the venue's line ("over time").
      await page.waitForSelector(`${row} svg.depth-spark[data-points="2"]`)
      const shown = await page.$eval(row, (el) => {
        const bar = el.querySelector('.imb')!.getBoundingClientRect().width
        const bid = el.querySelector('.imb-bid')!.getBoundingClientRect().width
        const cell = (band: string, side: string) =>
          el.querySelector(`tr[data-band="${band}"] td.${side}`)!.textContent ?? ''
        return {
          imbalance: (el as HTMLElement).dataset.imbalance,
          bidShare: bid / bar,
          cells: [cell('0.5', 'bid'), cell('0.5', 'ask'), cell('2', 'bid'), cell('2', 'ask')],
        }
      })
      expect(v.imbalance).not.toBeNull()
      expect(Number(shown.imbalance)).toBeCloseTo(v.imbalance!, 9)
      // Bids take the left share (1 + imbalance) / 2 of the bar, to within a pixel of rounding.
      expect(Math.abs(shown.bidShare - (1 + v.imbalance!) / 2)).toBeLessThan(0.01)
      const figures = [v.bidNear, v.askNear, v.bidWide, v.askWide]
      shown.cells.forEach((text, i) => {
        const x = figures[i]!
        const tolerance = Math.abs(x) >= 10_000 ? 0.5 : 0.005
        expect(Math.abs(Number(text.replaceAll(',', '')) - x)).toBeLessThanOrEqual(tolerance)
      })
    }
  })

  test('an injected opportunity reaches the table, the open list and the alert log', async () => {
    // Record every trend arrow the BTC row shows, so a quick second poll cannot hide the ▲.
    await page.evaluate(() => {
      const seen: string[] = ((window as any).btcTrends = [])
      new MutationObserver(() => {
        const cell = document.querySelector(
          '#spreads-body tr[data-key="cross|BTC/USDT|binance|bybit"] td.trend',
        )
        if (cell) seen.push(`${cell.className}:${cell.textContent}`)
      }).observe(document.getElementById('spreads-body')!, { childList: true, subtree: true })
    })
    // Bybit's whole book jumps: its best bid 60,200.00 is above Binance's best ask 60,000.10.
    const asksGone: Row[] = sims.bybit
      .book('BTC/USDT')
      .topAsks()
      .map(([p]) => [p, '0'])
    sims.bybit.update(
      'BTC/USDT',
      [['60200.00', '1.00000000']],
      [...asksGone, ['60300.00', '1.00000000']],
    )
    await Promise.all([
      page.waitForSelector(`${BUY_BINANCE}.open`, { timeout: 8000 }),
      page.waitForSelector('#feed li[data-type="opened"][data-symbol="BTC/USDT"]', {
        timeout: 8000,
      }),
      page.waitForSelector('#open li[data-symbol="BTC/USDT"]', { timeout: 8000 }),
    ])
    expect(await page.isVisible('#scanning')).toBe(false)

    const net = ((60200 / 60000.1) * 0.999 * 0.999 - 1) * 10_000
    // The best route is the table's first row (best net first), marked open.
    const row = page.locator('#spreads-body tr').first()
    expect(await row.getAttribute('data-key')).toBe('cross|BTC/USDT|binance|bybit')
    expect(await row.getAttribute('class')).toBe('open')
    expect(await row.locator('.route').textContent()).toBe('binance → bybit')
    const pct = (bps: number) => `+${(bps / 100).toFixed(2)}%`
    expect(await row.locator('td.net').textContent()).toBe(pct(net))
    const gross = (60200 / 60000.1 - 1) * 10_000
    expect(await row.locator('td.gross').textContent()).toBe(pct(gross))
    // The open card and the alert log say the same %, not bps.
    expect(await page.textContent('#open li[data-symbol="BTC/USDT"] .opp-net')).toBe(pct(net))
    expect(
      await page.textContent('#feed li[data-type="opened"][data-symbol="BTC/USDT"] .feed-net'),
    ).toBe(pct(net))
    expect(await page.textContent('#open li[data-symbol="BTC/USDT"]')).not.toContain('bps')
    expect(await page.evaluate(() => (window as any).btcTrends)).toContain('trend up:▲')
    expect(await page.textContent('#feed li[data-type="opened"]')).toContain('binance → bybit')
    // No read-only keys are set here: whether the coins can move is unknown, and the badge says why.
    const badge = page.locator('#open li[data-symbol="BTC/USDT"] .tag.transfer')
    expect(await badge.getAttribute('data-transfer')).toBe('unknown')
    expect(await badge.getAttribute('title')).toContain('BINANCE_API_KEY')
    // Its alert-log row opens the opportunity page: the arithmetic of its net and who was alerted.
    await page.click('#feed li[data-type="opened"][data-symbol="BTC/USDT"]')
    await page.waitForSelector('#detail[open] pre.explain')
    const explainText = (await page.textContent('#detail pre.explain')) ?? ''
    expect(explainText).toContain('Net:')
    expect(explainText).toContain(`${(net / 100).toFixed(2)}%`)
    expect(await page.textContent('#detail .alerted')).toBe('Alerted: no chat')
    await page.click('#detail .detail-head button')
    await page.waitForSelector('#detail:not([open])', { state: 'attached' })
    // An alert's link opens the same page directly.
    const id = await page.getAttribute(
      '#feed li[data-type="opened"][data-symbol="BTC/USDT"]',
      'data-id',
    )
    const linked = await context.newPage()
    await linked.goto(
      `http://127.0.0.1:${proxy.port}/?token=${TOKEN}&opportunity=${encodeURIComponent(id!)}`,
    )
    await linked.waitForSelector('#detail[open] pre.explain')
    expect(await linked.textContent('#detail-title')).toBe(id)
    await linked.close()
    // And the alert log's row of the opening carries the same badge.
    const logged = page.locator(
      '#feed li[data-type="opened"][data-symbol="BTC/USDT"] .tag.transfer',
    )
    expect(await logged.getAttribute('data-transfer')).toBe('unknown')
  })

  test('the calculator answers for a size and shows the API message for a bad one', async () => {
    await page.fill('#size', '500')
    await page.click('#calc button')
    const profit = await page.waitForSelector('#calc-results tr[data-symbol="BTC/USDT"] .profit')
    const expected = 500 * ((60200 / 60000.1) * 0.999 * 0.999 - 1)
    expect(await profit.textContent()).toBe(`${expected.toFixed(2)} USDT`)
    const net = ((60200 / 60000.1) * 0.999 * 0.999 - 1) * 10_000
    const calcNet = page.locator('#calc-results tr[data-symbol="BTC/USDT"] td').first()
    expect(await calcNet.textContent()).toBe(`+${(net / 100).toFixed(2)}%`)
    expect(await page.textContent('#calc-results thead')).toContain('Net %')
    expect(await page.isHidden('#calc-error')).toBe(true)

    mkdirSync(ARTIFACTS, { recursive: true })
    await page.screenshot({ path: `${ARTIFACTS}/dashboard.png`, fullPage: true })

    await page.fill('#size', '0')
    await page.click('#calc button')
    await page.waitForSelector('#calc-error:has-text("size must be a positive amount")')
    await page.fill('#size', '')
    await page.click('#calc button')
    await page.waitForSelector('#calc-error:has-text("Enter a trade size")')
  })

  test('the close lands in the alert log and the page goes back to scanning', async () => {
    sims.bybit.update('BTC/USDT', [['60200.00', '0']], [['60000.50', '1.00000000']])
    await page.waitForSelector('#feed li[data-type="closed"][data-symbol="BTC/USDT"]', {
      timeout: 2000,
    })
    await page.waitForSelector('#scanning', { state: 'visible', timeout: 2000 })
    expect(await page.textContent('#feed li[data-type="closed"]')).toContain('below the threshold')
  })

  test('a page opened later charts the last hour from the server, and venue latency percentiles', async () => {
    // The opportunity opened and closed above is in the database.
    await app.store.flush()
    // Bybit's books moved above; one Binance update too (a bid deep in the book), so that each
    // venue has latencies in the window.
    const updated = app.books.events.next(
      'update',
      (e) => e.entry.venue === 'binance' && e.entry.pair === 'ETH/USDT',
    )
    sims.binance.update('ETH/USDT', [['2990.00', '0.50000000']], [])
    await updated
    const fresh = await context.newPage()
    fresh.on('pageerror', (err) => problems.push(`page error: ${err.message}`))
    try {
      const loadedAt = Date.now()
      await fresh.goto(`http://127.0.0.1:${proxy.port}/?token=${TOKEN}`)
      // Its opening and closing are on the BTC/USDT line, from before the page existed: no stream
      // event brought them (nothing has opened or closed since).
      const line = await fresh.waitForSelector(
        '#chart path.series[data-symbol="BTC/USDT"]:not([data-first=""])',
      )
      const first = Number(await line.getAttribute('data-first'))
      expect(first).toBeLessThan(loadedAt)
      expect(first).toBeGreaterThan(loadedAt - 60 * 60 * 1000)
      // Open and close, joined as one opportunity (a line, not two dots).
      expect(Number(await line.getAttribute('data-points'))).toBeGreaterThanOrEqual(2)
      expect(await line.getAttribute('d')).toMatch(/^M[\d.]+,[\d.]+L/)

      // The book updates above gave each venue a window of latencies: p50 and p99, coloured.
      for (const venue of ['binance', 'bybit']) {
        const badge = `.venue[data-venue="${venue}"]`
        await fresh.waitForSelector(`${badge} .venue-latency .lat:has-text("p99")`)
        const latency = fresh.locator(`${badge} .venue-latency`)
        expect(await latency.textContent()).toMatch(/^latency p50 .+ · p99 .+$/)
        expect(await latency.textContent()).toMatch(LATENCY_TEXT)
        expect(await latency.getAttribute('title')).toMatch(
          /^exchange-to-receive latency, p50 \/ p99 over the last 1 m \(\d+ samples?\)$/,
        )
        for (const cls of await latency
          .locator('.lat')
          .evaluateAll((els) => els.map((el) => el.className))) {
          expect(cls).toMatch(/^lat (ok|warn|bad)$/)
        }
        // This process's own part: frame received to the detector's decision.
        const decision = fresh.locator(`${badge} .venue-decision`)
        expect(await decision.textContent()).toMatch(
          new RegExp(`^ · decision p50 ${LAT} · p99 ${LAT}$`),
        )
        expect(await decision.getAttribute('title')).toContain('frame-to-decision latency')
        expect(await decision.locator('.lat').first().getAttribute('class')).toMatch(
          /^lat (ok|warn|bad)$/,
        )
      }
    } finally {
      await fresh.close()
    }
  }, 15_000)

  test('it shows when it has lost the server, and when it is back', async () => {
    // Only the calculator's deliberate 400s so far (Chromium logs every failed load).
    expect(problems.filter((p) => !p.includes('status of 400'))).toEqual([])
    const port = proxy.port!
    await proxy.stop(true)
    await page.waitForSelector('#conn[data-state="lost"]', { timeout: 3000 })
    expect(await page.textContent('#conn')).toContain('lost the server')
    proxy = startProxy(app.port, port)
    await page.waitForSelector('#conn[data-state="back"]', { timeout: 5000 })
    await page.waitForSelector('.venue[data-venue="bybit"][data-state="connected"]')
    // While the server was away, only failed loads were reported.
    expect(problems.filter((p) => !/status of 400|net::ERR_/.test(p))).toEqual([])
  })

  test('with every venue down, the banner says why instead of scanning', async () => {
    await page.waitForSelector('#scanning[data-state="scanning"]')
    sims.stop()
    // Each venue's state and its errors by kind, once both have failed to reconnect.
    const venue = (name: string) =>
      String.raw`${name} (down|connecting|reconnecting) \([a-z-]+ ×\d+(, [a-z-]+ ×\d+)*\)`
    const why = `^No venue is connected: ${venue('binance')}, ${venue('bybit')}$`
    await page.waitForFunction(
      (pattern) =>
        new RegExp(pattern).test(document.getElementById('scanning-text')?.textContent ?? ''),
      why,
      { timeout: 15_000 },
    )
    expect(await page.getAttribute('#scanning', 'data-state')).toBe('down')
    expect(await page.isVisible('#scanning')).toBe(true)
    expect(await page.textContent('#scanning')).not.toContain('Scanning')
    // The badges say the same: neither is connected.
    for (const venue of ['binance', 'bybit']) {
      expect(await page.getAttribute(`.venue[data-venue="${venue}"]`, 'data-state')).toMatch(
        /^(down|connecting|reconnecting)$/,
      )
    }
  }, 20_000)
})
