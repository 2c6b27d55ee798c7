/**
 * A failing database fails loudly and recovers fast: a read-only file, a full disk, a real sqld
 * killed and one hung (SIGSTOP). Each announces `write-failed` and `write-recovered`, /readyz says
 * so, lastError clears, reads time out with a 503 instead of hanging, and nothing is lost or
 * doubled. Also: an opening and its alerts are written at once, not on the flush timer, and alerts
 * whose opportunity closed before they could be sent are dropped and counted. Tests wait on
 * events; how fast all this is lives in the figures of `bun run bench`, not here.
 */
import { afterAll, afterEach, beforeAll, describe, expect, test } from 'bun:test'
import { chmodSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { LibsqlError, type Client } from '@libsql/client'
import { Books } from '../../src/book/books.ts'
import { ChatRepo } from '../../src/db/chats.ts'
import { openDb, runMigrations, type DbHandle } from '../../src/db/client.ts'
import type { NewDeliveryRow } from '../../src/db/schema.ts'
import { DROPPED, Store, type StoreOptions } from '../../src/db/store.ts'
import type { Opportunity, OpportunityEvent } from '../../src/detector/types.ts'
import {
  crossAt,
  quoteAt,
  silent,
  stopAfterEach,
  testApi,
  testDetector,
  until,
} from '../support.ts'
import {
  SQLD_SHA256,
  sqldSha256,
  sqldSupported,
  startSqld,
  type SqldServer,
} from './sqld-server.ts'

const track = stopAfterEach()
const dirs: string[] = []
afterAll(() => {
  for (const dir of dirs) {
    Bun.spawnSync(['chattr', '-R', '-i', dir], { stderr: 'ignore' })
    rmSync(dir, { recursive: true, force: true })
  }
})

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'arbwatch-faults-'))
  dirs.push(dir)
  return dir
}

let seq = 0
/** A new open opportunity (its own id) and one pending Telegram delivery for it. */
function opening(): { o: Opportunity; deliveries: NewDeliveryRow[] } {
  const n = ++seq
  const atMs = 1_000 + n
  const o: Opportunity = {
    ...crossAt(30),
    id: `cross:BTC/USDT:binance>kraken:${n}`,
    openedAtMs: atMs,
    updatedAtMs: atMs,
  }
  const deliveries: NewDeliveryRow[] = [
    {
      opportunityId: o.id,
      platform: 'telegram',
      chatId: '42',
      status: 'pending',
      nextAttemptAtMs: 0,
      netBps: 30,
      sizeQuote: 1000,
      createdAtMs: o.openedAtMs,
    },
  ]
  return { o, deliveries }
}

const ev = (type: OpportunityEvent['type'], o: Opportunity): OpportunityEvent => ({
  type,
  opportunity: o,
  atMs: o.updatedAtMs,
})

function close(o: Opportunity): Opportunity {
  return {
    ...o,
    closedAtMs: o.updatedAtMs + 10,
    closeReason: 'spread gone',
    updatedAtMs: o.updatedAtMs + 10,
  }
}

/** A store (default retry timing: that is what is under test) and the API over it. */
function storeAndApi(handle: DbHandle, options: Partial<StoreOptions> = {}) {
  const store = new Store({ db: handle.db, log: silent, ...options })
  track({ stop: () => store.stop() })
  store.start()
  const books = new Books()
  const detector = testDetector(books, ['binance', 'kraken'], ['BTC/USDT'])
  const app = testApi({ books, detector, store, minLiveVenues: 0 })
  const readyz = async () => {
    const res = await app.request('/readyz')
    return { status: res.status, body: (await res.json()) as { reasons?: string[] } }
  }
  return { store, app, readyz }
}

async function count(client: Client, sql: string): Promise<number> {
  const rs = await client.execute(sql)
  return Number(rs.rows[0]?.[0])
}

describe('a database file that refuses writes', () => {
  /**
   * chmod 0444 is what makes the file read-only; root ignores file modes, so as root the file is
   * also made immutable (chattr +i), which refuses root's writes the same way.
   */
  function makeReadOnly(path: string): boolean {
    chmodSync(path, 0o444)
    if (process.getuid?.() !== 0) return true
    return Bun.spawnSync(['chattr', '+i', path], { stderr: 'ignore' }).exitCode === 0
  }
  function makeWritable(path: string): void {
    if (process.getuid?.() === 0) Bun.spawnSync(['chattr', '-i', path], { stderr: 'ignore' })
    chmodSync(path, 0o644)
  }

  test('read-only file: /readyz goes 503, then writes resume on the reopened file and it is 200 again', async () => {
    const path = join(tempDir(), 'arbwatch.db')
    const setup = await openDb({ url: `file:${path}` })
    await runMigrations(setup.db)
    setup.close()
    if (!makeReadOnly(path)) throw new Error('could not make the database file read-only')
    const handle = await openDb({ url: `file:${path}` }) // opens read-only: reads still work
    track({ stop: () => handle.close() })
    const { store, readyz } = storeAndApi(handle)
    expect((await readyz()).status).toBe(200)

    const failed = store.events.next('write-failed')
    const { o, deliveries } = opening()
    store.record(ev('opened', o), deliveries)
    expect((await failed).error).toContain('SQLITE_READONLY')
    const down = await readyz()
    expect(down.status).toBe(503)
    expect(down.body.reasons!.join()).toContain('database writes have been failing')
    expect(store.stats.lastError).toContain('readonly')

    const recovered = store.events.next('write-recovered')
    const written = store.events.next('deliveries-written')
    makeWritable(path)
    expect((await recovered).failures).toBeGreaterThanOrEqual(1)
    expect((await written).count).toBe(1)
    expect(store.stats).toMatchObject({ pending: 0, lastError: null, failingSinceMs: null })
    expect((await readyz()).status).toBe(200)
    expect(await count(handle.client, 'select count(*) from opportunities')).toBe(1)
    expect(
      await count(handle.client, "select count(*) from deliveries where status = 'pending'"),
    ).toBe(1)
  })
})

describe('a full disk (SQLITE_FULL injected at the client seam)', () => {
  // A real full disk needs a small mounted filesystem (root, a loop device or tmpfs); the error
  // libSQL would give is injected into client.batch instead, where every store write goes.
  test('many quick retries, then writes resume at once and nothing is doubled', async () => {
    const handle = await openDb({ url: `file:${join(tempDir(), 'arbwatch.db')}` })
    track({ stop: () => handle.close() })
    await runMigrations(handle.db)
    const real = handle.client.batch.bind(handle.client)
    let full = true
    handle.client.batch = ((...args: Parameters<Client['batch']>) => {
      if (full) {
        return Promise.reject(
          new LibsqlError('SQLITE_FULL: database or disk is full', 'SQLITE_FULL'),
        )
      }
      return real(...args)
    }) as Client['batch']
    const { store, readyz } = storeAndApi(handle)

    const failed = store.events.next('write-failed')
    const all = [opening(), opening(), opening()]
    for (const { o, deliveries } of all) store.record(ev('opened', o), deliveries)
    expect((await failed).pending).toBe(3)
    expect((await readyz()).status).toBe(503)
    // The old backoff (0.5 s doubling to 30 s) needs over 15 s for six tries; the cap is 0.5 s.
    await until(() => store.stats.failures >= 6, 5_000, 'six failed writes')

    const recovered = store.events.next('write-recovered')
    const written = store.events.next('deliveries-written')
    full = false
    await recovered
    expect((await written).count).toBe(3)
    expect(store.stats).toMatchObject({ lastError: null, failingSinceMs: null, written: 3 })
    expect((await readyz()).status).toBe(200)
    expect(await count(handle.client, 'select count(*) from deliveries')).toBe(3)
  })
})

describe('durability without a batch timer', () => {
  test('an opening and its deliveries are committed at once, in one transaction; updates wait for the flush', async () => {
    const handle = await openDb({ url: ':memory:' })
    track({ stop: () => handle.close() })
    await runMigrations(handle.db)
    let batches = 0
    const real = handle.client.batch.bind(handle.client)
    handle.client.batch = ((...args: Parameters<Client['batch']>) => {
      batches++
      return real(...args)
    }) as Client['batch']
    // The flush timer is an hour: only the immediate write can commit the openings.
    const { store } = storeAndApi(handle, { flushIntervalMs: 3_600_000 })
    const written = store.events.next('deliveries-written', undefined, 2_000)
    const two = [opening(), opening()]
    for (const { o, deliveries } of two) store.record(ev('opened', o), deliveries)
    expect((await written).count).toBe(2)
    expect(batches).toBe(1)
    expect(store.stats.pending).toBe(0)
    expect(await count(handle.client, 'select count(*) from opportunities')).toBe(2)

    const o = two[0]!.o
    store.record(ev('updated', { ...o, updatedAtMs: o.updatedAtMs + 5, last: quoteAt(40) }))
    await new Promise((resolve) => setImmediate(resolve))
    expect(batches).toBe(1) // an update coalesces until the flush
    expect(store.stats.pending).toBe(1)
    await store.flush()
    expect(batches).toBe(2)
  })
})

describe('alerts whose opportunity closed before they were sent', () => {
  test('a backlog written after an outage is dropped and counted, never sent as open', async () => {
    const handle = await openDb({ url: ':memory:' })
    track({ stop: () => handle.close() })
    await runMigrations(handle.db)
    const real = handle.client.batch.bind(handle.client)
    let failing = true
    handle.client.batch = ((...args: Parameters<Client['batch']>) =>
      failing
        ? Promise.reject(new LibsqlError('SQLITE_FULL: database or disk is full', 'SQLITE_FULL'))
        : real(...args)) as Client['batch']
    const { store } = storeAndApi(handle)
    const failed = store.events.next('write-failed')
    const gone = opening()
    const open = opening()
    store.record(ev('opened', gone.o), gone.deliveries)
    store.record(ev('opened', open.o), open.deliveries)
    await failed
    store.record(ev('closed', close(gone.o)))

    const dropped = store.events.next('deliveries-dropped')
    const written = store.events.next('deliveries-written')
    failing = false
    expect((await dropped).count).toBe(1)
    expect((await written).count).toBe(1) // only the one still open goes to the dispatcher
    expect(store.stats.dropped).toBe(1)
    const due = await new ChatRepo(handle.db).due(Date.now())
    expect(due.map((d) => d.opportunity.id)).toEqual([open.o.id])
    const rs = await handle.client.execute(
      `select status, last_error from deliveries where opportunity_id = '${gone.o.id}'`,
    )
    expect(rs.rows[0]).toMatchObject({ status: 'dropped', last_error: DROPPED })
  })

  test('a written alert still waiting (e.g. out a 429) is dropped when its opportunity closes; one being sent is not', async () => {
    const handle = await openDb({ url: ':memory:' })
    track({ stop: () => handle.close() })
    await runMigrations(handle.db)
    const { store } = storeAndApi(handle)
    const repo = new ChatRepo(handle.db)
    const waiting = opening()
    const sending = opening()
    const written = store.events.next('deliveries-written', (e) => e.count === 2)
    store.record(ev('opened', waiting.o), waiting.deliveries)
    store.record(ev('opened', sending.o), sending.deliveries)
    await written
    const ids = await handle.client.execute('select id, opportunity_id from deliveries order by id')
    const sendingId = Number(ids.rows.find((r) => r.opportunity_id === sending.o.id)!.id)
    expect(await repo.claim(sendingId)).toBe(true)

    const dropped = store.events.next('deliveries-dropped')
    store.record(ev('closed', close(waiting.o)))
    store.record(ev('closed', close(sending.o)))
    await store.flush()
    expect((await dropped).count).toBe(1)
    const rs = await handle.client.execute(
      'select opportunity_id, status from deliveries order by opportunity_id',
    )
    const status = Object.fromEntries(rs.rows.map((r) => [r.opportunity_id, r.status]))
    expect(status).toEqual({ [waiting.o.id]: 'dropped', [sending.o.id]: 'sending' })
    expect(store.stats.dropped).toBe(1)
  })
})

describe.skipIf(!sqldSupported)('a real sqld that dies or hangs', () => {
  let pinned = false
  beforeAll(async () => {
    pinned = (await sqldSha256()) === SQLD_SHA256
  })
  const servers: SqldServer[] = []
  afterEach(async () => {
    for (const s of servers.splice(0)) {
      s.proc.kill('SIGCONT')
      s.proc.kill('SIGKILL')
      await s.proc.exited
    }
  })
  async function sqld(dbPath: string, port?: number): Promise<SqldServer> {
    if (!pinned) throw new Error('sqld is missing or not the pinned binary')
    const s = await startSqld(dbPath, port)
    servers.push(s)
    return s
  }

  test('killed: writes fail loudly, reads are a clear 503, and a restarted server gets everything once', async () => {
    const dbPath = join(tempDir(), 'sqld')
    const first = await sqld(dbPath)
    const handle = await openDb({ url: first.url })
    track({ stop: () => handle.close() })
    await runMigrations(handle.db)
    const { store, app, readyz } = storeAndApi(handle)
    const before = opening()
    const written = store.events.next('deliveries-written')
    store.record(ev('opened', before.o), before.deliveries)
    await written

    first.proc.kill('SIGKILL')
    await first.proc.exited
    const failed = store.events.next('write-failed')
    const during = opening()
    store.record(ev('opened', during.o), during.deliveries)
    await failed
    expect((await readyz()).status).toBe(503)
    const res = await app.request('/api/opportunities')
    expect(res.status).toBe(503)
    expect(((await res.json()) as { error: string }).error).toContain('the database is unavailable')

    const recovered = store.events.next('write-recovered', undefined, 15_000)
    await sqld(dbPath, first.port)
    await recovered
    expect(store.stats).toMatchObject({ pending: 0, lastError: null, failingSinceMs: null })
    expect((await readyz()).status).toBe(200)
    expect(await count(handle.client, 'select count(*) from opportunities')).toBe(2)
    expect(await count(handle.client, 'select count(*) from deliveries')).toBe(2)
  }, 30_000)

  test('hung (SIGSTOP): reads answer 503 within the query timeout, writes fail, and SIGCONT recovers', async () => {
    const server = await sqld(join(tempDir(), 'sqld'))
    const handle = await openDb({ url: server.url, queryTimeoutMs: 300 })
    track({ stop: () => handle.close() })
    await runMigrations(handle.db)
    const { store, app, readyz } = storeAndApi(handle)
    expect((await app.request('/api/opportunities')).status).toBe(200)

    server.proc.kill('SIGSTOP')
    const res = await app.request('/api/opportunities')
    expect(res.status).toBe(503)
    expect(((await res.json()) as { error: string }).error).toBe(
      'the database did not answer within 300 ms; try again later',
    )
    const failed = store.events.next('write-failed')
    const { o, deliveries } = opening()
    store.record(ev('opened', o), deliveries)
    expect((await failed).error).toContain('did not answer within 300 ms')
    expect((await readyz()).status).toBe(503)

    const recovered = store.events.next('write-recovered')
    server.proc.kill('SIGCONT')
    await recovered
    expect((await readyz()).status).toBe(200)
    expect((await app.request('/api/opportunities')).status).toBe(200)
    expect(await count(handle.client, 'select count(*) from deliveries')).toBe(1)
  }, 30_000)
})
