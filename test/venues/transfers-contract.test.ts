/**
 * The transfer contract: every registered venue with a deposit and withdrawal endpoint, through its
 * simulated venue, reports the facts the sim holds, follows a switched-off withdrawal, answers a
 * rate limit and a bad body as errors the refresher can act on, and (signed endpoints) sends
 * nothing without a key. What is venue-specific (its shape, its signature example, its error codes)
 * stays in `test/venues/<venue>-transfers.test.ts`.
 */
import { afterEach, describe, expect, test } from 'bun:test'
import { VENUES } from '../../src/venues/index.ts'
import type { SimVenue } from '../../src/venues/sim/venue.ts'
import { ExchangeError, ParseError, type Venue } from '../../src/venues/venue.ts'

const sims: SimVenue[] = []
afterEach(() => {
  for (const s of sims.splice(0)) s.stop()
})

function start(venue: Venue): SimVenue {
  const sim = venue.simulate([
    { base: 'BTC', quote: 'USDT' },
    { base: 'ETH', quote: 'USDT' },
  ])
  sims.push(sim)
  return sim
}

const fetchFacts = (venue: Venue, sim: SimVenue, assets: string[], withKey = true) =>
  venue.transfers!.fetch(sim.restUrl, {
    fetch,
    signal: AbortSignal.timeout(10_000),
    assets,
    nowMs: Date.now(),
    credentials: withKey ? sim.credentials : undefined,
  })

for (const venue of VENUES.filter((v) => v.transfers !== undefined)) {
  describe(`${venue.name} transfers contract`, () => {
    test('the facts the venue holds, only for the assets asked, none claiming more than it says', async () => {
      const sim = start(venue)
      const facts = await fetchFacts(venue, sim, ['BTC'])
      expect(facts.length).toBeGreaterThan(0)
      expect(new Set(facts.map((f) => f.asset))).toEqual(new Set(['BTC']))
      for (const f of facts) {
        expect(f.venue).toBe(venue.id)
        expect(f.withdrawEnabled).not.toBe(false)
        expect(f.depositEnabled).not.toBe(false)
        expect(f.source).toMatch(/^GET /)
      }
    })

    test('a withdrawal switched off venue-side is off in the next fetch', async () => {
      const sim = start(venue)
      sim.transfers.set('BTC', { withdraw: false })
      const facts = await fetchFacts(venue, sim, ['BTC'])
      expect(facts.length).toBeGreaterThan(0)
      for (const f of facts) expect(f.withdrawEnabled).toBe(false)
    })

    test('a 429 is an ExchangeError with its Retry-After; a body that is not JSON is refused', async () => {
      const sim = start(venue)
      sim.transfers.faults.push({ kind: 'status', status: 429, retryAfterS: 7 })
      const limited = await fetchFacts(venue, sim, ['BTC']).catch((e: unknown) => e)
      expect(limited).toBeInstanceOf(ExchangeError)
      expect((limited as ExchangeError).retryAfterMs).toBe(7000)
      sim.transfers.faults.push({ kind: 'invalid-json' })
      const bad = await fetchFacts(venue, sim, ['BTC']).catch((e: unknown) => e)
      expect(bad instanceof ParseError || bad instanceof ExchangeError).toBe(true)
    })

    if (venue.transfers!.needsKey) {
      test('without a key nothing is sent, and the error names the variables to set', async () => {
        const sim = start(venue)
        const err = await fetchFacts(venue, sim, ['BTC'], false).catch((e: unknown) => e)
        expect(err).toBeInstanceOf(ExchangeError)
        expect((err as Error).message).toContain(`${venue.id.toUpperCase()}_API_KEY`)
        expect(sim.transfers.requests).toBe(0)
      })
    }
  })
}
