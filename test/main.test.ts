import { afterEach, describe, expect, test } from 'bun:test'
import { startApp, type App } from '../src/main.ts'
import { FakeBinance } from './fakes/binance.ts'
import { makeBook } from './fakes/sim-book.ts'
import { silent, until } from './support.ts'

let app: App | undefined
let fake: FakeBinance | undefined
afterEach(async () => {
  await app?.stop()
  fake?.stop()
  app = fake = undefined
})

describe('arbwatch process', () => {
  test('configured through the environment, it syncs a fake venue and reports it on /api/status', async () => {
    fake = new FakeBinance([
      { symbol: 'BTCUSDT', base: 'BTC', quote: 'USDT', book: makeBook(60000, 10, 0.1) },
      { symbol: 'ETHUSDT', base: 'ETH', quote: 'USDT', book: makeBook(3000, 10, 0.01) },
    ])
    app = await startApp(
      {
        EXCHANGES: 'binance',
        SYMBOLS: 'btcusdt,ETH-USDT,SOL/USDT',
        PORT: '0',
        HOST: '127.0.0.1',
        BINANCE_WS_URL: fake.wsUrl,
        BINANCE_REST_URL: fake.restUrl,
      },
      silent,
    )
    await until(() => fake!.server.clients.size === 1, 3000, 'connection')
    const f = fake
    await until(
      () => {
        f.update('BTCUSDT', [['59999.95', '1.00000000']], [])
        f.update('ETHUSDT', [], [['3000.015', '2.00000000']])
        return (
          app!.books.get('binance', 'BTC/USDT')!.state === 'live' &&
          app!.books.get('binance', 'ETH/USDT')!.state === 'live'
        )
      },
      3000,
      'books live',
    )
    const res = await fetch(`http://127.0.0.1:${app.port}/api/status`)
    const body = (await res.json()) as any
    expect(body.venues.binance.state).toBe('connected')
    expect(body.venues.binance.unlisted).toEqual(['SOL/USDT'])
    expect(body.venues.binance.books['BTC/USDT']).toMatchObject({
      state: 'live',
      bestBid: '59999.95',
      bestAsk: '60000.10',
      resyncs: 0,
    })
    expect(body.venues.binance.books['ETH/USDT']).toMatchObject({
      state: 'live',
      bestBid: '2999.99',
      bestAsk: '3000.01',
    })
    expect(body.venues.binance.books['SOL/USDT']).toBeUndefined()
    expect((await fetch(`http://127.0.0.1:${app.port}/healthz`)).status).toBe(200)
  })

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
})
