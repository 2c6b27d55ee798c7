import { describe, expect, test } from 'bun:test'
import { createApi } from '../../src/api/app.ts'
import { Books } from '../../src/book/books.ts'
import type { ConnectionStats } from '../../src/exchanges/connection.ts'
import { toLevels } from '../../src/exchanges/exchange.ts'
import { silent } from '../support.ts'

function fixture() {
  const books = new Books()
  books.addVenue('kraken', { snapshotSource: 'ws' }, ['BTC/USDT', 'ETH/USDT'])
  books.apply(
    'kraken',
    {
      type: 'snapshot',
      pair: 'BTC/USDT',
      bids: toLevels([['60000.1', '0.50000000']]),
      asks: toLevels([['60000.2', '1.25']]),
    },
    1000,
  )
  const stats: ConnectionStats = {
    state: 'connected',
    messages: 123,
    reconnects: 0,
    errors: { 'malformed-json': 2 },
    connectedSinceMs: 500,
    lastMessageMs: 1000,
    latencyMs: 7,
    markets: new Map([
      ['BTC/USDT', 'BTC/USDT'],
      ['ETH/USDT', 'ETH/USDT'],
    ]),
    unlisted: [],
  }
  return createApi({
    connections: [{ venue: 'kraken', stats }],
    books,
    log: silent,
    now: () => 1042,
  })
}

describe('API', () => {
  test('GET /healthz answers 200', async () => {
    const res = await fixture().request('http://localhost/healthz')
    expect(res.status).toBe(200)
  })

  test("GET /api/status has the documented shape with the venue's own price strings", async () => {
    const res = await fixture().request('http://localhost/api/status')
    expect(res.status).toBe(200)
    const body = (await res.json()) as any
    const kraken = body.venues.kraken
    expect(kraken).toMatchObject({
      state: 'connected',
      messages: 123,
      reconnects: 0,
      errors: { 'malformed-json': 2 },
      latencyMs: 7,
      lastMessageAgeMs: 42,
    })
    expect(kraken.books['BTC/USDT']).toMatchObject({
      state: 'live',
      bestBid: '60000.1',
      bestAsk: '60000.2',
      resyncs: 0,
      ageMs: 42,
      bestBidQty: '0.50000000',
    })
    expect(kraken.books['ETH/USDT']).toMatchObject({
      state: 'syncing',
      bestBid: null,
      bestAsk: null,
      ageMs: null,
    })
  })

  test('unknown routes get a JSON 404', async () => {
    const res = await fixture().request('http://localhost/nope')
    expect(res.status).toBe(404)
    expect(((await res.json()) as any).error).toContain('/nope')
  })
})
