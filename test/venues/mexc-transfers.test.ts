/**
 * MEXC's signed `GET /api/v3/capital/config/getall`: the docs' HMAC example, the docs' response
 * example, and the simulated MEXC checking keys and signatures as MEXC does.
 */
import { afterEach, describe, expect, test } from 'bun:test'
import { mexc } from '../../src/venues/mexc/index.ts'
import { SIM_MEXC_KEY, SIM_MEXC_SECRET, SimMexc } from '../../src/venues/mexc/sim.ts'
import {
  mexcSignature,
  mexcTransfers,
  parseMexcTransfers,
} from '../../src/venues/mexc/transfers.ts'
import { ExchangeError, ParseError } from '../../src/venues/venue.ts'

const FIX = `${import.meta.dir}/../fixtures/mexc`
const credentials = { key: SIM_MEXC_KEY, secret: SIM_MEXC_SECRET }
const sims: SimMexc[] = []
afterEach(() => {
  for (const s of sims.splice(0)) s.stop()
})

function start(options: ConstructorParameters<typeof SimMexc>[1] = {}): SimMexc {
  const sim = new SimMexc(
    [
      { base: 'BTC', quote: 'USDT' },
      { base: 'ETH', quote: 'USDT' },
    ],
    options,
  )
  sims.push(sim)
  return sim
}

/** Fetch options; `null` credentials sends none. */
const fetchOpts = (assets: string[], creds: typeof credentials | null = credentials) => ({
  fetch,
  signal: AbortSignal.timeout(10_000),
  assets,
  nowMs: Date.now(),
  credentials: creds ?? undefined,
})

describe('mexc transfers', () => {
  test('signs as the docs example does (SIGNED Endpoint Examples for POST /api/v3/order)', () => {
    // MEXC spot v3 docs, "SIGNED Endpoint Examples", with their secretKey and totalParams. The docs
    // print two hashes for one input; this one (their Example 2) is what openssl prints for it.
    const secret = '45d0b3c26f2644f19bfb98b07741b2f5'
    const query =
      'symbol=BTCUSDT&side=BUY&type=LIMIT&quantity=1&price=11&recvWindow=5000&timestamp=1644489390087'
    expect(mexcSignature(secret, query)).toBe(
      'fd3e4e8543c5188531eb7279d68ae7d26a573d0fc5ab0d18eb692451654d837a',
    )
  })

  test("the docs' response example parses to its facts", async () => {
    const { body } = (await Bun.file(`${FIX}/transfers-getall.json`).json()) as { body: unknown }
    const facts = parseMexcTransfers(body, { assets: ['EOS'], nowMs: 5 })
    const source = 'GET /api/v3/capital/config/getall'
    expect(facts).toEqual([
      {
        venue: 'mexc',
        asset: 'EOS',
        network: 'EOS',
        venueNetwork: 'EOS',
        depositEnabled: true,
        withdrawEnabled: false,
        withdrawFee: 0.0001,
        withdrawMin: 0.001,
        contract: 'TN3W4H6rK2ce4vX9YnFQHwKENnHjoxbm9',
        fetchedAtMs: 5,
        source,
      },
      {
        venue: 'mexc',
        asset: 'EOS',
        network: 'BTC',
        venueNetwork: 'BTC',
        depositEnabled: true,
        withdrawEnabled: true,
        withdrawFee: 0.00001,
        withdrawMin: 0.0001,
        contract: '0x7130d2a12b9bcbfae4f2634d864a1ee1ce3ead9c',
        fetchedAtMs: 5,
        source,
      },
    ])
    expect(parseMexcTransfers(body, { assets: ['BTC'], nowMs: 5 })).toEqual([])
  })

  test('nothing left out shows as open', () => {
    const body = [{ coin: 'BTC', networkList: [{ netWork: 'BTC' }] }]
    const [fact] = parseMexcTransfers(body, { assets: ['BTC'], nowMs: 1 })
    expect(fact!.depositEnabled).toBeUndefined()
    expect(fact!.withdrawEnabled).toBeUndefined()
    expect(fact!.withdrawFee).toBeUndefined()
    expect(fact!.withdrawMin).toBeUndefined()
    expect(fact!.contract).toBeUndefined()
    expect(() => parseMexcTransfers({ code: -1 }, { assets: ['BTC'], nowMs: 1 })).toThrow(
      ParseError,
    )
  })

  test('the signed endpoint weighs 10', () => {
    const url = new URL('https://api.mexc.com/api/v3/capital/config/getall?timestamp=1')
    expect(mexc.limits.rest.cost!(url)).toBe(10)
    expect(mexc.transfers).toBe(mexcTransfers)
    expect(mexcTransfers.needsKey).toBe(true)
  })

  test('the sim answers the right key with facts, and a withdrawal switched off', async () => {
    const sim = start()
    const facts = await mexcTransfers.fetch(sim.restUrl, fetchOpts(['BTC', 'USDT']))
    const btc = facts.find((f) => f.asset === 'BTC')!
    expect(btc).toMatchObject({ network: 'BTC', depositEnabled: true, withdrawEnabled: true })
    expect(btc.withdrawFee).toBe(0.0002)
    const usdt = facts.filter((f) => f.asset === 'USDT').map((f) => [f.network, f.contract])
    expect(usdt).toEqual([
      ['ETH', '0xdac17f958d2ee523a2206206994597c13d831ec7'],
      ['TRX', 'TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6t'],
    ])
    expect(facts.some((f) => f.asset === 'ETH')).toBe(false)

    sim.transfers.set('BTC', { withdraw: false })
    const again = await mexcTransfers.fetch(sim.restUrl, fetchOpts(['BTC']))
    expect(again).toHaveLength(1)
    expect(again[0]!.withdrawEnabled).toBe(false)
    expect(again[0]!.depositEnabled).toBe(true)
  })

  test('a wrong secret is refused as MEXC refuses it (400, 700002)', async () => {
    const sim = start()
    const wrong = { key: SIM_MEXC_KEY, secret: 'not-the-secret' }
    const err = await mexcTransfers.fetch(sim.restUrl, fetchOpts(['BTC'], wrong)).catch((e) => e)
    expect(err).toBeInstanceOf(ExchangeError)
    expect(err.message).toContain('400')
    expect(err.message).toContain('700002')
    expect(err.message).not.toContain('not-the-secret')
  })

  test('a wrong key is refused (400, 10072)', async () => {
    const sim = start({ apiKey: 'another-key' })
    const err = await mexcTransfers.fetch(sim.restUrl, fetchOpts(['BTC'])).catch((e) => e)
    expect(err).toBeInstanceOf(ExchangeError)
    expect(err.message).toContain('400')
    expect(err.message).toContain('10072')
  })
})
