/**
 * One opportunity record: the history API, the event stream and the store all send the same
 * `toRecord` fields and values (the stream adds the live `open`/`last` quotes).
 */
import { describe, expect, test } from 'bun:test'
import { createApi } from '../../src/api/app.ts'
import type { Books } from '../../src/book/books.ts'
import { Store } from '../../src/db/store.ts'
import type { Detector } from '../../src/detector/detector.ts'
import { toRecord } from '../../src/detector/record.ts'
import type { Opportunity, OpportunityListener } from '../../src/detector/types.ts'
import { crossAt, openMemoryDb, quoteAt, silent, stopAfterEach } from '../support.ts'

const track = stopAfterEach()

const triangle: Opportunity = {
  ...crossAt(42, 'USDT>BTC>ETH>USDT'),
  id: 'triangle:USDT>BTC>ETH>USDT:okx:1',
  kind: 'triangle',
  buyVenue: 'okx',
  sellVenue: 'okx',
  openedAtMs: 1000,
  open: quoteAt(30, { feeBps: 30 }),
  last: quoteAt(42, {
    feeBps: 30,
    legs: [
      { venue: 'okx', market: 'BTC/USDT', side: 'buy', price: 60000 },
      { venue: 'okx', market: 'ETH/BTC', side: 'buy', price: 0.05 },
      { venue: 'okx', market: 'ETH/USDT', side: 'sell', price: 3001 },
    ],
  }),
  updatedAtMs: 1500,
}

async function fixture() {
  const handle = await openMemoryDb(track)
  const store = new Store({ db: handle.db, log: silent })
  const listeners: OpportunityListener[] = []
  // Only what the routes under test read: the API's own mapping is what is checked.
  const detector = {
    subscribe: (fn: OpportunityListener) => (listeners.push(fn), () => {}),
    openOpportunities: () => [triangle],
  } as unknown as Detector
  const books = { ofVenue: () => [] } as unknown as Books
  const app = createApi({ connections: [], books, detector, store, log: silent, sizeQuote: 1000 })
  return { app, store, listeners }
}

describe('one opportunity record', () => {
  test('the history API and the stream send the same record the store wrote', async () => {
    const { app, store } = await fixture()
    store.record({ type: 'updated', opportunity: triangle, atMs: 1500 })
    await store.flush()
    const record = JSON.parse(JSON.stringify(toRecord(triangle)))

    const one = await app.request(`http://localhost/api/opportunities/${triangle.id}`)
    expect(await one.json()).toEqual(record)
    const page = await app.request('http://localhost/api/opportunities')
    expect(((await page.json()) as { items: unknown[] }).items).toEqual([record])

    const res = await app.request('http://localhost/api/stream')
    const reader = res.body!.getReader()
    let text = ''
    while (
      !text.includes('event: hello\ndata: ') ||
      !text.slice(text.indexOf('event: hello')).includes('\n\n')
    ) {
      const { value, done } = await reader.read()
      if (done) throw new Error('stream ended')
      text += new TextDecoder().decode(value)
    }
    await reader.cancel()
    const data = /event: hello\ndata: (.*)\n/.exec(text)![1]!
    const [streamed] = (JSON.parse(data) as { open: Record<string, unknown>[] }).open
    const { open, last, ...flat } = streamed!
    expect(flat).toEqual(record)
    // Kept for stream clients (the dashboard reads them): the full quotes.
    expect(open).toEqual(JSON.parse(JSON.stringify(triangle.open)))
    expect(last).toEqual(JSON.parse(JSON.stringify(triangle.last)))
  })
})
