/**
 * Bybit's signed `GET /v5/asset/coin/query-info`: the docs' signing example, the docs' response
 * example, and the simulated Bybit checking key and signature as Bybit does.
 */
import { afterEach, describe, expect, test } from 'bun:test'
import { bybit } from '../../src/venues/bybit/index.ts'
import { SIM_BYBIT_KEY, SIM_BYBIT_SECRET, SimBybit } from '../../src/venues/bybit/sim.ts'
import {
  bybitPrehash,
  bybitSignature,
  bybitTransfers,
  bybitTransfersRequest,
  parseBybitTransfers,
} from '../../src/venues/bybit/transfers.ts'
import { ExchangeError, ParseError } from '../../src/venues/venue.ts'

const FIX = `${import.meta.dir}/../fixtures/bybit`
const credentials = { key: SIM_BYBIT_KEY, secret: SIM_BYBIT_SECRET }
const sims: SimBybit[] = []
afterEach(() => {
  for (const s of sims.splice(0)) s.stop()
})

function start(options: ConstructorParameters<typeof SimBybit>[1] = {}): SimBybit {
  const sim = new SimBybit(
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

describe('bybit transfers', () => {
  test("signs the docs' example (guide.mdx, Create A Request, GET)", () => {
    // docs/v5/guide.mdx: timestamp 1658384314791, api_key XXXXXXXXXX, recv_window 5000 and the
    // query string give the string to sign below. The docs' resulting signature rests on a secret
    // they do not print, so ours is checked against `openssl dgst -sha256 -hmac sim-bybit-secret`.
    const prehash = bybitPrehash(
      '1658384314791',
      'XXXXXXXXXX',
      '5000',
      'category=option&symbol=BTC-29JUL22-25000-C',
    )
    expect(prehash).toBe('1658384314791XXXXXXXXXX5000category=option&symbol=BTC-29JUL22-25000-C')
    expect(bybitSignature('sim-bybit-secret', prehash)).toBe(
      '99ce33f2a93307f2fee01c383ba91b8a52bf5ef20635b94d266420d747ab49d6',
    )
    const { headers } = bybitTransfersRequest('https://api.bybit.com', credentials, 1658384314791)
    expect(headers['X-BAPI-TIMESTAMP']).toBe('1658384314791')
    expect(headers['X-BAPI-RECV-WINDOW']).toBe('5000')
    expect(headers['X-BAPI-SIGN']).toBe(
      bybitSignature(SIM_BYBIT_SECRET, `1658384314791${SIM_BYBIT_KEY}5000`),
    )
  })

  test("the docs' response example parses to its facts", async () => {
    const { body } = (await Bun.file(`${FIX}/transfers-coin-info.json`).json()) as { body: unknown }
    const facts = parseBybitTransfers(body, { assets: ['MNT'], nowMs: 5 })
    const source = 'GET /v5/asset/coin/query-info'
    expect(facts).toEqual([
      {
        venue: 'bybit',
        asset: 'MNT',
        network: 'ETH',
        venueNetwork: 'ETH',
        depositEnabled: true,
        withdrawEnabled: true,
        withdrawFee: 3,
        withdrawMin: 3,
        contract: '0x3c3a81e81dc49a522a592e7622a7e711c06bf354',
        fetchedAtMs: 5,
        source,
      },
      {
        venue: 'bybit',
        asset: 'MNT',
        network: 'MANTLE',
        venueNetwork: 'MANTLE',
        depositEnabled: true,
        withdrawEnabled: true,
        withdrawFee: 0,
        withdrawMin: 10,
        contract: undefined,
        fetchedAtMs: 5,
        source,
      },
    ])
  })

  test('NEIRO (another token on Bybit) is never reported', () => {
    const body = { retCode: 0, result: { rows: [{ coin: 'NEIRO', chains: [{ chain: 'ETH' }] }] } }
    expect(
      parseBybitTransfers(body, { assets: ['NEIRO'], nowMs: 1, distinct: bybit.distinctAssets }),
    ).toEqual([])
  })

  test('nothing left out shows as open', () => {
    // An empty withdrawFee means no withdrawal (coin-info.mdx): a fee not given, never 0.
    const body = {
      retCode: 0,
      result: { rows: [{ coin: 'BTC', chains: [{ chain: 'BTC', withdrawFee: '' }] }] },
    }
    const [fact] = parseBybitTransfers(body, { assets: ['BTC'], nowMs: 1 })
    expect(fact!.depositEnabled).toBeUndefined()
    expect(fact!.withdrawEnabled).toBeUndefined()
    expect(fact!.withdrawFee).toBeUndefined()
    expect(fact!.withdrawMin).toBeUndefined()
    expect(fact!.contract).toBeUndefined()
    expect(() => parseBybitTransfers({ retCode: 0 }, { assets: ['BTC'], nowMs: 1 })).toThrow(
      ParseError,
    )
  })

  test("is the venue's signed transfer source", () => {
    expect(bybit.transfers).toBe(bybitTransfers)
    expect(bybitTransfers.needsKey).toBe(true)
  })

  test('the sim answers the right key with facts, and a withdrawal switched off', async () => {
    const sim = start()
    const facts = await bybitTransfers.fetch(sim.restUrl, fetchOpts(['BTC', 'USDT']))
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
    const again = await bybitTransfers.fetch(sim.restUrl, fetchOpts(['BTC']))
    expect(again).toHaveLength(1)
    expect(again[0]!.withdrawEnabled).toBe(false)
    expect(again[0]!.depositEnabled).toBe(true)
  })

  test('a wrong secret is refused as Bybit refuses it (retCode 10004)', async () => {
    const sim = start()
    const wrong = { ...credentials, secret: 'not-the-secret' }
    const err = await bybitTransfers.fetch(sim.restUrl, fetchOpts(['BTC'], wrong)).catch((e) => e)
    expect(err).toBeInstanceOf(ExchangeError)
    expect(err.message).toContain('10004')
    expect(err.message).not.toContain('origin_string')
    expect(err.message).not.toContain('not-the-secret')
  })

  test('a wrong key is refused (retCode 10003)', async () => {
    const sim = start({ apiKey: 'another-key' })
    const err = await bybitTransfers.fetch(sim.restUrl, fetchOpts(['BTC'])).catch((e) => e)
    expect(err).toBeInstanceOf(ExchangeError)
    expect(err.message).toContain('10003')
  })
})
