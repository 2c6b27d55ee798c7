/**
 * TransferFacts: a fetch replaces a venue's facts, changed assets are announced, a failure keeps
 * the facts and records the outcome, restore warms it without announcing, `all` lists in order.
 */
import { expect, test } from 'bun:test'
import { TransferFacts, type TransferFactsEvent } from '../../src/transfers/facts.ts'
import type { TransferFact } from '../../src/transfers/types.ts'

const T0 = 1_796_000_000_000

function fact(over: Partial<TransferFact> = {}): TransferFact {
  return {
    venue: 'binance',
    asset: 'BTC',
    network: 'BTC',
    venueNetwork: 'BTC',
    depositEnabled: true,
    withdrawEnabled: true,
    withdrawFee: 0.0002,
    withdrawMin: 0.001,
    contract: undefined,
    fetchedAtMs: T0,
    source: 'GET /sapi/v1/capital/config/getall',
    ...over,
  }
}

function recorder(facts: TransferFacts): TransferFactsEvent[] {
  const seen: TransferFactsEvent[] = []
  facts.events.on((e) => seen.push(e))
  return seen
}

test('replace: the fetch is the venue whole truth; changed assets are announced', () => {
  const facts = new TransferFacts()
  const seen = recorder(facts)
  const first = [
    fact(),
    fact({ network: 'BSC', venueNetwork: 'BEP20' }),
    fact({ asset: 'ETH', network: 'ETH' }),
  ]
  expect(facts.replace('binance', first, T0)).toEqual(['BTC', 'ETH'])
  expect(facts.of('binance', 'BTC')?.map((f) => f.network)).toEqual(['BTC', 'BSC'])
  expect(facts.outcome('binance')).toEqual({ okAtMs: T0 })

  // Same facts, later: only ages move.
  const later = first.map((f) => ({ ...f, fetchedAtMs: T0 + 1000 }))
  expect(facts.replace('binance', later, T0 + 1000)).toEqual([])
  expect(facts.of('binance', 'BTC')![0]!.fetchedAtMs).toBe(T0 + 1000)

  // BTC withdrawals close, ETH disappears.
  const third = [fact({ withdrawEnabled: false }), fact({ network: 'BSC', venueNetwork: 'BEP20' })]
  expect(facts.replace('binance', third, T0 + 2000)).toEqual(['BTC', 'ETH'])
  expect(facts.of('binance', 'ETH')).toBeUndefined()
  expect(seen.map((e) => e.type === 'updated' && e.assets)).toEqual([
    ['BTC', 'ETH'],
    [],
    ['BTC', 'ETH'],
  ])
})

test('fail keeps the facts with their age and records the error beside the last success', () => {
  const facts = new TransferFacts()
  facts.replace('kraken', [fact({ venue: 'kraken', network: '*' })], T0)
  const failed = facts.events.next('failed')
  facts.fail('kraken', 'GET /0/public/Assets answered 503', T0 + 5000)
  expect(facts.of('kraken', 'BTC')![0]!.fetchedAtMs).toBe(T0)
  expect(facts.outcome('kraken')).toEqual({
    okAtMs: T0,
    error: 'GET /0/public/Assets answered 503',
    errorAtMs: T0 + 5000,
  })
  return failed.then((e) => expect(e.venue).toBe('kraken'))
})

test('needsKey, restore and all', () => {
  const facts = new TransferFacts()
  facts.needsKey('binance', 'BINANCE_API_KEY')
  expect(facts.outcome('binance')).toEqual({ missingKey: 'BINANCE_API_KEY' })
  const seen = recorder(facts)
  facts.restore(
    [
      fact({ venue: 'okx', asset: 'USDT', network: 'TRX' }),
      fact({ venue: 'kraken', network: '*' }),
      fact({ venue: 'okx', asset: 'BTC' }),
    ],
    new Map([['okx', { okAtMs: T0 - 10 }]]),
  )
  expect(seen).toEqual([])
  expect(facts.outcome('okx')).toEqual({ okAtMs: T0 - 10 })
  expect(facts.all().map((f) => `${f.venue}:${f.asset}:${f.network}`)).toEqual([
    'kraken:BTC:*',
    'okx:BTC:BTC',
    'okx:USDT:TRX',
  ])
  expect(facts.all('USDT')).toHaveLength(1)
  expect([...facts.outcomes().keys()].sort()).toEqual(['binance', 'okx'])
})

test('facts of another venue are not taken', () => {
  const facts = new TransferFacts()
  facts.replace('binance', [fact({ venue: 'okx' })], T0)
  expect(facts.of('binance', 'BTC')).toBeUndefined()
  expect(facts.of('okx', 'BTC')).toBeUndefined()
})
