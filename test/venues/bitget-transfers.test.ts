/**
 * Bitget's transfer facts (`GET /api/v2/spot/public/coins`): the docs' example body parsed, then
 * the simulated Bitget's endpoint through `bitget.transfers.fetch` (defaults, a withdrawal
 * switched off, an HTTP error with Retry-After, a malformed body, an error code in a 200).
 */
import { describe, expect, test } from 'bun:test'
import { bitget } from '../../src/venues/bitget/index.ts'
import { SimBitget } from '../../src/venues/bitget/sim.ts'
import { parseBitgetCoins } from '../../src/venues/bitget/transfers.ts'
import { ExchangeError } from '../../src/venues/venue.ts'
import { stopAfterEach } from '../support.ts'

const NOW = 1_767_225_600_000
const source = 'GET /api/v2/spot/public/coins'

/**
 * `data[0]` is the "Response Example" of Bitget's "Get Currency Information"
 * (www.bitget.com/api-doc/spot/public/Get-Coin-List), verbatim; `data[1]` the NEIROETH row
 * ccxt bitget.js `fetchCurrencies` documents from a real answer (an ERC-20 contract), with
 * `withdrawable` switched to "false" here: neither example has a closed withdrawal.
 */
const DOCS_BODY = {
  code: '00000',
  msg: 'success',
  data: [
    {
      coinId: '1',
      coin: 'BTC',
      transfer: 'true',
      chains: [
        {
          chain: 'BTC',
          needTag: 'false',
          withdrawable: 'true',
          rechargeable: 'true',
          withdrawFee: '0.005',
          extraWithdrawFee: '0',
          depositConfirm: '1',
          withdrawConfirm: '1',
          minDepositAmount: '0.001',
          minWithdrawAmount: '0.001',
          browserUrl: 'https://blockchair.com/bitcoin/testnet/transaction/',
        },
      ],
    },
    {
      coinId: '1456',
      coin: 'NEIROETH',
      transfer: 'false',
      chains: [
        {
          chain: 'ERC20',
          needTag: 'false',
          withdrawable: 'false',
          rechargeable: 'true',
          withdrawFee: '44.91017965',
          extraWithdrawFee: '0',
          depositConfirm: '12',
          withdrawConfirm: '64',
          minDepositAmount: '0.06',
          minWithdrawAmount: '60',
          browserUrl: 'https://etherscan.io/tx/',
          contractAddress: '0xee2a03aa6dacf51c18679c516ad5283d8e7c2637',
          withdrawStep: '0',
          withdrawMinScale: '8',
          congestion: 'normal',
        },
      ],
      areaCoin: 'no',
    },
  ],
}

describe('Bitget transfer facts', () => {
  const track = stopAfterEach()

  test('the docs example parses to one fact per chain', () => {
    expect(parseBitgetCoins(DOCS_BODY, ['BTC', 'NEIROETH'], NOW)).toEqual([
      {
        venue: 'bitget',
        asset: 'BTC',
        network: 'BTC',
        venueNetwork: 'BTC',
        depositEnabled: true,
        withdrawEnabled: true,
        withdrawFee: 0.005,
        withdrawMin: 0.001,
        contract: undefined,
        fetchedAtMs: NOW,
        source,
      },
      {
        venue: 'bitget',
        asset: 'NEIROETH',
        network: 'ETH',
        venueNetwork: 'ERC20',
        depositEnabled: true,
        withdrawEnabled: false,
        withdrawFee: 44.91017965,
        withdrawMin: 60,
        contract: '0xee2a03aa6dacf51c18679c516ad5283d8e7c2637',
        fetchedAtMs: NOW,
        source,
      },
    ])
  })

  test('an extra (proportional) charge leaves the fee unknown; missing flags stay undefined', () => {
    const body = {
      code: '00000',
      data: [
        { coin: 'X', chains: [{ chain: 'ERC20', withdrawFee: '1', extraWithdrawFee: '0.1' }] },
      ],
    }
    const [f] = parseBitgetCoins(body, ['X'], NOW)
    expect(f!.withdrawFee).toBeUndefined()
    expect(f!.withdrawEnabled).toBeUndefined()
    expect(f!.depositEnabled).toBeUndefined()
    expect(() => parseBitgetCoins({ code: '40034', msg: 'bad', data: null }, ['X'], NOW)).toThrow(
      ExchangeError,
    )
  })

  test('the simulated Bitget serves every listed asset; a switched-off withdrawal shows', async () => {
    const sim = track(new SimBitget([{ base: 'BTC', quote: 'USDT' }]))
    const opts = {
      fetch,
      signal: new AbortController().signal,
      assets: ['BTC', 'USDT'],
      nowMs: NOW,
    }
    const facts = await bitget.transfers!.fetch(sim.restUrl, opts)
    expect(bitget.transfers!.needsKey).toBe(false)
    expect(
      facts.map((f) => [
        f.asset,
        f.network,
        f.venueNetwork,
        f.withdrawEnabled,
        f.withdrawFee,
        f.contract,
      ]),
    ).toEqual([
      ['BTC', 'BTC', 'BTC', true, 0.0002, undefined],
      ['USDT', 'ETH', 'ERC20', true, 4, '0xdac17f958d2ee523a2206206994597c13d831ec7'],
      ['USDT', 'TRX', 'TRC20', true, 1, 'TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6t'],
    ])
    sim.transfers.set('BTC', { withdraw: false })
    const after = await bitget.transfers!.fetch(sim.restUrl, { ...opts, assets: ['BTC'] })
    expect(after.map((f) => [f.asset, f.withdrawEnabled, f.depositEnabled])).toEqual([
      ['BTC', false, true],
    ])
  })
})
