/**
 * Store: coalescing per opportunity, exact stored numbers, batching into few transactions, a
 * database that fails for a while (record() stays fast, nothing lost or duplicated), filters,
 * cursor pagination and stop().
 */
import { afterEach, describe, expect, test } from 'bun:test'
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Client, InStatement, ResultSet, TransactionMode } from '@libsql/client'
import { getTableColumns } from 'drizzle-orm'
import pino from 'pino'
import { ChatRepo } from '../../src/db/chats.ts'
import { openDb, runMigrations, type DbHandle } from '../../src/db/client.ts'
import { opportunities } from '../../src/db/schema.ts'
import { CursorError, Store, StoreError, type StoreOptions } from '../../src/db/store.ts'
import { toRecord } from '../../src/detector/record.ts'
import type {
  OpeningWalk,
  Opportunity,
  OpportunityEvent,
  Quote,
  RouteLeg,
} from '../../src/detector/types.ts'
import type { VenueId } from '../../src/types.ts'
import type { RouteTransfer } from '../../src/transfers/types.ts'
import { silent, until } from '../support.ts'

const T0 = 1_795_307_804_603

function quote(over: Partial<Quote> = {}): Quote {
  return {
    grossBps: 12.5,
    netBps: 4.25,
    sizeQuote: 1000,
    profitQuote: 0.425,
    maxSizeQuote: 5200.75,
    maxProfitQuote: 1.93,
    buyPrice: 60000.1,
    sellPrice: 60075.2,
    feeBps: 8.25,
    buyAgeMs: 12,
    sellAgeMs: 40,
    ...over,
  }
}

function opportunity(over: Partial<Opportunity> & { seq?: number } = {}): Opportunity {
  const { seq = 0, ...rest } = over
  const buyVenue: VenueId = rest.buyVenue ?? 'binance'
  const sellVenue: VenueId = rest.sellVenue ?? 'kraken'
  const symbol = rest.symbol ?? 'BTC/USDT'
  const openedAtMs = rest.openedAtMs ?? T0 + seq
  const open = rest.open ?? quote()
  return {
    id: `cross:${symbol}:${buyVenue}>${sellVenue}:${openedAtMs}`,
    kind: 'cross',
    symbol,
    buyVenue,
    sellVenue,
    anomaly: false,
    openedAtMs,
    open,
    last: open,
    peakNetBps: open.netBps,
    updatedAtMs: openedAtMs,
    closedAtMs: undefined,
    closeReason: undefined,
    ...rest,
  }
}

const event = (
  type: OpportunityEvent['type'],
  o: Opportunity,
  atMs = o.updatedAtMs,
): OpportunityEvent => ({ type, opportunity: o, atMs })

interface Harness {
  handle: DbHandle
  store: Store
  /** client.batch calls, i.e. write transactions. */
  batches: () => number
  /** While true, client.batch throws (the database refuses writes). */
  setFailing(failing: boolean): void
  /** When set, client.batch waits for this before writing. */
  setGate(gate: Promise<void> | undefined): void
  logs: Record<string, unknown>[]
  count(): Promise<number>
}

const harnesses: Harness[] = []
afterEach(async () => {
  for (const h of harnesses.splice(0)) {
    h.setFailing(false)
    h.setGate(undefined)
    await h.store.stop()
    h.handle.close()
  }
})

async function harness(options: Partial<Omit<StoreOptions, 'db' | 'log'>> = {}): Promise<Harness> {
  const handle = await openDb({ url: ':memory:' })
  await runMigrations(handle.db)
  const client: Client = handle.client
  const realBatch = client.batch.bind(client)
  let batches = 0
  let failing = false
  let gate: Promise<void> | undefined
  client.batch = async (stmts: InStatement[], mode?: TransactionMode): Promise<ResultSet[]> => {
    if (gate) await gate
    if (failing) {
      const err = new Error('SQLITE_READONLY: attempt to write a readonly database') as Error & {
        code: string
      }
      err.code = 'SQLITE_READONLY'
      throw err
    }
    batches++
    return realBatch(stmts, mode)
  }
  const logs: Record<string, unknown>[] = []
  const log = pino(
    { level: 'info' },
    { write: (line: string) => void logs.push(JSON.parse(line) as Record<string, unknown>) },
  )
  const store = new Store({
    db: handle.db,
    log,
    flushIntervalMs: 10,
    retryBaseMs: 5,
    retryCapMs: 40,
    stopTimeoutMs: 1_000,
    ...options,
  })
  const h: Harness = {
    handle,
    store,
    batches: () => batches,
    setFailing: (f) => void (failing = f),
    setGate: (g) => void (gate = g),
    logs,
    count: async () => {
      const rs = await handle.client.execute('select count(*) as n from opportunities')
      return Number(rs.rows[0]?.n)
    },
  }
  harnesses.push(h)
  return h
}

describe('record and flush', () => {
  test('opened, updated and closed before a flush become one upsert with the final state', async () => {
    const { store, batches, count } = await harness()
    const o = opportunity()
    store.record(event('opened', o))
    for (let i = 1; i <= 5; i++) {
      o.last = quote({ netBps: 4 + i, grossBps: 12 + i })
      o.peakNetBps = Math.max(o.peakNetBps, o.last.netBps)
      o.updatedAtMs = T0 + i * 100
      store.record(event('updated', o))
    }
    o.closedAtMs = T0 + 900
    o.closeReason = 'spread gone'
    store.record(event('closed', o))
    expect(store.stats.pending).toBe(1)

    await store.flush()
    expect(batches()).toBe(1)
    expect(store.stats).toMatchObject({ pending: 0, written: 1, transactions: 1, failures: 0 })
    expect(await count()).toBe(1)
    const row = await store.getOpportunity(o.id)
    expect(row).toMatchObject({
      netBpsOpen: 4.25,
      grossBpsOpen: 12.5,
      netBps: 9,
      grossBps: 17,
      peakNetBps: 9,
      updatedAtMs: T0 + 500,
      closedAtMs: T0 + 900,
      closeReason: 'spread gone',
    })
  })

  test('the state is copied when recorded: later changes to the object are not written', async () => {
    const { store } = await harness()
    const o = opportunity()
    store.record(event('opened', o))
    o.last = quote({ netBps: 99 })
    o.peakNetBps = 99
    await store.flush()
    expect((await store.getOpportunity(o.id))?.netBps).toBe(4.25)
  })

  test('a row written at open is updated in place as the opportunity changes and closes', async () => {
    const { store, count } = await harness()
    const o = opportunity()
    store.record(event('opened', o))
    await store.flush()
    expect((await store.getOpportunity(o.id))?.closedAtMs).toBeNull()

    o.last = quote({ netBps: 7.5 })
    o.peakNetBps = 7.5
    o.updatedAtMs = T0 + 250
    store.record(event('updated', o))
    await store.flush()
    o.last = quote({ netBps: 1 })
    o.updatedAtMs = T0 + 500
    o.closedAtMs = T0 + 500
    o.closeReason = 'below threshold'
    store.record(event('closed', o))
    await store.flush()

    expect(await count()).toBe(1)
    expect(await store.getOpportunity(o.id)).toMatchObject({
      netBpsOpen: 4.25,
      netBps: 1,
      peakNetBps: 7.5,
      closedAtMs: T0 + 500,
      closeReason: 'below threshold',
    })
    expect(store.stats.written).toBe(3)
  })

  test('numbers are stored exactly, and triangle legs come back parsed', async () => {
    const { store } = await harness()
    // Awkward doubles: each must come back as the same number, field for field.
    const last: Quote = {
      grossBps: 1 / 3,
      netBps: 123456.789012345,
      sizeQuote: 2500,
      profitQuote: 30.864197253086,
      maxSizeQuote: 1.7976931348623157e308,
      maxProfitQuote: 5e-324,
      buyPrice: 0.000012345678901234,
      sellPrice: 98765.43210987654,
      feeBps: 20,
      buyAgeMs: 0,
      sellAgeMs: 1234.5,
    }
    const cross = opportunity({
      anomaly: true,
      open: quote({ grossBps: 0.1 + 0.2, netBps: -1e-9 }),
      last,
      peakNetBps: 123456.789012345,
      updatedAtMs: T0 + 1,
      closedAtMs: T0 + 2,
      closeReason: 'stale book',
    })
    const legs: RouteLeg[] = [
      { venue: 'okx', market: 'BTC/USDT', side: 'buy', price: 60000.12345678 },
      { venue: 'okx', market: 'ETH/BTC', side: 'buy', price: 0.0512340001 },
      { venue: 'okx', market: 'ETH/USDT', side: 'sell', price: 3075.99 },
    ]
    const triangle = opportunity({
      kind: 'triangle',
      symbol: 'USDT>BTC>ETH>USDT',
      buyVenue: 'okx',
      sellVenue: 'okx',
      last: quote({ legs }),
    })
    store.record(event('closed', cross))
    store.record(event('opened', triangle))
    await store.flush()

    expect(await store.getOpportunity(cross.id)).toEqual({
      id: cross.id,
      kind: 'cross',
      symbol: 'BTC/USDT',
      buyVenue: 'binance',
      sellVenue: 'kraken',
      anomaly: true,
      openedAtMs: T0,
      updatedAtMs: T0 + 1,
      closedAtMs: T0 + 2,
      closeReason: 'stale book',
      grossBpsOpen: 0.1 + 0.2,
      netBpsOpen: -1e-9,
      ...last,
      peakNetBps: 123456.789012345,
      legs: null,
      transfer: null,
    })
    const t = await store.getOpportunity(triangle.id)
    expect(t?.kind).toBe('triangle')
    expect(t?.legs).toEqual(legs)
    // The raw column is JSON text, snake_case names in SQL.
    const rs = await harnesses[0]!.handle.client.execute({
      sql: 'select legs, anomaly, opened_at, gross_bps_open from opportunities where id = ?',
      args: [triangle.id],
    })
    expect(JSON.parse(String(rs.rows[0]?.legs))).toEqual(legs)
    expect(rs.rows[0]?.anomaly).toBe(0)
    expect(await store.getOpportunity('nope')).toBeUndefined()
  })

  test('a route transfer status round-trips, and its status is a column of its own', async () => {
    const { store, handle } = await harness()
    const transfer: RouteTransfer = {
      status: 'blocked',
      line: 'blocked: withdrawals of BTC suspended on Binance',
      side: 'withdraw',
      collision: false,
      factsAtMs: T0 - 60_000,
      sources: ['GET /sapi/v1/capital/config/getall', 'GET /0/public/Assets'],
    }
    const o = { ...opportunity({ id: 'cross:BTC/USDT:binance>kraken:1' }), transfer }
    store.record(event('opened', o))
    await store.flush()
    expect((await store.getOpportunity(o.id))?.transfer).toEqual(transfer)
    const rs = await handle.client.execute({
      sql: 'select transfer_status from opportunities where id = ?',
      args: [o.id],
    })
    expect(rs.rows[0]?.transfer_status).toBe('blocked')
  })

  test('a cross-quote route round-trips with its three legs and their venues', async () => {
    const { store, handle } = await harness()
    const legs: RouteLeg[] = [
      { venue: 'binance', market: 'BTC/USDT', side: 'buy', price: 60000.12345678 },
      { venue: 'kraken', market: 'BTC/USD', side: 'sell', price: 60500.5 },
      { venue: 'kraken', market: 'USDT/USD', side: 'buy', price: 1.0010001 },
    ]
    const o = opportunity({
      id: `cross-quote:BTC/USDT>BTC/USD:binance>kraken:${T0}`,
      kind: 'cross-quote',
      symbol: 'BTC/USDT>BTC/USD',
      open: quote({ legs }),
      last: quote({ legs, netBps: 5.5 }),
    })
    store.record(event('opened', o))
    await store.flush()
    const record = toRecord(o)
    expect(record.legs).toEqual(legs)
    expect(await store.getOpportunity(o.id)).toEqual(record)
    expect(await store.openOpportunities()).toEqual([record])
    const page = await store.listOpportunities({ kind: 'cross-quote', venue: 'kraken' })
    expect(page.items).toEqual([record])
    expect((await store.listOpportunities({ symbol: 'BTC/USDT>BTC/USD' })).items).toHaveLength(1)
    const rs = await handle.client.execute({
      sql: 'select kind, legs from opportunities where id = ?',
      args: [o.id],
    })
    expect(rs.rows[0]?.kind).toBe('cross-quote')
    expect(JSON.parse(String(rs.rows[0]?.legs))).toEqual(legs)
    // The column's check refuses a kind the program does not know.
    const bad = handle.client.execute({
      sql: `update opportunities set kind = 'cross-venue' where id = ?`,
      args: [o.id],
    })
    await expect(bad).rejects.toThrow(/CHECK constraint failed/)
  })

  test("triangle legs stored before legs carried a venue come back with the triangle's venue", async () => {
    const { store, handle } = await harness()
    const o = opportunity({
      kind: 'triangle',
      symbol: 'USDT>BTC>ETH>USDT',
      buyVenue: 'okx',
      sellVenue: 'okx',
    })
    store.record(event('opened', o))
    await store.flush()
    await handle.client.execute({
      sql: 'update opportunities set legs = ? where id = ?',
      args: [
        JSON.stringify([
          { market: 'BTC/USDT', side: 'buy', price: 50000 },
          { market: 'ETH/BTC', side: 'buy', price: 0.05 },
          { market: 'ETH/USDT', side: 'sell', price: 2600 },
        ]),
        o.id,
      ],
    })
    expect((await store.getOpportunity(o.id))?.legs).toEqual([
      { venue: 'okx', market: 'BTC/USDT', side: 'buy', price: 50000 },
      { venue: 'okx', market: 'ETH/BTC', side: 'buy', price: 0.05 },
      { venue: 'okx', market: 'ETH/USDT', side: 'sell', price: 2600 },
    ])
  })

  test('migration 0003 keeps the rows of a database made before cross-quote routes', async () => {
    // The migrations up to 0002, as a database from before 0003 was made.
    const dir = mkdtempSync(join(tmpdir(), 'arbwatch-migrations-'))
    try {
      cpSync(join(import.meta.dir, '../../migrations'), dir, { recursive: true })
      rmSync(join(dir, '0003_cross_quote.sql'))
      const journal = JSON.parse(readFileSync(join(dir, 'meta/_journal.json'), 'utf8')) as {
        entries: { tag: string }[]
      }
      journal.entries = journal.entries.filter((e) => e.tag < '0003')
      writeFileSync(join(dir, 'meta/_journal.json'), JSON.stringify(journal))
      const handle = await openDb({ url: ':memory:' })
      try {
        await runMigrations(handle.db, dir)
        const store = new Store({ db: handle.db, log: silent })
        const o = opportunity({
          kind: 'triangle',
          symbol: 'USDT>BTC>ETH>USDT',
          buyVenue: 'okx',
          sellVenue: 'okx',
        })
        // The row as that version wrote it: the columns it had (none of 0004's transfer, 0007's walk).
        const record = toRecord(o) as unknown as Record<string, unknown>
        const cols = Object.entries(getTableColumns(opportunities)).filter(
          ([key]) => key in record && key !== 'transfer' && key !== 'walk',
        )
        await handle.client.execute({
          sql: `insert into opportunities (${cols.map(([, c]) => c.name).join(', ')}) values (${cols.map(() => '?').join(', ')})`,
          args: cols.map(([key]) => {
            const v = record[key]
            return typeof v === 'boolean' ? Number(v) : (v as string | number | null)
          }),
        })
        await runMigrations(handle.db)
        expect(await store.getOpportunity(o.id)).toEqual(toRecord(o))
        const cq = opportunity({
          id: 'cross-quote:x',
          kind: 'cross-quote',
          symbol: 'BTC/USDT>BTC/USD',
        })
        store.record(event('opened', cq))
        await store.flush()
        expect((await store.getOpportunity(cq.id))?.kind).toBe('cross-quote')
        await store.stop()
      } finally {
        handle.close()
      }
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })

  test('every reader gets back exactly the record toRecord made, and the table has its fields', async () => {
    const { store, handle } = await harness()
    const o = opportunity({
      last: quote({ netBps: 9.5, legs: undefined }),
      peakNetBps: 9.5,
      updatedAtMs: T0 + 5,
    })
    store.record(event('updated', o), [
      {
        opportunityId: o.id,
        platform: 'telegram',
        chatId: '1',
        status: 'pending',
        nextAttemptAtMs: T0,
        netBps: 4.25,
        sizeQuote: 1000,
        createdAtMs: T0,
      },
    ])
    await store.flush()
    const record = toRecord(o)
    expect(await store.getOpportunity(o.id)).toEqual(record)
    expect((await store.listOpportunities()).items).toEqual([record])
    const [due] = await new ChatRepo(handle.db).due(T0 + 1)
    expect(due!.opportunity).toEqual(record)
    // One column per record field (a field added to the record needs its column and migration),
    // plus the transfer status on its own, for filtering.
    const columns = Object.keys(getTableColumns(opportunities)).sort()
    expect(columns).toEqual([...Object.keys(record), 'transferStatus'].sort())
  })

  test('many events become few transactions of at most maxBatch opportunities', async () => {
    const { store, batches, count } = await harness({ maxBatch: 500 })
    const all = Array.from({ length: 1234 }, (_, i) => opportunity({ seq: i }))
    for (const o of all) store.record(event('opened', o))
    for (const o of all) {
      o.last = quote({ netBps: 5 })
      store.record(event('updated', o))
    }
    expect(store.stats.pending).toBe(1234)
    await store.flush()
    expect(batches()).toBe(3)
    expect(store.stats).toMatchObject({ pending: 0, written: 1234, transactions: 3 })
    expect(await count()).toBe(1234)
  })

  test('the background flusher writes without being asked', async () => {
    const { store, count } = await harness({ flushIntervalMs: 5 })
    store.start()
    store.start() // idempotent
    store.record(event('opened', opportunity()))
    await until(() => store.stats.written === 1, 2_000, 'background write')
    expect(await count()).toBe(1)
  })

  test('an update recorded while its previous state is being written is written after it', async () => {
    const { store, setGate } = await harness()
    const o = opportunity()
    const gate = Promise.withResolvers<void>()
    setGate(gate.promise)
    store.record(event('opened', o))
    const first = store.flush()
    o.last = quote({ netBps: 6 })
    o.updatedAtMs = T0 + 10
    store.record(event('updated', o))
    gate.resolve()
    await first
    setGate(undefined)
    expect(store.stats.pending).toBe(1) // the newer state is still queued
    expect((await store.getOpportunity(o.id))?.netBps).toBe(4.25)
    await store.flush()
    expect(store.stats.pending).toBe(0)
    expect((await store.getOpportunity(o.id))?.netBps).toBe(6)
  })

  test('record() never throws: unstorable events are counted and logged once', async () => {
    const { store, logs } = await harness()
    const bad = opportunity({ last: quote({ netBps: Number.NaN }) })
    const infinite = opportunity({ seq: 1, peakNetBps: Number.POSITIVE_INFINITY })
    const broken = {
      type: 'opened',
      atMs: T0,
      get opportunity(): Opportunity {
        throw new Error('boom')
      },
    } as unknown as OpportunityEvent
    expect(() => store.record(event('opened', bad))).not.toThrow()
    expect(() => store.record(event('updated', bad))).not.toThrow()
    expect(() => store.record(event('opened', infinite))).not.toThrow()
    expect(() => store.record(broken)).not.toThrow()
    expect(store.stats).toMatchObject({ rejected: 4, pending: 0 })
    const messages = logs.map((l) => l.msg)
    expect(messages).toEqual([
      'opportunity not recorded: netBps is not a finite number',
      'opportunity not recorded: peakNetBps is not a finite number',
      'opportunity not recorded: boom',
    ])
  })
})

describe('a database that fails writes', () => {
  test('record() stays fast; failures are counted and logged once; all is written on recovery', async () => {
    const { store, setFailing, logs, count, batches } = await harness()
    setFailing(true)
    store.start()

    // 300 opportunities, each opened then updated many times while the database refuses writes.
    const all = Array.from({ length: 300 }, (_, i) =>
      opportunity({ seq: i, symbol: i % 2 ? 'BTC/USDT' : 'ETH/USDT' }),
    )
    for (const o of all) store.record(event('opened', o))
    await until(() => store.stats.failures >= 3, 2_000, 'failed writes')

    let slowestMs = 0
    for (let round = 1; round <= 20; round++) {
      for (const o of all) {
        o.last = quote({ netBps: round, sellAgeMs: round })
        o.peakNetBps = round
        o.updatedAtMs = T0 + round
        const started = performance.now()
        store.record(event('updated', o))
        slowestMs = Math.max(slowestMs, performance.now() - started)
      }
      await Bun.sleep(0) // let the failing flusher run between rounds
    }
    // Generous bound: record() is a map write; the point is that it never waits for the database.
    expect(slowestMs).toBeLessThan(50)
    expect(store.stats.pending).toBe(300)
    expect(store.stats.written).toBe(0)
    expect(store.stats.lastError).toContain('attempt to write a readonly database')
    await expect(store.flush()).rejects.toBeInstanceOf(StoreError)

    const failureLogs = logs.filter((l) => String(l.msg).startsWith('database write failed'))
    expect(failureLogs).toHaveLength(1)
    expect(failureLogs[0]).toMatchObject({ kind: 'Error:SQLITE_READONLY', level: 50 })
    const failures = store.stats.failures
    expect(failures).toBeGreaterThanOrEqual(3)

    for (const o of all) {
      o.closedAtMs = T0 + 100
      o.closeReason = 'done'
      store.record(event('closed', o))
    }
    setFailing(false)
    await until(() => store.stats.pending === 0, 3_000, 'recovery')

    expect(await count()).toBe(300)
    expect(store.stats.written).toBe(300)
    expect(batches()).toBe(1)
    expect(store.stats.failures).toBeGreaterThanOrEqual(failures)
    const page = await store.listOpportunities({ limit: 500 })
    expect(page.items).toHaveLength(300)
    for (const item of page.items) {
      expect(item).toMatchObject({ netBps: 20, peakNetBps: 20, sellAgeMs: 20, closeReason: 'done' })
    }
    expect(logs.some((l) => l.msg === 'database writes recovered')).toBe(true)
  })

  test('a slow database never has two writes in flight and never delays record()', async () => {
    const { store, setGate, count } = await harness({ flushIntervalMs: 1 })
    const gate = Promise.withResolvers<void>()
    setGate(gate.promise)
    const client = harnesses[0]!.handle.client
    const gated = client.batch.bind(client)
    let inFlight = 0
    let maxInFlight = 0
    client.batch = async (...args: Parameters<Client['batch']>) => {
      maxInFlight = Math.max(maxInFlight, ++inFlight)
      try {
        return await gated(...args)
      } finally {
        inFlight--
      }
    }
    store.start()
    const all = Array.from({ length: 50 }, (_, i) => opportunity({ seq: i }))
    store.record(event('opened', all[0]!))
    await until(() => inFlight === 1, 2_000, 'a write in flight')
    const started = performance.now()
    for (let round = 0; round < 20; round++) {
      for (const o of all) {
        o.last = quote({ netBps: round })
        store.record(event('updated', o))
      }
      await Bun.sleep(2) // flusher ticks keep coming while the write hangs
    }
    expect(performance.now() - started).toBeLessThan(2_000)
    expect(maxInFlight).toBe(1)
    gate.resolve()
    await until(() => store.stats.pending === 0, 2_000, 'all written')
    expect(maxInFlight).toBe(1)
    expect(await count()).toBe(50)
    const page = await store.listOpportunities({ limit: 500 })
    expect(page.items.every((i) => i.netBps === 19)).toBe(true)
  })

  test('retries back off exponentially up to the cap', async () => {
    const { store, setFailing } = await harness({ retryBaseMs: 20, retryCapMs: 80 })
    setFailing(true)
    store.record(event('opened', opportunity()))
    store.start()
    const started = performance.now()
    await until(() => store.stats.failures >= 4, 3_000, 'four failures')
    // Delays of ~20, 40, 80 ms (jitter takes up to half off): at least 70 ms in all.
    expect(performance.now() - started).toBeGreaterThanOrEqual(60)
    setFailing(false)
    await until(() => store.stats.pending === 0, 3_000, 'recovery')
  })

  test('stop() waits a bounded time, then reports what could not be written', async () => {
    const { store, setFailing, logs } = await harness({ stopTimeoutMs: 100 })
    setFailing(true)
    store.start()
    store.record(event('opened', opportunity()))
    store.record(event('opened', opportunity({ seq: 1 })))
    const started = performance.now()
    await store.stop()
    expect(performance.now() - started).toBeLessThan(1_000)
    expect(store.stats.pending).toBe(2)
    expect(logs.at(-1)).toMatchObject({ msg: 'store stopped with 2 opportunities not written' })
  })

  test('stop() writes what is pending when the database answers', async () => {
    const { store, count } = await harness({ flushIntervalMs: 60_000 })
    store.start()
    for (let i = 0; i < 10; i++) store.record(event('opened', opportunity({ seq: i })))
    await store.stop()
    expect(store.stats.pending).toBe(0)
    expect(await count()).toBe(10)
  })

  test('ping() tells whether the database answers', async () => {
    const { store, handle } = await harness()
    expect(await store.ping()).toBe(true)
    handle.close()
    expect(await store.ping()).toBe(false)
  })
})

describe('listOpportunities', () => {
  /** 24 opportunities across symbols, venues, kinds, times (with ties) and nets. */
  async function seeded() {
    const h = await harness()
    const venues: VenueId[] = ['binance', 'kraken', 'coinbase', 'okx']
    const all: Opportunity[] = []
    for (let i = 0; i < 24; i++) {
      const buyVenue = venues[i % 4]!
      const sellVenue = venues[(i + 1) % 4]!
      const triangle = i % 6 === 5
      all.push(
        opportunity({
          symbol: triangle ? 'USDT>BTC>ETH>USDT' : i % 3 === 0 ? 'ETH/USDT' : 'BTC/USDT',
          kind: triangle ? 'triangle' : 'cross',
          buyVenue,
          sellVenue: triangle ? buyVenue : sellVenue,
          // pairs of opportunities share an opening time, to exercise the id tie-break
          openedAtMs: T0 + Math.floor(i / 2) * 1000,
          peakNetBps: i,
          anomaly: i === 7 || i === 20,
        }),
      )
    }
    // make every id distinct even when times tie
    const unique = all.map((o, i) => ({ ...o, id: `${o.id}#${String(i).padStart(2, '0')}` }))
    for (const o of unique) h.store.record(event('opened', o))
    await h.store.flush()
    return { ...h, all: unique }
  }

  const newestFirst = (a: Opportunity, b: Opportunity) =>
    b.openedAtMs - a.openedAtMs || (a.id < b.id ? 1 : -1)

  test('newest first, anomalies hidden unless asked for', async () => {
    const { store, all } = await seeded()
    const { items, nextCursor } = await store.listOpportunities()
    expect(nextCursor).toBeNull()
    const expected = all.filter((o) => !o.anomaly).sort(newestFirst)
    expect(items.map((i) => i.id)).toEqual(expected.map((o) => o.id))
    const withAnomalies = await store.listOpportunities({ includeAnomalies: true })
    expect(withAnomalies.items).toHaveLength(24)
  })

  test.each([
    ['symbol', { symbol: 'ETH/USDT' }, (o: Opportunity) => o.symbol === 'ETH/USDT'],
    ['kind', { kind: 'triangle' }, (o: Opportunity) => o.kind === 'triangle'],
    [
      'venue (either side)',
      { venue: 'kraken' },
      (o: Opportunity) => o.buyVenue === 'kraken' || o.sellVenue === 'kraken',
    ],
    [
      'time window',
      { sinceMs: T0 + 3000, untilMs: T0 + 8000 },
      (o: Opportunity) => o.openedAtMs >= T0 + 3000 && o.openedAtMs < T0 + 8000,
    ],
    ['minNetBps (peak)', { minNetBps: 15 }, (o: Opportunity) => o.peakNetBps >= 15],
    [
      'several at once',
      { venue: 'binance', symbol: 'BTC/USDT', minNetBps: 2, includeAnomalies: true },
      (o: Opportunity) =>
        (o.buyVenue === 'binance' || o.sellVenue === 'binance') &&
        o.symbol === 'BTC/USDT' &&
        o.peakNetBps >= 2,
    ],
  ] as const)('filter by %s', async (_name, filter, keep) => {
    const { store, all } = await seeded()
    const { items } = await store.listOpportunities({ ...filter })
    const includeAnomalies = 'includeAnomalies' in filter && filter.includeAnomalies
    const expected = all
      .filter((o) => keep(o) && (includeAnomalies || !o.anomaly))
      .sort(newestFirst)
    expect(expected.length).toBeGreaterThan(0)
    expect(items.map((i) => i.id)).toEqual(expected.map((o) => o.id))
  })

  test.each([
    ['no filter', {}],
    ['a venue', { venue: 'okx' as VenueId }],
    ['a symbol', { symbol: 'BTC/USDT', includeAnomalies: true }],
  ])('cursor pagination over %s returns every row once, in order', async (_name, filter) => {
    const { store } = await seeded()
    const everything = (await store.listOpportunities({ ...filter, limit: 500 })).items
    for (const limit of [1, 3, 5]) {
      const seen: string[] = []
      let cursor: string | undefined
      let pages = 0
      do {
        const page = await store.listOpportunities({ ...filter, limit, cursor })
        expect(page.items.length).toBeLessThanOrEqual(limit)
        seen.push(...page.items.map((i) => i.id))
        cursor = page.nextCursor ?? undefined
        pages++
      } while (cursor)
      expect(seen).toEqual(everything.map((i) => i.id))
      expect(pages).toBe(Math.max(1, Math.ceil(everything.length / limit)))
    }
  })

  test('limits are clamped to 1-500 and bad cursors are refused', async () => {
    const { store } = await seeded()
    expect((await store.listOpportunities({ limit: 0 })).items).toHaveLength(1)
    expect((await store.listOpportunities({ limit: 2.7 })).items).toHaveLength(2)
    expect(
      (await store.listOpportunities({ limit: 10_000, includeAnomalies: true })).items,
    ).toHaveLength(24)
    for (const cursor of ['garbage', '', Buffer.from('[1,2]').toString('base64url')]) {
      const err = await store.listOpportunities({ cursor }).catch((e: unknown) => e)
      expect(err).toBeInstanceOf(CursorError)
      expect((err as Error).name).toBe('CursorError')
    }
  })
})

describe('another writer between the store’s writes', () => {
  test('exclusive runs a transaction between the store’s own: both land, no busy error', async () => {
    const handle = await openDb({ url: ':memory:' })
    await runMigrations(handle.db)
    const store = new Store({ db: handle.db, log: silent })
    store.start()
    const saved: string[] = []
    const other = async (i: number) =>
      store.exclusive(async () => {
        await handle.db.batch([
          handle.db.select().from(opportunities),
          handle.db.select().from(opportunities),
        ])
        saved.push(`batch ${i}`)
        return i
      })
    const results = await Promise.all(
      Array.from({ length: 5 }, (_, i) => {
        store.record(event('opened', opportunity({ id: `x${i}` })))
        return other(i)
      }),
    )
    await store.flush()
    expect(results).toEqual([0, 1, 2, 3, 4])
    expect(saved).toHaveLength(5)
    expect((await store.listOpportunities({ limit: 10 })).items).toHaveLength(5)
    await expect(store.exclusive(async () => Promise.reject(new Error('boom')))).rejects.toThrow(
      'boom',
    )
    store.record(event('opened', opportunity({ id: 'after' })))
    await store.flush()
    expect(await store.getOpportunity('after')).toBeDefined()
    await store.stop()
    handle.close()
  })
})

describe('the opening walk', () => {
  const walk: OpeningWalk = {
    sizeQuote: 1000,
    legs: [
      {
        venue: 'binance',
        market: 'BTC/USDT',
        side: 'buy',
        feeBps: 10,
        levels: [
          { pxText: '60000.10', qtyText: '0.01000000', taken: 0.01 },
          { pxText: '60000.20', qtyText: '2.5', taken: 0.006666555557407 },
        ],
        amountIn: 1000,
        amountOut: 0.016666555557407,
        amountAfterFee: 0.01664988900184959,
      },
      {
        venue: 'kraken',
        market: 'BTC/USDT',
        side: 'sell',
        feeBps: 26,
        levels: [{ pxText: '60075.2', qtyText: '1.00000', taken: 0.01664988900184959 }],
        amountIn: 0.01664988900184959,
        amountOut: 1000.2454408498,
        amountAfterFee: 997.6448027036,
      },
    ],
  }

  test('is stored at the opening as JSON text and comes back exactly as recorded', async () => {
    const { store, handle } = await harness()
    const o = opportunity({ walk })
    store.record(event('opened', o))
    await store.flush()
    const record = toRecord(o)
    expect(record.walk).toBe(walk)
    expect(await store.getOpportunity(o.id)).toEqual(record)
    expect((await store.getOpportunity(o.id))?.walk).toEqual(walk)
    expect((await store.listOpportunities()).items[0]?.walk).toEqual(walk)
    const rs = await handle.client.execute({
      sql: 'select walk from opportunities where id = ?',
      args: [o.id],
    })
    expect(JSON.parse(String(rs.rows[0]?.walk))).toEqual(walk)
  })

  test('updates and the close never replace it or clear it', async () => {
    const { store, handle } = await harness()
    const o = opportunity({ walk })
    store.record(event('opened', o))
    await store.flush()
    // An update that carries no walk (an opportunity resumed from a row stored before walks were
    // kept), then a close that carries another one: the stored walk stays the opening's.
    const updated = { ...o, walk: undefined, last: quote({ netBps: 3 }), updatedAtMs: T0 + 5 }
    store.record(event('updated', updated))
    await store.flush()
    expect(await store.getOpportunity(o.id)).toMatchObject({ netBps: 3, walk })
    const other = { ...walk, sizeQuote: 5 }
    const closed = { ...o, walk: other, updatedAtMs: T0 + 9, closedAtMs: T0 + 9, closeReason: 'x' }
    store.record(event('closed', closed))
    await store.flush()
    expect(await store.getOpportunity(o.id)).toMatchObject({ closedAtMs: T0 + 9, walk })
    // A row stored without one takes the first walk recorded for it.
    const bare = opportunity({ id: 'cross:BTC/USDT:binance>kraken:2', openedAtMs: T0 + 1 })
    store.record(event('opened', bare))
    await store.flush()
    expect((await store.getOpportunity(bare.id))?.walk).toBeUndefined()
    const rs = await handle.client.execute({
      sql: 'select walk from opportunities where id = ?',
      args: [bare.id],
    })
    expect(rs.rows[0]?.walk).toBeNull()
    store.record(event('updated', { ...bare, walk, updatedAtMs: T0 + 2 }))
    await store.flush()
    expect((await store.getOpportunity(bare.id))?.walk).toEqual(walk)
  })
})

describe('who an opportunity was alerted to', () => {
  test('deliveriesOf lists each chat’s delivery written with the opening', async () => {
    const handle = await openDb({ url: ':memory:' })
    await runMigrations(handle.db)
    const store = new Store({ db: handle.db, log: silent })
    const o = opportunity({ id: 'alerted-1' })
    const d = (chatId: string) => ({
      opportunityId: o.id,
      platform: 'telegram' as const,
      chatId,
      status: 'pending' as const,
      nextAttemptAtMs: T0,
      netBps: 30,
      sizeQuote: 1000,
      createdAtMs: T0,
    })
    store.record(event('opened', o), [d('1001'), d('1002')])
    await store.flush()
    expect(await store.deliveriesOf(o.id)).toEqual([
      { platform: 'telegram', chatId: '1001', status: 'pending', sentAtMs: null },
      { platform: 'telegram', chatId: '1002', status: 'pending', sentAtMs: null },
    ])
    expect(await store.deliveriesOf('nope')).toEqual([])
    handle.close()
  })
})
