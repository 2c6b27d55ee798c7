/**
 * TransferRefresher against a fake venue whose `transfers.fetch` is scripted (no network), with an
 * injected clock: fetch at start and on refresh, a failure keeps the facts with their age and
 * marks the outcome, backoff never sooner than Retry-After, no key means never fetched, stop
 * aborts the request in flight, persistence.
 */
import { afterEach, expect, test } from 'bun:test'
import { TransferFacts } from '../../src/transfers/facts.ts'
import {
  keyEnvVar,
  TransferRefresher,
  type TransferRefresherEvent,
  type TransferRefresherOptions,
  type TransferSource,
} from '../../src/transfers/refresher.ts'
import { routeTransfer } from '../../src/transfers/status.ts'
import type { TransferFact } from '../../src/transfers/types.ts'
import { RestBudget } from '../../src/venues/rest-budget.ts'
import { ExchangeError, type VenueTransfers } from '../../src/venues/venue.ts'

// Not test/support.ts: it loads every venue module, and this file needs none of them.
const running: TransferRefresher[] = []
afterEach(async () => {
  for (const r of running.splice(0)) await r.stop()
})
const track = (r: TransferRefresher): TransferRefresher => (running.push(r), r)
const T0 = 1_796_000_000_000

type Call = Parameters<VenueTransfers['fetch']>[1] & { readonly restUrl: string }
type Step = (call: Call) => Promise<TransferFact[]> | TransferFact[]

function fact(atMs: number, over: Partial<TransferFact> = {}): TransferFact {
  return {
    venue: 'fakex',
    asset: 'BTC',
    network: 'BTC',
    venueNetwork: 'BTC',
    depositEnabled: true,
    withdrawEnabled: true,
    withdrawFee: 0.0002,
    withdrawMin: undefined,
    contract: undefined,
    fetchedAtMs: atMs,
    source: 'GET /transfers',
    ...over,
  }
}

/** A venue whose fetches follow `steps` in order (the last one repeats). */
function fakeVenue(steps: Step[], { needsKey = false, refreshMs = 1 } = {}) {
  const calls: Call[] = []
  const transfers: VenueTransfers = {
    needsKey,
    refreshMs,
    fetch: async (restUrl, opts) => {
      const call = { ...opts, restUrl }
      calls.push(call)
      return steps[Math.min(calls.length - 1, steps.length - 1)]!(call)
    },
  }
  return { venue: { id: 'fakex', name: 'FakeX', transfers }, calls }
}

function setup(
  source: Omit<TransferSource, 'restUrl' | 'budget'> & Partial<TransferSource>,
  over: Partial<TransferRefresherOptions> = {},
) {
  const clock = { now: T0 }
  const facts = new TransferFacts()
  const refresher = track(
    new TransferRefresher({
      sources: [{ restUrl: 'http://fakex.test', budget: fetch, ...source }],
      facts,
      assets: () => ['BTC', 'ETH'],
      now: () => clock.now,
      random: () => 0,
      retryMs: 1,
      ...over,
    }),
  )
  const seen: TransferRefresherEvent[] = []
  refresher.events.on((e) => seen.push(e))
  return { clock, facts, refresher, seen }
}

test('fetches at start through the budget, for the assets in use, then again every refreshMs', async () => {
  const budget = new RestBudget({ weight: 10, windowMs: 1000, snapshotCost: 1 })
  const { venue, calls } = fakeVenue([(c) => [fact(c.nowMs)]])
  const { refresher, facts, clock } = setup({ venue, budget })
  const first = refresher.events.next('fetched')
  refresher.start()
  const e = await first
  expect(e).toMatchObject({ venue: 'fakex', facts: 1, changed: ['BTC'], atMs: T0 })
  expect(calls[0]!.fetch).toBe(budget.fetch)
  expect(calls[0]!.assets).toEqual(['BTC', 'ETH'])
  expect(calls[0]!.restUrl).toBe('http://fakex.test')
  expect(calls[0]!.credentials).toBeUndefined()
  expect(facts.of('fakex', 'BTC')).toEqual([fact(T0)])
  clock.now = T0 + 10
  const second = await refresher.events.next('fetched')
  expect(second).toMatchObject({ changed: [], atMs: T0 + 10 })
  expect(facts.of('fakex', 'BTC')![0]!.fetchedAtMs).toBe(T0 + 10)
})

test('a failure keeps the facts with their age, marks the outcome and backs off', async () => {
  let n = 0
  const { venue } = fakeVenue([
    (c) => [fact(c.nowMs)],
    () => {
      throw new ExchangeError('fakex', `GET /transfers answered 503 (#${++n})`)
    },
  ])
  const { refresher, facts, clock, seen } = setup({ venue }, { retryMs: 1 })
  refresher.start()
  await refresher.events.next('fetched')
  clock.now = T0 + 3 * 3_600_000
  await refresher.events.next('failed', (e) => e.error.endsWith('(#3)'))
  await refresher.stop()
  const failures = seen.filter((e) => e.type === 'failed')
  // The backoff doubles from retryMs = 1 but is capped at refreshMs = 1.
  expect(failures.map((e) => e.retryInMs)).toEqual([1, 1, 1])
  expect(facts.of('fakex', 'BTC')).toEqual([fact(T0)])
  expect(facts.outcome('fakex')).toEqual({
    okAtMs: T0,
    error: 'GET /transfers answered 503 (#3)',
    errorAtMs: T0 + 3 * 3_600_000,
  })
  const route = routeTransfer({
    asset: 'BTC',
    buyVenue: 'fakex',
    sellVenue: 'other',
    buyFacts: facts.of('fakex', 'BTC'),
    sellFacts: [fact(clock.now, { venue: 'other' })],
    buyOutcome: facts.outcome('fakex'),
    venueName: (v) => (v === 'fakex' ? 'FakeX' : 'Other'),
    sizeQuote: 1000,
    buyPrice: 60_000,
    netBps: 20,
    nowMs: clock.now,
    maxAgeMs: 30 * 60_000,
  })
  expect(route.status).toBe('unknown')
  expect(route.line).toBe(
    "unknown: FakeX's facts are 3 h old (endpoint failed: GET /transfers answered 503 (#3))",
  )
})

test('backoff doubles up to refreshMs and never undercuts Retry-After', async () => {
  const { venue } = fakeVenue(
    [
      () => {
        throw new ExchangeError('fakex', 'answered 500')
      },
      () => {
        throw new ExchangeError('fakex', 'answered 500')
      },
      () => {
        throw new ExchangeError('fakex', 'answered 429', 60_000)
      },
    ],
    { refreshMs: 3 },
  )
  const { refresher, seen } = setup({ venue }, { retryMs: 1 })
  refresher.start()
  await refresher.events.next('failed', (e) => e.error === 'answered 429')
  await refresher.stop()
  expect(seen.filter((e) => e.type === 'failed').map((e) => e.retryInMs)).toEqual([1, 2, 60_000])
})

test('a signed endpoint without credentials is never fetched; with them it is, signed', async () => {
  const keyless = fakeVenue([(c) => [fact(c.nowMs)]], { needsKey: true })
  const a = setup({ venue: keyless.venue })
  const needs = a.refresher.events.next('needs-key')
  a.refresher.start()
  expect(await needs).toEqual({ type: 'needs-key', venue: 'fakex', envVar: 'FAKEX_API_KEY' })
  expect(keyEnvVar('binance')).toBe('BINANCE_API_KEY')
  await a.refresher.stop()
  expect(keyless.calls).toHaveLength(0)
  expect(a.facts.outcome('fakex')).toEqual({ missingKey: 'FAKEX_API_KEY' })
  expect(a.seen.map((e) => e.type)).toEqual(['needs-key'])

  const keyed = fakeVenue([(c) => [fact(c.nowMs)]], { needsKey: true })
  const credentials = { key: 'k', secret: 's' }
  const b = setup({ venue: keyed.venue, credentials })
  b.refresher.start()
  await b.refresher.events.next('fetched')
  expect(keyed.calls[0]!.credentials).toBe(credentials)
})

test('stop aborts the request in flight and nothing is recorded after', async () => {
  let started!: (signal: AbortSignal) => void
  const inFlight = new Promise<AbortSignal>((r) => (started = r))
  const { venue, calls } = fakeVenue([
    (c) =>
      new Promise<TransferFact[]>((_, reject) => {
        started(c.signal)
        c.signal.addEventListener('abort', () => reject(c.signal.reason), { once: true })
      }),
  ])
  const { refresher, facts, seen } = setup({ venue })
  refresher.start()
  const signal = await inFlight
  expect(refresher.running).toBe(true)
  await refresher.stop()
  expect(signal.aborted).toBe(true)
  expect(refresher.running).toBe(false)
  expect(seen).toEqual([])
  expect(facts.outcome('fakex')).toBeUndefined()
  expect(calls).toHaveLength(1)
})

test('fetched facts and outcomes are persisted; a failing persist is announced', async () => {
  const saved: unknown[] = []
  const { venue } = fakeVenue([
    (c) => [fact(c.nowMs)],
    () => {
      throw new Error('socket hang up')
    },
  ])
  const { refresher } = setup(
    { venue },
    {
      persist: (v, f, o) => {
        saved.push({ v, f, o })
        if (f === undefined) throw new Error('database is locked')
      },
    },
  )
  refresher.start()
  const e = await refresher.events.next('persist-failed')
  await refresher.stop()
  expect(e).toEqual({ type: 'persist-failed', venue: 'fakex', error: 'database is locked' })
  expect(saved[0]).toEqual({ v: 'fakex', f: [fact(T0)], o: { okAtMs: T0 } })
  expect(saved[1]).toEqual({
    v: 'fakex',
    f: undefined,
    o: { okAtMs: T0, error: 'socket hang up', errorAtMs: T0 },
  })
})
