/**
 * Transfer facts and fetch outcomes through a real libSQL database with the real migrations:
 * a round trip keeps every field (absent ones stay absent) and the ages, a save replaces the
 * venue's facts as a whole, outcomes upsert, and loading warms TransferFacts.
 */
import { afterEach, expect, test } from 'bun:test'
import { openDb, runMigrations, type DbHandle } from '../../src/db/client.ts'
import {
  loadTransferFacts,
  saveTransferFacts,
  saveTransferOutcome,
} from '../../src/db/transfers.ts'
import { TransferFacts } from '../../src/transfers/facts.ts'
import type { TransferFact } from '../../src/transfers/types.ts'

const T0 = 1_796_000_000_000

// Not openMemoryDb from test/support.ts: that module loads every venue, this file needs none.
const open: DbHandle[] = []
afterEach(() => {
  for (const h of open.splice(0)) h.close()
})
async function memoryDb(): Promise<DbHandle> {
  const handle = await openDb({ url: ':memory:' })
  open.push(handle)
  await runMigrations(handle.db)
  return handle
}

function fact(over: Partial<TransferFact> = {}): TransferFact {
  return {
    venue: 'binance',
    asset: 'USDT',
    network: 'ETH',
    venueNetwork: 'ERC20',
    depositEnabled: true,
    withdrawEnabled: false,
    withdrawFee: 4.5,
    withdrawMin: 10,
    contract: '0xdac17f958d2ee523a2206206994597c13d831ec7',
    fetchedAtMs: T0,
    source: 'GET /sapi/v1/capital/config/getall',
    ...over,
  }
}

const sorted = (fs: readonly TransferFact[]) =>
  [...fs].sort((a, b) =>
    `${a.venue}${a.asset}${a.network}`.localeCompare(`${b.venue}${b.asset}${b.network}`),
  )

test('round trip keeps every field, unknowns as undefined, and the ages', async () => {
  const { db } = await memoryDb()
  const facts = [
    fact(),
    fact({ network: 'TRX', venueNetwork: 'TRC20', contract: 'TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6t' }),
    fact({
      venue: 'kraken',
      asset: 'BTC',
      network: '*',
      venueNetwork: 'XBT',
      depositEnabled: undefined,
      withdrawEnabled: undefined,
      withdrawFee: undefined,
      withdrawMin: undefined,
      contract: undefined,
      fetchedAtMs: T0 - 7_200_000,
      source: 'GET /0/public/Assets',
    }),
  ]
  await saveTransferFacts(db, 'binance', facts)
  await saveTransferFacts(db, 'kraken', facts)
  const loaded = await loadTransferFacts(db)
  expect(sorted(loaded.facts)).toEqual(sorted(facts))
  const kraken = loaded.facts.find((f) => f.venue === 'kraken')!
  expect('depositEnabled' in kraken && kraken.depositEnabled).toBeUndefined()
  expect(loaded.outcomes.size).toBe(0)
})

test("a save replaces the venue's facts as a whole and leaves other venues alone", async () => {
  const { db } = await memoryDb()
  await saveTransferFacts(db, 'binance', [fact(), fact({ network: 'TRX' })])
  await saveTransferFacts(db, 'okx', [fact({ venue: 'okx' })])
  await saveTransferFacts(db, 'binance', [fact({ network: 'BSC', fetchedAtMs: T0 + 1 })])
  const loaded = await loadTransferFacts(db)
  expect(loaded.facts.map((f) => `${f.venue}:${f.network}`).sort()).toEqual([
    'binance:BSC',
    'okx:ETH',
  ])
  await saveTransferFacts(db, 'binance', [])
  expect((await loadTransferFacts(db)).facts.map((f) => f.venue)).toEqual(['okx'])
})

test('many facts in one save', async () => {
  const { db } = await memoryDb()
  const many = Array.from({ length: 1200 }, (_, i) => fact({ asset: `A${i}` }))
  await saveTransferFacts(db, 'binance', many)
  expect((await loadTransferFacts(db)).facts).toHaveLength(1200)
})

test('outcomes upsert; an ok clears the error; loading warms TransferFacts', async () => {
  const { db } = await memoryDb()
  await saveTransferOutcome(db, 'binance', { okAtMs: T0 })
  await saveTransferOutcome(db, 'binance', { okAtMs: T0, error: 'answered 503', errorAtMs: T0 + 5 })
  await saveTransferOutcome(db, 'okx', {
    error: 'answered 401',
    errorAtMs: T0,
    missingKey: 'OKX_API_KEY',
  })
  await saveTransferOutcome(db, 'kraken', { okAtMs: T0, error: 'timed out', errorAtMs: T0 + 1 })
  await saveTransferOutcome(db, 'kraken', { okAtMs: T0 + 9 })
  await saveTransferFacts(db, 'binance', [fact({ fetchedAtMs: T0 - 60_000 })])
  const loaded = await loadTransferFacts(db)
  expect(Object.fromEntries(loaded.outcomes)).toEqual({
    binance: { okAtMs: T0, error: 'answered 503', errorAtMs: T0 + 5 },
    okx: { error: 'answered 401', errorAtMs: T0 },
    kraken: { okAtMs: T0 + 9 },
  })
  const facts = new TransferFacts()
  facts.restore(loaded.facts, loaded.outcomes)
  expect(facts.of('binance', 'USDT')).toEqual([fact({ fetchedAtMs: T0 - 60_000 })])
  expect(facts.outcome('kraken')).toEqual({ okAtMs: T0 + 9 })
})
