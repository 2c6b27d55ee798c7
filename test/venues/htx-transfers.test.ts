/**
 * HTX's transfer facts (`GET /v2/reference/currencies`): the docs' example body parsed, then the
 * simulated HTX's endpoint through `htx.transfers.fetch` (defaults, a withdrawal switched off,
 * an HTTP error with Retry-After, a malformed body, an error code). HTX publishes no contract.
 */
import { describe, expect, test } from 'bun:test'
import { htx } from '../../src/venues/htx/index.ts'
import { SimHtx } from '../../src/venues/htx/sim.ts'
import { htxNetwork, parseHtxCurrencies } from '../../src/venues/htx/transfers.ts'
import { ExchangeError } from '../../src/venues/venue.ts'
import { stopAfterEach } from '../support.ts'

const NOW = 1_767_225_600_000
const source = 'GET /v2/reference/currencies'

/**
 * The "APIv2 Currency & Chains" response example (HTX-DOCS, huobiapi docs
 * `source/index.html.md`, English spot v1 docs), its three USDT chains verbatim, with
 * `"code":200` (the example's envelope is elided) and the Omni chain's `withdrawStatus` set to
 * "prohibited" here: the example has no closed chain.
 */
const DOCS_BODY = {
  code: 200,
  data: [
    {
      chains: [
        {
          chain: 'trc20usdt',
          displayName: '',
          baseChain: 'TRX',
          baseChainProtocol: 'TRC20',
          isDynamic: false,
          depositStatus: 'allowed',
          maxTransactFeeWithdraw: '1.00000000',
          maxWithdrawAmt: '280000.00000000',
          minDepositAmt: '100',
          minTransactFeeWithdraw: '0.10000000',
          minWithdrawAmt: '0.01',
          numOfConfirmations: 999,
          numOfFastConfirmations: 999,
          withdrawFeeType: 'circulated',
          withdrawPrecision: 5,
          withdrawQuotaPerDay: '280000.00000000',
          withdrawQuotaPerYear: '2800000.00000000',
          withdrawQuotaTotal: '2800000.00000000',
          withdrawStatus: 'allowed',
        },
        {
          chain: 'usdt',
          displayName: '',
          baseChain: 'BTC',
          baseChainProtocol: 'OMNI',
          isDynamic: false,
          depositStatus: 'allowed',
          maxWithdrawAmt: '19000.00000000',
          minDepositAmt: '0.0001',
          minWithdrawAmt: '2',
          numOfConfirmations: 30,
          numOfFastConfirmations: 15,
          transactFeeRateWithdraw: '0.00100000',
          withdrawFeeType: 'ratio',
          withdrawPrecision: 7,
          withdrawQuotaPerDay: '90000.00000000',
          withdrawQuotaPerYear: '111000.00000000',
          withdrawQuotaTotal: '1110000.00000000',
          withdrawStatus: 'prohibited',
        },
        {
          chain: 'usdterc20',
          displayName: '',
          baseChain: 'ETH',
          baseChainProtocol: 'ERC20',
          isDynamic: false,
          depositStatus: 'allowed',
          maxWithdrawAmt: '18000.00000000',
          minDepositAmt: '100',
          minWithdrawAmt: '1',
          numOfConfirmations: 999,
          numOfFastConfirmations: 999,
          transactFeeWithdraw: '0.10000000',
          withdrawFeeType: 'fixed',
          withdrawPrecision: 6,
          withdrawQuotaPerDay: '180000.00000000',
          withdrawQuotaPerYear: '200000.00000000',
          withdrawQuotaTotal: '300000.00000000',
          withdrawStatus: 'allowed',
        },
      ],
      currency: 'usdt',
      instStatus: 'normal',
    },
  ],
}

const fact = {
  venue: 'htx',
  asset: 'USDT',
  depositEnabled: true,
  contract: undefined,
  fetchedAtMs: NOW,
  source,
}

describe('HTX transfer facts', () => {
  const track = stopAfterEach()

  test('the docs example parses per chain; only a fixed fee is a fee; no contract', () => {
    expect(parseHtxCurrencies(DOCS_BODY, ['USDT'], NOW)).toEqual([
      {
        ...fact,
        network: 'TRX',
        venueNetwork: 'trc20usdt',
        withdrawEnabled: true,
        withdrawFee: undefined,
        withdrawMin: 0.01,
      },
      {
        ...fact,
        network: 'OMNI',
        venueNetwork: 'usdt',
        withdrawEnabled: false,
        withdrawFee: undefined,
        withdrawMin: 2,
      },
      {
        ...fact,
        network: 'ETH',
        venueNetwork: 'usdterc20',
        withdrawEnabled: true,
        withdrawFee: 0.1,
        withdrawMin: 1,
      },
    ])
  })

  test('chain ids without a base chain: the currency is stripped', () => {
    expect(htxNetwork('usdt', { chain: 'trc20usdt' })).toBe('TRX')
    expect(htxNetwork('usdt', { chain: 'usdterc20' })).toBe('ETH')
    expect(htxNetwork('btc', { chain: 'btc' })).toBe('BTC')
    expect(htxNetwork('usdt', { chain: 'usdt', baseChain: 'BTC', baseChainProtocol: 'OMNI' })).toBe(
      'OMNI',
    )
  })

  test('distinct assets are left out; a delisted currency takes no deposits; HTX error codes throw', () => {
    const body = {
      code: 200,
      data: [
        {
          currency: 'get',
          chains: [{ chain: 'get', depositStatus: 'allowed' }],
          instStatus: 'normal',
        },
        {
          currency: 'xyz',
          chains: [{ chain: 'xyz', depositStatus: 'allowed' }],
          instStatus: 'delisted',
        },
      ],
    }
    const facts = parseHtxCurrencies(body, ['GET', 'XYZ'], NOW, {}, htx.distinctAssets)
    expect(facts.map((f) => [f.asset, f.depositEnabled, f.withdrawEnabled])).toEqual([
      ['XYZ', false, undefined],
    ])
    expect(() =>
      parseHtxCurrencies({ code: 500, message: 'error', data: null }, ['X'], NOW),
    ).toThrow(ExchangeError)
  })

  test('the simulated HTX serves every listed asset; a switched-off withdrawal shows', async () => {
    const sim = track(new SimHtx([{ base: 'BTC', quote: 'USDT' }]))
    const opts = {
      fetch,
      signal: new AbortController().signal,
      assets: ['BTC', 'USDT'],
      nowMs: NOW,
    }
    const facts = await htx.transfers!.fetch(sim.restUrl, opts)
    expect(htx.transfers!.needsKey).toBe(false)
    expect(
      facts.map((f) => [
        f.asset,
        f.network,
        f.venueNetwork,
        f.withdrawEnabled,
        f.withdrawFee,
        f.withdrawMin,
      ]),
    ).toEqual([
      ['BTC', 'BTC', 'btc', true, 0.0002, 0.001],
      ['USDT', 'ETH', 'usdterc20', true, 4, 10],
      ['USDT', 'TRX', 'trc20usdt', true, 1, 10],
    ])
    // HTX gives no contract: undefined, never a guess.
    for (const f of facts) expect(f.contract).toBeUndefined()
    sim.transfers.set('BTC', { withdraw: false })
    const after = await htx.transfers!.fetch(sim.restUrl, { ...opts, assets: ['BTC'] })
    expect(after.map((f) => [f.asset, f.withdrawEnabled, f.depositEnabled])).toEqual([
      ['BTC', false, true],
    ])
  })
})
