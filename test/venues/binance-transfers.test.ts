/**
 * Binance's signed `GET /sapi/v1/capital/config/getall`: the docs' HMAC example, the docs'
 * response example, and the simulated Binance checking keys and signatures as Binance does.
 */
import { afterEach, describe, expect, test } from 'bun:test'
import { binance } from '../../src/venues/binance/index.ts'
import { SIM_BINANCE_KEY, SIM_BINANCE_SECRET, SimBinance } from '../../src/venues/binance/sim.ts'
import {
  binanceSignature,
  binanceTransfers,
  parseBinanceTransfers,
} from '../../src/venues/binance/transfers.ts'
import { ExchangeError, ParseError } from '../../src/venues/venue.ts'

const FIX = `${import.meta.dir}/../fixtures/binance`
const credentials = { key: SIM_BINANCE_KEY, secret: SIM_BINANCE_SECRET }
const sims: SimBinance[] = []
afterEach(() => {
  for (const s of sims.splice(0)) s.stop()
})

function start(options: ConstructorParameters<typeof SimBinance>[1] = {}): SimBinance {
  const sim = new SimBinance(
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

describe('binance transfers', () => {
  test('signs as the docs example does (rest-api.md, SIGNED Endpoint Examples, HMAC)', () => {
    // binance/binance-spot-api-docs rest-api.md (commit a5e0bc3d): secretKey, totalParams and the
    // signature `openssl dgst -sha256 -hmac` prints for it.
    const secret = 'NhqPtmdSJYdKjVHjA7PZj4Mge3R5YNiP1e3UZjInClVN65XAbvqqM6A7H5fATj0j'
    const query =
      'symbol=LTCBTC&side=BUY&type=LIMIT&timeInForce=GTC&quantity=1&price=0.1&recvWindow=5000&timestamp=1499827319559'
    expect(binanceSignature(secret, query)).toBe(
      'c8db56825ae71d6d79447849e617115f4a920fa2acdcab2b053c4b2838bd6b71',
    )
  })

  test("the docs' response example parses to its facts", async () => {
    const { body } = (await Bun.file(`${FIX}/transfers-getall.json`).json()) as { body: unknown }
    const facts = parseBinanceTransfers(body, { assets: ['1MBABYDOGE', 'BTC'], nowMs: 5 })
    expect(facts).toEqual([
      {
        venue: 'binance',
        asset: '1MBABYDOGE',
        network: 'BSC',
        venueNetwork: 'BSC',
        depositEnabled: true,
        withdrawEnabled: true,
        withdrawFee: 10,
        withdrawMin: 20,
        contract: '0xc748673057861a797275cd8a068abb95a902e8de',
        fetchedAtMs: 5,
        source: 'GET /sapi/v1/capital/config/getall',
      },
      {
        venue: 'binance',
        asset: 'BTC',
        network: 'BTC',
        venueNetwork: 'BTC',
        depositEnabled: true,
        withdrawEnabled: true,
        withdrawFee: 0.0005,
        withdrawMin: 0.001,
        contract: undefined,
        fetchedAtMs: 5,
        source: 'GET /sapi/v1/capital/config/getall',
      },
    ])
    // Only the assets asked for.
    expect(parseBinanceTransfers(body, { assets: ['BTC'], nowMs: 5 }).map((f) => f.asset)).toEqual([
      'BTC',
    ])
  })

  test('nothing left out shows as open', () => {
    const body = [{ coin: 'BTC', networkList: [{ network: 'BTC' }] }]
    const [fact] = parseBinanceTransfers(body, { assets: ['BTC'], nowMs: 1 })
    expect(fact!.depositEnabled).toBeUndefined()
    expect(fact!.withdrawEnabled).toBeUndefined()
    expect(fact!.withdrawFee).toBeUndefined()
    expect(fact!.withdrawMin).toBeUndefined()
    expect(fact!.contract).toBeUndefined()
    expect(() => parseBinanceTransfers({ code: -1 }, { assets: ['BTC'], nowMs: 1 })).toThrow(
      ParseError,
    )
  })

  test('the signed endpoint weighs 10', () => {
    const url = new URL('https://api.binance.com/sapi/v1/capital/config/getall?timestamp=1')
    expect(binance.limits.rest.cost!(url)).toBe(10)
    expect(binance.transfers).toBe(binanceTransfers)
    expect(binanceTransfers.needsKey).toBe(true)
  })

  test('the sim answers the right key with facts, and a withdrawal switched off', async () => {
    const sim = start()
    const facts = await binanceTransfers.fetch(sim.restUrl, fetchOpts(['BTC', 'USDT']))
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
    const again = await binanceTransfers.fetch(sim.restUrl, fetchOpts(['BTC']))
    expect(again).toHaveLength(1)
    expect(again[0]!.withdrawEnabled).toBe(false)
    expect(again[0]!.depositEnabled).toBe(true)
  })

  test('a wrong secret is refused as Binance refuses it (400, -1022)', async () => {
    const sim = start()
    const wrong = { key: SIM_BINANCE_KEY, secret: 'not-the-secret' }
    const err = await binanceTransfers.fetch(sim.restUrl, fetchOpts(['BTC'], wrong)).catch((e) => e)
    expect(err).toBeInstanceOf(ExchangeError)
    expect(err.message).toContain('400')
    expect(err.message).toContain('-1022')
    expect(err.message).not.toContain('not-the-secret')
  })

  test('a wrong key is refused (401, -2015)', async () => {
    const sim = start({ apiKey: 'another-key' })
    const err = await binanceTransfers.fetch(sim.restUrl, fetchOpts(['BTC'])).catch((e) => e)
    expect(err).toBeInstanceOf(ExchangeError)
    expect(err.message).toContain('401')
    expect(err.message).toContain('-2015')
  })
})
