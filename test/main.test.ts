import { afterEach, describe, expect, test } from 'bun:test'
import { chmodSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import pino from 'pino'
import { openDb } from '../src/db/client.ts'
import { startApp, type App } from '../src/main.ts'
import type { Row } from '../src/venues/sim/book.ts'
import type { SimVenue } from '../src/venues/sim/venue.ts'
import { FakeTelegramServer } from './fakes/telegram-server.ts'
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

describe('start-up failures after the database is open', () => {
  /** Listens on a free port of 127.0.0.1 until stopped: a port in use. */
  const holdPort = () =>
    Bun.serve({ hostname: '127.0.0.1', port: 0, fetch: () => new Response('taken') })
  const offline = {
    HOST: '127.0.0.1',
    EXCHANGES: 'binance',
    BINANCE_REST_URL: 'http://127.0.0.1:9',
    BINANCE_WS_URL: 'ws://127.0.0.1:9',
  }

  test('a port in use is one line on stderr and exit code 2, no stack trace', async () => {
    const taken = holdPort()
    try {
      const proc = Bun.spawn(['bun', 'src/main.ts'], {
        env: { ...process.env, ...offline, PORT: String(taken.port), DATABASE_URL: ':memory:' },
        stderr: 'pipe',
        stdout: 'pipe',
      })
      const [code, err] = await Promise.all([proc.exited, new Response(proc.stderr).text()])
      expect(code).toBe(2)
      expect(err).toBe(
        `cannot listen on 127.0.0.1:${taken.port}: the port is already in use (set PORT)\n`,
      )
    } finally {
      await taken.stop(true)
    }
  })

  test('a port in use: what started before the server is stopped and the database closed', async () => {
    // Nothing may be left running: the process ends by itself once startApp has rejected (the
    // detector's timer or the store's writer would keep it up), and the file takes writes again.
    const taken = holdPort()
    const dir = mkdtempSync(join(tmpdir(), 'arbwatch-port-'))
    try {
      const url = `file:${join(dir, 'db.sqlite')}`
      const script = `
        const { startApp } = await import(${JSON.stringify(join(import.meta.dir, '../src/main.ts'))})
        const { silent } = await import(${JSON.stringify(join(import.meta.dir, 'support.ts'))})
        const env = ${JSON.stringify({ ...offline, PORT: String(taken.port), DATABASE_URL: url })}
        await startApp(env, silent).then(
          () => console.log('started'),
          (err) => console.log(err.name + ': ' + err.message),
        )`
      const proc = Bun.spawn([process.execPath, '-e', script], { stdout: 'pipe', stderr: 'pipe' })
      const [code, out, err] = await Promise.all([
        proc.exited,
        new Response(proc.stdout).text(),
        new Response(proc.stderr).text(),
      ])
      expect(err).toBe('')
      expect(out.trim()).toBe(
        `ListenError: cannot listen on 127.0.0.1:${taken.port}: the port is already in use (set PORT)`,
      )
      expect(code).toBe(0)
      const h = await openDb({ url })
      await h.client.execute('create table after_failed_start (x)')
      h.close()
    } finally {
      await taken.stop(true)
      rmSync(dir, { recursive: true, force: true })
    }
  })

  test('a read-only database file is one line naming it and exit code 2', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'arbwatch-ro-'))
    const path = join(dir, 'x.db')
    await Bun.write(path, '')
    chmodSync(path, 0o444)
    // Root ignores file modes: as root the file is also made immutable, which refuses writes.
    const root = process.getuid?.() === 0
    if (root) expect(Bun.spawnSync(['chattr', '+i', path]).exitCode).toBe(0)
    try {
      const proc = Bun.spawn(['bun', 'src/main.ts'], {
        env: { ...process.env, ...offline, PORT: '0', DATABASE_URL: `file:${path}` },
        stderr: 'pipe',
        stdout: 'pipe',
      })
      const [code, err] = await Promise.all([proc.exited, new Response(proc.stderr).text()])
      expect(code).toBe(2)
      expect(err).toBe(`the database file ${path} cannot be written: permission denied\n`)
    } finally {
      if (root) Bun.spawnSync(['chattr', '-i', path])
      rmSync(dir, { recursive: true, force: true })
    }
  })
})

describe('the chat bots at start and stop', () => {
  /** A logger whose lines (parsed) land in `lines`; `seen(msg)` resolves once one says `msg`. */
  function capturingLog() {
    const lines: { msg: string; level: number }[] = []
    const waiting: { msg: string; resolve: () => void }[] = []
    const log = pino(
      { level: 'info' },
      {
        write(s: string) {
          const line = JSON.parse(s) as { msg: string; level: number }
          lines.push(line)
          for (const w of waiting.filter((w) => w.msg === line.msg)) w.resolve()
        },
      },
    )
    const seen = (msg: string) =>
      lines.some((l) => l.msg === msg)
        ? Promise.resolve()
        : new Promise<void>((resolve) => waiting.push({ msg, resolve }))
    return { log, lines, seen }
  }

  const withTelegram = (fake: FakeTelegramServer) => ({
    PORT: '0',
    HOST: '127.0.0.1',
    DATABASE_URL: ':memory:',
    EXCHANGES: 'binance',
    BINANCE_REST_URL: 'http://127.0.0.1:9',
    BINANCE_WS_URL: 'ws://127.0.0.1:9',
    TELEGRAM_BOT_TOKEN: fake.token,
    TELEGRAM_API_ROOT: fake.apiRoot,
  })

  test('started and stopped at once: no "telegram bot started", never after "telegram stopped"', async () => {
    const fake = new FakeTelegramServer({ token: '123456:TEST-token-for-the-main-test' })
    try {
      const { log, lines } = capturingLog()
      app = await startApp(withTelegram(fake), log)
      await app.stop()
      const msgs = lines.map((l) => l.msg)
      expect(msgs).toContain('telegram stopped')
      expect(msgs).not.toContain('telegram bot started')
      expect(app.telegram!.state).toBe('stopped')
    } finally {
      await fake.stop()
    }
  })

  test('a bot that did start logs "telegram bot started" before "telegram stopped"', async () => {
    const fake = new FakeTelegramServer({ token: '123456:TEST-token-for-the-main-test' })
    try {
      const { log, lines, seen } = capturingLog()
      app = await startApp(withTelegram(fake), log)
      await seen('telegram bot started')
      expect(app.telegram!.state).toBe('running')
      await app.stop()
      const msgs = lines.map((l) => l.msg).filter((m) => m.startsWith('telegram '))
      expect(msgs.indexOf('telegram bot started')).toBeGreaterThanOrEqual(0)
      expect(msgs.indexOf('telegram bot started')).toBeLessThan(msgs.indexOf('telegram stopped'))
      expect(msgs.filter((m) => m === 'telegram bot started')).toHaveLength(1)
    } finally {
      await fake.stop()
    }
  })
})
