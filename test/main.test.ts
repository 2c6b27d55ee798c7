import { afterEach, describe, expect, test } from 'bun:test'
import { startApp, type App } from '../src/main.ts'
import type { Row } from '../src/venues/sim/book.ts'
import type { SimVenue } from '../src/venues/sim/venue.ts'
import { binanceAndBybitLive, silent, simulateBinanceAndBybit } from './support.ts'

let app: App | undefined
let sims: ReturnType<typeof simulateBinanceAndBybit> | undefined
afterEach(async () => {
  await app?.stop()
  sims?.stop()
  app = sims = undefined
})

function twoVenues() {
  sims = simulateBinanceAndBybit()
  const env = {
    EXCHANGES: 'binance,bybit',
    SYMBOLS: 'btcusdt,ETH-USDT,SOL/USDT',
    PORT: '0',
    HOST: '127.0.0.1',
    DATABASE_URL: ':memory:',
    TRIANGLES: 'off',
    FEE_BPS_BINANCE: '10',
    FEE_BPS_BYBIT: '10',
    ...sims.env,
  }
  return { binance: sims.binance, bybit: sims.bybit, env }
}

/**
 * Bybit's whole book jumps: its best bid 60,200.00 is above Binance's best ask 60,000.10.
 * Resolves with the opening.
 */
function dislocate(a: App, bybit: SimVenue) {
  const asksGone: Row[] = bybit
    .book('BTC/USDT')
    .topAsks()
    .map(([p]) => [p, '0'])
  const opened = a.detector.events.next('opened', undefined, 3000)
  bybit.update('BTC/USDT', [['60200.00', '1.00000000']], [...asksGone, ['60300.00', '1.00000000']])
  return opened
}

describe('arbwatch process', () => {
  test('configured through the environment, it syncs the venues and reports them on /api/status', async () => {
    const { binance, env } = twoVenues()
    app = await startApp(env, silent)
    await binanceAndBybitLive(app.books, binance)
    const status = async (query = '') =>
      (await (await fetch(`http://127.0.0.1:${app!.port}/api/status${query}`)).json()) as any
    const body = await status()
    expect(body.venues.binance.state).toBe('connected')
    expect(body.venues.binance.unlisted).toEqual(['SOL/USDT'])
    expect(body.venues.binance.books).toEqual({ total: 2, live: 2, syncing: 0, stale: 0 })
    expect(body.books).toBeUndefined()
    const book = async (venue: string, symbol: string) =>
      (await status(`?venue=${venue}&symbol=${encodeURIComponent(symbol)}`)).books[0]
    expect(await book('binance', 'BTC/USDT')).toMatchObject({
      state: 'live',
      bestBid: '59999.95',
      bestAsk: '60000.10',
      resyncs: 0,
    })
    expect(await book('binance', 'ETH/USDT')).toMatchObject({
      state: 'live',
      bestBid: '2999.99',
      bestAsk: '3000.01',
    })
    expect(await book('bybit', 'BTC/USDT')).toMatchObject({
      state: 'live',
      bestBid: '59999.90',
      bestAsk: '60000.10',
    })
    expect(await book('binance', 'SOL/USDT')).toBeUndefined()
    expect((await fetch(`http://127.0.0.1:${app.port}/healthz`)).status).toBe(200)
  })

  test('an injected dislocation lands exactly one opportunity with the right numbers in the database', async () => {
    const { binance, bybit, env } = twoVenues()
    app = await startApp(env, silent)
    await binanceAndBybitLive(app.books, binance)
    expect(app.detector.openOpportunities()).toHaveLength(0)

    await dislocate(app, bybit)
    expect(app.detector.openOpportunities()).toHaveLength(1)
    await app.store.flush()
    expect(app.store.stats.written).toBeGreaterThanOrEqual(1)
    expect(app.store.stats.pending).toBe(0)

    const res = await fetch(`http://127.0.0.1:${app.port}/api/opportunities?symbol=BTCUSDT`)
    const { items } = (await res.json()) as any
    expect(items).toHaveLength(1)
    const o = items[0]
    // Buy 1000 USDT of BTC on Binance at 60,000.10, sell it on Bybit at 60,200.00, 0.1 % taker each.
    const net = ((60200 / 60000.1) * 0.999 * 0.999 - 1) * 10_000
    expect(o).toMatchObject({
      kind: 'cross',
      symbol: 'BTC/USDT',
      buyVenue: 'binance',
      sellVenue: 'bybit',
      anomaly: false,
      sizeQuote: 1000,
      closedAtMs: null,
    })
    expect(o.grossBps).toBeCloseTo(((60200 - 60000.1) / 60000.1) * 10_000, 9)
    expect(o.netBps).toBeCloseTo(net, 9)
    expect(o.netBpsOpen).toBeCloseTo(net, 9)
    expect(o.profitQuote).toBeCloseTo(net / 10, 9)
    expect(o.buyPrice).toBeCloseTo(60000.1, 6)
    expect(o.sellPrice).toBeCloseTo(60200, 6)
    expect(o.feeBps).toBe(20)

    // The dislocation ends: the opportunity closes, and the same row records it.
    const closed = app.detector.events.next('closed', undefined, 3000)
    bybit.update('BTC/USDT', [['60200.00', '0']], [['60000.50', '1.00000000']])
    await closed
    expect(app.detector.openOpportunities()).toHaveLength(0)
    await app.store.flush()
    const after = (await app.store.listOpportunities({})).items
    expect(after).toHaveLength(1)
    expect(after[0]!.closedAtMs).not.toBeNull()
    expect(after[0]!.closeReason).toContain('below the threshold')

    const metrics = await (await fetch(`http://127.0.0.1:${app.port}/metrics`)).text()
    expect(metrics).toContain('arbwatch_opportunities_opened_total{kind="cross",anomaly="false"} 1')
    expect(metrics).toMatch(/arbwatch_messages_total\{venue="binance"\} [1-9]/)
    expect(metrics).toMatch(/arbwatch_detector_seconds_count [1-9]/)
    expect(metrics).toContain('arbwatch_nodejs_eventloop_lag_seconds')
    expect((await fetch(`http://127.0.0.1:${app.port}/readyz`)).status).toBe(200)
    const spreads = (await (await fetch(`http://127.0.0.1:${app.port}/api/spreads`)).json()) as any
    expect(spreads.spreads.filter((s: any) => s.symbol === 'BTC/USDT')).toHaveLength(2)
  })

  test('a restart resumes the open opportunity: same row, no second opening; a gone one closes as restart', async () => {
    const { binance, bybit, env } = twoVenues()
    const dir = `${import.meta.dir}/../data/test-restart-${process.pid}`
    const fileEnv = { ...env, DATABASE_URL: `file:${dir}/db.sqlite` }
    app = await startApp(fileEnv, silent)
    await binanceAndBybitLive(app.books, binance)
    const { opportunity } = await dislocate(app, bybit)
    await app.stop()

    // Same database, same venues: the dislocation is still there.
    const connected = (n: number) =>
      binance.server.waitFor(() => binance.server.connections >= n, 5000, `connection ${n}`)
    app = await startApp(fileEnv, silent)
    await connected(2)
    const events: string[] = []
    app.detector.events.on((e) => events.push(`${e.type} ${e.opportunity.id}`))
    expect(app.detector.openOpportunities().map((o) => o.id)).toEqual([opportunity.id])
    const confirmed = app.detector.events.next(
      'updated',
      (e) => e.opportunity.id === opportunity.id,
    )
    await binanceAndBybitLive(app.books, binance)
    bybit.update('BTC/USDT', [['60200.00', '1.50000000']], [])
    await confirmed
    expect(events.filter((e) => e.startsWith('opened'))).toEqual([])
    await app.stop()

    // Restarted after the dislocation ended while nobody watched: it closes as `restart`.
    bybit.update('BTC/USDT', [['60200.00', '0']], [['60000.50', '1.00000000']])
    app = await startApp(fileEnv, silent)
    const closed = app.detector.events.next('closed', undefined, 5000)
    await connected(3)
    await binanceAndBybitLive(app.books, binance)
    const { opportunity: gone } = await closed
    expect([gone.id, gone.closeReason]).toEqual([opportunity.id, 'restart'])
    await app.store.flush()
    const rows = (await app.store.listOpportunities({})).items
    expect(rows.map((r) => [r.id, r.closeReason])).toEqual([[opportunity.id, 'restart']])
    await app.stop()
    app = undefined
    await Bun.$`rm -rf ${dir}`.quiet()
  }, 20_000)

  test('a bad environment stops start-up with one message naming each bad variable', async () => {
    await expect(startApp({ PORT: 'eighty', EXCHANGES: 'mtgox' }, silent)).rejects.toThrow(
      /PORT="eighty".*\n.*EXCHANGES|EXCHANGES="mtgox"[\s\S]*PORT="eighty"/,
    )
  })

  test('the entry point exits with status 2 and the message on a bad environment', async () => {
    const proc = Bun.spawn(['bun', 'src/main.ts'], {
      env: { ...process.env, PORT: '-1', SYMBOLS: '??' },
      stderr: 'pipe',
      stdout: 'pipe',
    })
    const code = await proc.exited
    const err = await new Response(proc.stderr).text()
    expect(code).toBe(2)
    expect(err).toContain('PORT="-1"')
    expect(err).toContain('SYMBOLS="??"')
  })

  test('an unreachable database at start-up is one clear error', async () => {
    const closed = Bun.serve({ port: 0, fetch: () => new Response('') })
    const port = closed.port
    closed.stop(true)
    const proc = Bun.spawn(['bun', 'src/main.ts'], {
      env: { ...process.env, DATABASE_URL: `http://127.0.0.1:${port}`, PORT: '0' },
      stderr: 'pipe',
      stdout: 'pipe',
    })
    const code = await proc.exited
    const err = await new Response(proc.stderr).text()
    expect(code).toBe(2)
    expect(err).toContain(`cannot reach database http://127.0.0.1:${port}`)
  })
})

describe('graceful shutdown', () => {
  test('SIGTERM stops the process cleanly within 10 s', async () => {
    const dir = `${import.meta.dir}/../data/test-shutdown-${process.pid}`
    const proc = Bun.spawn(['bun', 'src/main.ts'], {
      env: {
        ...process.env,
        PORT: '0',
        HOST: '127.0.0.1',
        LOG_LEVEL: 'info',
        EXCHANGES: 'binance',
        BINANCE_REST_URL: 'http://127.0.0.1:9',
        BINANCE_WS_URL: 'ws://127.0.0.1:9',
        DATABASE_URL: `file:${dir}/db.sqlite`,
      },
      stdout: 'pipe',
      stderr: 'pipe',
    })
    const reader = proc.stdout.getReader()
    let out = ''
    while (!out.includes('arbwatch listening')) {
      const { value, done } = await reader.read()
      if (done) throw new Error(`exited early: ${out}`)
      out += new TextDecoder().decode(value)
    }
    const t0 = Date.now()
    proc.kill('SIGTERM')
    const code = await proc.exited
    expect(code).toBe(0)
    expect(Date.now() - t0).toBeLessThan(10_000)
    expect(await new Response(proc.stderr).text()).toContain('SIGTERM received, shutting down')
    await Bun.$`rm -rf ${dir}`.quiet()
  }, 20_000)
})
