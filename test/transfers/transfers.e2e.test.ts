/**
 * End to end: simulated Binance and Bybit (their signed transfer endpoints checking the read-only
 * key) → the real refresher, detector, store and dispatcher → the real grammY client → a fake
 * Telegram Bot API. What the chats see when a withdrawal is switched off, when the two venues name
 * different tokens, and when an endpoint fails.
 */
import { afterEach, describe, expect, test } from 'bun:test'
import { startApp, type App } from '../../src/main.ts'
import { SimBinance } from '../../src/venues/binance/sim.ts'
import { SimBybit } from '../../src/venues/bybit/sim.ts'
import { makeBook, type Row } from '../../src/venues/sim/book.ts'
import { FakeTelegramServer } from '../fakes/telegram-server.ts'
import { silent, until } from '../support.ts'

let app: App | undefined
const stops: (() => unknown)[] = []
afterEach(async () => {
  await app?.stop()
  app = undefined
  for (const s of stops.splice(0)) await s()
})

function setup(pair = 'BTC/USDT', price = 60000) {
  const [base, quote] = pair.split('/') as [string, string]
  const market = () => [{ base, quote, book: makeBook(price, 20, price >= 1000 ? 0.1 : 0.01) }]
  const binance = new SimBinance(market())
  const bybit = new SimBybit(market())
  const telegram = new FakeTelegramServer({ token: '110201543:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw' })
  stops.push(
    () => binance.stop(),
    () => bybit.stop(),
    () => telegram.stop(),
  )
  const keys = (v: string, sim: SimBinance | SimBybit) => ({
    [`${v}_API_KEY`]: sim.credentials.key,
    [`${v}_API_SECRET`]: sim.credentials.secret,
  })
  const env = {
    EXCHANGES: 'binance,bybit',
    SYMBOLS: pair,
    PORT: '0',
    HOST: '127.0.0.1',
    TRIANGLES: 'off',
    DATABASE_URL: ':memory:',
    ALERT_COOLDOWN_S: '0',
    // The simulated books are quiet between the test's moves: they stay fresh meanwhile.
    MAX_QUOTE_AGE_MS: '60000',
    BINANCE_WS_URL: binance.wsUrl,
    BINANCE_REST_URL: binance.restUrl,
    BYBIT_WS_URL: bybit.wsUrl,
    BYBIT_REST_URL: bybit.restUrl,
    TELEGRAM_BOT_TOKEN: telegram.token,
    TELEGRAM_API_ROOT: telegram.apiRoot,
    ...keys('BINANCE', binance),
    ...keys('BYBIT', bybit),
  }
  return { binance, bybit, telegram, env, pair }
}

async function chat(telegram: FakeTelegramServer, id: number, pair: string, mode?: string) {
  await telegram.userSays(id, 7, `/subscribe ${pair}`)
  await telegram.waitForReply(id)
  await telegram.userSays(id, 7, '/threshold 0.3')
  await telegram.waitForReply(id)
  if (mode !== undefined) {
    await telegram.userSays(id, 7, `/transfer ${mode}`)
    await telegram.waitForReply(id)
  }
}

/** Every book live (Binance's first update brings its REST snapshot). */
async function live(a: App, binance: SimBinance, pair: string) {
  const [bid] = binance.book(pair).topBids(1)
  await until(
    () => {
      binance.update(pair, [[bid![0], '1.50000000']], [])
      return [...a.books.venues()].every((v) =>
        [...a.books.ofVenue(v)].every((e) => e.state === 'live'),
      )
    },
    5000,
    'books live',
  )
}

/** Bybit's book jumps 0.67 % above Binance's: buy Binance, sell Bybit. */
function dislocate(bybit: SimBybit, pair: string, up: boolean) {
  const book = bybit.book(pair)
  const [bestAsk] = book.topAsks(1)
  const px = Number(bestAsk![0])
  const digits = bestAsk![0].split('.')[1]?.length ?? 0
  // Enough to fill the 1,000 USDT trade.
  const qty = px < 100 ? '500.00000000' : '1.00000000'
  if (up) {
    const gone: Row[] = book.topAsks().map(([p]) => [p, '0'])
    bybit.update(
      pair,
      [[(px * 1.0067).toFixed(digits), qty]],
      [...gone, [(px * 1.008).toFixed(digits), qty]],
    )
  } else {
    const [bestBid] = book.topBids(1)
    bybit.update(pair, [[bestBid![0], '0']], [[(px * 0.99995).toFixed(digits), qty]])
  }
}

const alertsTo = (telegram: FakeTelegramServer, chatId: number) =>
  telegram.sent.filter((m) => m.chatId === chatId && m.text.includes('buy Binance'))

describe('transfer truth end to end', () => {
  test('withdrawals switched off on the buy venue: the open alert is edited to blocked, the next alert says so, a /transfer only chat gets nothing', async () => {
    const { binance, bybit, telegram, env, pair } = setup()
    app = await startApp(env, silent)
    await telegram.waitFor(() => telegram.callsOf('getUpdates').length > 0, 5000, 'polling')
    await chat(telegram, 3001, 'BTCUSDT')
    await chat(telegram, 3002, 'BTCUSDT', 'only')
    await until(
      () =>
        app!.transferFacts.of('binance', 'BTC') !== undefined &&
        app!.transferFacts.of('bybit', 'BTC') !== undefined,
      5000,
      'transfer facts of both venues',
    )
    await live(app, binance, pair)

    dislocate(bybit, pair, true)
    await until(() => alertsTo(telegram, 3002).length === 1, 10_000, 'the first alerts')
    await until(() => alertsTo(telegram, 3001).length === 1, 10_000, 'the first alerts')
    expect(alertsTo(telegram, 3001)[0]!.text).toContain(
      'Transfer transferable: Withdraw BTC from Binance',
    )
    expect(alertsTo(telegram, 3001)[0]!.text).toContain(
      'The net assumes balances already on both venues',
    )

    // Binance suspends BTC withdrawals while the opportunity is open.
    binance.transfers.set('BTC', { withdraw: false })
    app.transfers.refresh('binance')
    // The market keeps moving (far from the top), so the open opportunity keeps updating.
    const deep = binance.book(pair).topBids()[15]!
    let n = 0
    await until(
      () => {
        if (n++ % 20 === 0) binance.update(pair, [[deep[0], (1 + (n % 7) / 8).toFixed(8)]], [])
        return telegram.edits.some((e) => e.chatId === 3001 && e.text.includes('Transfer BLOCKED'))
      },
      // An open alert is edited at most every 15 s (Telegram's group limits).
      20_000,
      'the open alert edited to blocked',
    )
    const [stored] = (await app.store.listOpportunities()).items
    expect(stored?.transfer?.status).toBe('blocked')

    // It closes, and opens again: a new alert, blocked; the /transfer only chat hears nothing.
    dislocate(bybit, pair, false)
    await app.detector.events.next('closed', undefined, 5000)
    const opened = app.detector.events.next('opened', undefined, 5000)
    dislocate(bybit, pair, true)
    const second = (await opened).opportunity
    expect(second.transfer?.status).toBe('blocked')
    await until(() => alertsTo(telegram, 3001).length === 2, 10_000, 'the second alert')
    expect(alertsTo(telegram, 3001)[1]!.text).toContain('Transfer BLOCKED')
    // Its deliveries were written with the opening: one, to the chat that takes any route.
    const rs = await app.db.client.execute({
      sql: 'select chat_id from deliveries where opportunity_id = ?',
      args: [second.id],
    })
    expect(rs.rows.map((r) => String(r.chat_id))).toEqual(['3001'])
    expect(alertsTo(telegram, 3002)).toHaveLength(1)
  }, 60_000)

  test('the two venues name different tokens: the opening is an anomaly and alerts nobody', async () => {
    const { binance, bybit, telegram, env, pair } = setup('UNI/USDT', 8)
    // Bybit's UNI is another contract on the same network.
    bybit.transfers.set('UNI', { contract: '0x1111111111111111111111111111111111111111' }, 'ETH')
    // A trade the simulated Binance book can fill.
    app = await startApp({ ...env, TRADE_SIZE: '20' }, silent)
    await telegram.waitFor(() => telegram.callsOf('getUpdates').length > 0, 5000, 'polling')
    await chat(telegram, 3003, 'UNIUSDT')
    await until(
      () =>
        app!.transferFacts.of('binance', 'UNI') !== undefined &&
        app!.transferFacts.of('bybit', 'UNI') !== undefined,
      5000,
      'transfer facts of both venues',
    )
    await live(app, binance, pair)
    const opened = app.detector.events.next('opened', undefined, 5000)
    dislocate(bybit, pair, true)
    const o = (await opened).opportunity
    expect(o.anomaly).toBe(true)
    expect(o.transfer?.collision).toBe(true)
    const [row] = (await app.store.listOpportunities({ includeAnomalies: true })).items
    expect(row?.transfer?.collision).toBe(true)
    // Written with the opening in one transaction: no delivery for anyone.
    const rs = await app.db.client.execute({
      sql: 'select count(*) as n from deliveries where opportunity_id = ?',
      args: [o.id],
    })
    expect(Number(rs.rows[0]?.n)).toBe(0)
    expect(alertsTo(telegram, 3003)).toEqual([])
  }, 30_000)

  test('an endpoint that fails leaves the facts unknown, with why, never ok', async () => {
    const { binance, bybit, telegram, env, pair } = setup()
    for (let i = 0; i < 3; i++) binance.transfers.faults.push({ kind: 'status', status: 503 })
    app = await startApp(env, silent)
    await telegram.waitFor(() => telegram.callsOf('getUpdates').length > 0, 5000, 'polling')
    await until(
      () => app!.transferFacts.outcome('binance')?.error !== undefined,
      5000,
      'the refused fetch',
    )
    await live(app, binance, pair)
    const opened = app.detector.events.next('opened', undefined, 5000)
    dislocate(bybit, pair, true)
    const t = (await opened).opportunity.transfer
    expect(t?.status).toBe('unknown')
    expect(t?.line).toContain('Binance')
    const res = await fetch(`http://127.0.0.1:${app.port}/api/transfers?asset=BTC`)
    const body = (await res.json()) as any
    expect(body.venues.binance.error).toContain('503')
    expect(body.venues.binance.facts).toEqual([])
    expect(body.venues.bybit.facts[0].ageMs).toBeGreaterThanOrEqual(0)
  }, 30_000)
})
