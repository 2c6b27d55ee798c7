/**
 * OKX's signed `GET /api/v5/asset/currencies`: the docs' prehash example, a body of its shape, and
 * the simulated OKX checking key, passphrase and signature as OKX does.
 */
import { afterEach, describe, expect, test } from 'bun:test'
import { okx } from '../../src/venues/okx/index.ts'
import {
  SIM_OKX_KEY,
  SIM_OKX_PASSPHRASE,
  SIM_OKX_SECRET,
  SimOkx,
} from '../../src/venues/okx/sim.ts'
import {
  okxPrehash,
  okxSignature,
  okxTransfers,
  okxTransfersRequest,
  parseOkxTransfers,
} from '../../src/venues/okx/transfers.ts'
import { ExchangeError, ParseError } from '../../src/venues/venue.ts'

const FIX = `${import.meta.dir}/../fixtures/okx`
const credentials: { key: string; secret: string; passphrase?: string } = {
  key: SIM_OKX_KEY,
  secret: SIM_OKX_SECRET,
  passphrase: SIM_OKX_PASSPHRASE,
}
const sims: SimOkx[] = []
afterEach(() => {
  for (const s of sims.splice(0)) s.stop()
})

function start(options: ConstructorParameters<typeof SimOkx>[1] = {}): SimOkx {
  const sim = new SimOkx(
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

describe('okx transfers', () => {
  test("signs the docs' example prehash (REST Authentication, Signature)", () => {
    // The docs: sign = Base64(HmacSHA256(timestamp + 'GET' + '/api/v5/account/balance?ccy=BTC',
    // SecretKey)), timestamp e.g. 2020-12-08T09:08:57.715Z. They give no secret and no result, so
    // the expected value is what `openssl dgst -sha256 -hmac sim-okx-secret -binary | base64`
    // prints for that prehash.
    const prehash = okxPrehash('2020-12-08T09:08:57.715Z', 'get', '/api/v5/account/balance?ccy=BTC')
    expect(prehash).toBe('2020-12-08T09:08:57.715ZGET/api/v5/account/balance?ccy=BTC')
    expect(okxSignature('sim-okx-secret', prehash)).toBe(
      'GsWIbvl0HBcjAZ5ldanAFiR58Ou6glQtGYtCUFmzGKA=',
    )
    const { headers } = okxTransfersRequest(
      'https://www.okx.com',
      credentials,
      Date.UTC(2020, 11, 8, 9, 8, 57, 715),
    )
    expect(headers['OK-ACCESS-TIMESTAMP']).toBe('2020-12-08T09:08:57.715Z')
    expect(headers['OK-ACCESS-PASSPHRASE']).toBe(SIM_OKX_PASSPHRASE)
  })

  test("a body of the endpoint's shape parses to its facts", async () => {
    const { body } = (await Bun.file(`${FIX}/transfers-currencies.json`).json()) as {
      body: unknown
    }
    const facts = parseOkxTransfers(body, { assets: ['USDT', 'BTC', 'XLM'], nowMs: 5 })
    const source = 'GET /api/v5/asset/currencies'
    expect(facts).toEqual([
      {
        venue: 'okx',
        asset: 'USDT',
        network: 'ETH',
        venueNetwork: 'USDT-ERC20',
        depositEnabled: true,
        withdrawEnabled: false,
        withdrawFee: 1.5,
        withdrawMin: 2,
        contract: '0xdac17f958d2ee523a2206206994597c13d831ec7',
        fetchedAtMs: 5,
        source,
      },
      {
        venue: 'okx',
        asset: 'BTC',
        network: 'BTC',
        venueNetwork: 'BTC-Bitcoin',
        depositEnabled: true,
        withdrawEnabled: true,
        withdrawFee: 0.0001,
        withdrawMin: 0.0005,
        contract: undefined,
        fetchedAtMs: 5,
        source,
      },
      {
        venue: 'okx',
        asset: 'XLM',
        network: 'XLM',
        venueNetwork: 'XLM-Stellar Lumens',
        depositEnabled: undefined,
        withdrawEnabled: true,
        withdrawFee: 0.02,
        withdrawMin: 1,
        contract: undefined,
        fetchedAtMs: 5,
        source,
      },
    ])
  })

  test('nothing left out shows as open', () => {
    const body = { code: '0', data: [{ ccy: 'BTC', chain: 'BTC-Bitcoin' }] }
    const [fact] = parseOkxTransfers(body, { assets: ['BTC'], nowMs: 1 })
    expect(fact!.depositEnabled).toBeUndefined()
    expect(fact!.withdrawEnabled).toBeUndefined()
    expect(fact!.withdrawFee).toBeUndefined()
    expect(fact!.withdrawMin).toBeUndefined()
    expect(fact!.contract).toBeUndefined()
    expect(() => parseOkxTransfers({ code: '1' }, { assets: ['BTC'], nowMs: 1 })).toThrow(
      ParseError,
    )
  })

  test("is the venue's signed transfer source", () => {
    expect(okx.transfers).toBe(okxTransfers)
    expect(okxTransfers.needsKey).toBe(true)
  })

  test('the sim answers the right key with facts, and a withdrawal switched off', async () => {
    const sim = start()
    const facts = await okxTransfers.fetch(sim.restUrl, fetchOpts(['BTC', 'USDT']))
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
    const again = await okxTransfers.fetch(sim.restUrl, fetchOpts(['BTC']))
    expect(again).toHaveLength(1)
    expect(again[0]!.withdrawEnabled).toBe(false)
    expect(again[0]!.depositEnabled).toBe(true)
  })

  test('a wrong secret is refused as OKX refuses it (401, 50113)', async () => {
    const sim = start()
    const wrong = { ...credentials, secret: 'not-the-secret' }
    const err = await okxTransfers.fetch(sim.restUrl, fetchOpts(['BTC'], wrong)).catch((e) => e)
    expect(err).toBeInstanceOf(ExchangeError)
    expect(err.message).toContain('401')
    expect(err.message).toContain('50113')
    const pass = { ...credentials, passphrase: 'not-it' }
    const bad = await okxTransfers.fetch(sim.restUrl, fetchOpts(['BTC'], pass)).catch((e) => e)
    expect(bad.message).toContain('50105')
    expect(err.message).not.toContain('not-the-secret')
  })

  test('a wrong key is refused (401, 50111)', async () => {
    const sim = start({ apiKey: 'another-key' })
    const err = await okxTransfers.fetch(sim.restUrl, fetchOpts(['BTC'])).catch((e) => e)
    expect(err).toBeInstanceOf(ExchangeError)
    expect(err.message).toContain('401')
    expect(err.message).toContain('50111')
  })

  test('without credentials nothing is sent and the env vars are named', async () => {
    const sim = start()
    const err = await okxTransfers.fetch(sim.restUrl, fetchOpts(['BTC'], null)).catch((e) => e)
    expect(err).toBeInstanceOf(ExchangeError)
    expect(err.message).toContain('OKX_API_KEY')
    expect(err.message).toContain('OKX_API_SECRET')
    expect(err.message).toContain('OKX_API_PASSPHRASE')
    const half = { key: SIM_OKX_KEY, secret: SIM_OKX_SECRET }
    await expect(okxTransfers.fetch(sim.restUrl, fetchOpts(['BTC'], half))).rejects.toThrow(
      'OKX_API_PASSPHRASE',
    )
    expect(sim.transfers.requests).toBe(0)
  })
})
