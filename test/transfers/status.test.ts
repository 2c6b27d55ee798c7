/**
 * routeTransfer: every status with its line, the cheapest network, stale and missing facts,
 * a missing key naming its env var, a failed endpoint, collisions and asset-level facts.
 */
import { describe, expect, test } from 'bun:test'
import { fmtAge, fmtAmount, routeTransfer, type RouteInput } from '../../src/transfers/status.ts'
import type { TransferFact } from '../../src/transfers/types.ts'

const T0 = 1_796_000_000_000
const NAMES: Record<string, string> = { binance: 'Binance', kraken: 'Kraken', okx: 'OKX' }
const USDT_ETH = '0xdAC17F958D2ee523a2206206994597C13D831ec7'

function fact(over: Partial<TransferFact> & Pick<TransferFact, 'venue' | 'network'>): TransferFact {
  return {
    asset: 'BTC',
    venueNetwork: over.network,
    depositEnabled: true,
    withdrawEnabled: true,
    withdrawFee: undefined,
    withdrawMin: undefined,
    contract: undefined,
    fetchedAtMs: T0 - 60_000,
    source: over.venue === 'kraken' ? 'GET /0/public/Assets' : 'GET /sapi/v1/capital/config/getall',
    ...over,
  }
}

const b = (network: string, over: Partial<TransferFact> = {}) =>
  fact({ venue: 'binance', network, ...over })
const k = (network: string, over: Partial<TransferFact> = {}) =>
  fact({ venue: 'kraken', network, ...over })

function input(over: Partial<RouteInput>): RouteInput {
  return {
    asset: 'BTC',
    buyVenue: 'binance',
    sellVenue: 'kraken',
    buyFacts: [b('BTC', { withdrawFee: 0.0002 })],
    sellFacts: [k('BTC')],
    venueName: (v) => NAMES[v] ?? v,
    sizeQuote: 1000,
    buyPrice: 60_000,
    netBps: 30,
    nowMs: T0,
    maxAgeMs: 30 * 60_000,
    ...over,
  }
}

describe('transferable', () => {
  test('open both ways: network, fee, fee in quote, net after fee, line, provenance', () => {
    const r = routeTransfer(input({}))
    expect(r).toEqual({
      status: 'transferable',
      line: 'Withdraw BTC from Binance: open (BTC) · deposit on Kraken: open · fee 0.0002 BTC',
      network: 'BTC',
      fee: 0.0002,
      feeQuote: 12,
      netAfterFeeBps: 30 - 120,
      collision: false,
      factsAtMs: T0 - 60_000,
      sources: ['GET /0/public/Assets', 'GET /sapi/v1/capital/config/getall'],
    })
  })

  test('the cheapest open network is chosen; unknown fees rank after known ones', () => {
    const r = routeTransfer(
      input({
        asset: 'USDT',
        buyFacts: [
          b('ETH', { asset: 'USDT', withdrawFee: 4 }),
          b('TRX', { asset: 'USDT', withdrawFee: undefined }),
          b('SOL', { asset: 'USDT', withdrawFee: 1, withdrawEnabled: false }),
          b('BSC', { asset: 'USDT', withdrawFee: 0.8 }),
        ],
        sellFacts: [
          k('ETH', { asset: 'USDT' }),
          k('TRX', { asset: 'USDT' }),
          k('SOL', { asset: 'USDT' }),
          k('BSC', { asset: 'USDT', depositEnabled: false }),
        ],
        buyPrice: 1,
      }),
    )
    expect(r.status).toBe('transferable')
    expect(r.network).toBe('ETH')
    expect(r.fee).toBe(4)
    expect(r.netAfterFeeBps).toBeCloseTo(30 - 40, 9)

    const unknownFeeOnly = routeTransfer(
      input({ buyFacts: [b('BTC', { withdrawFee: undefined })], sellFacts: [k('BTC')] }),
    )
    expect(unknownFeeOnly.status).toBe('transferable')
    expect(unknownFeeOnly.line).toEndWith('· fee unknown')
    expect(unknownFeeOnly.fee).toBeUndefined()
    expect(unknownFeeOnly.netAfterFeeBps).toBeUndefined()
  })

  test('asset-level facts (network *) match any network of the other venue', () => {
    const r = routeTransfer(
      input({
        buyFacts: [b('BTC', { withdrawFee: 0.0001 }), b('BSC', { withdrawFee: 0.00001 })],
        sellFacts: [k('*', { venueNetwork: 'XBT' })],
      }),
    )
    expect(r.status).toBe('transferable')
    expect(r.network).toBe('BSC')
    const closed = routeTransfer(input({ sellFacts: [k('*', { depositEnabled: false })] }))
    expect(closed).toMatchObject({
      status: 'blocked',
      side: 'deposit',
      line: 'blocked: deposits of BTC suspended on Kraken',
    })
  })

  test('both legs on one venue: nothing moves', () => {
    const r = routeTransfer(input({ sellVenue: 'binance' }))
    expect(r.status).toBe('transferable')
    expect(r.line).toBe('No transfer: both legs on Binance')
  })
})

describe('blocked', () => {
  test('withdrawals closed on the buy venue, even with the sell side unknown', () => {
    const facts = [b('BTC', { withdrawEnabled: false }), b('BSC', { withdrawEnabled: false })]
    const r = routeTransfer(input({ buyFacts: facts }))
    expect(r).toMatchObject({
      status: 'blocked',
      side: 'withdraw',
      line: 'blocked: withdrawals of BTC suspended on Binance',
      collision: false,
    })
    expect(routeTransfer(input({ buyFacts: facts, sellFacts: undefined })).status).toBe('blocked')
  })

  test('deposits closed on the sell venue', () => {
    const r = routeTransfer(input({ sellFacts: [k('BTC', { depositEnabled: false })] }))
    expect(r).toMatchObject({
      status: 'blocked',
      side: 'deposit',
      line: 'blocked: deposits of BTC suspended on Kraken',
    })
  })

  test('every common network closed on one side or the other', () => {
    const r = routeTransfer(
      input({
        buyFacts: [b('BTC', { withdrawEnabled: false }), b('BSC')],
        sellFacts: [k('BTC'), k('BSC', { depositEnabled: false })],
      }),
    )
    expect(r).toMatchObject({
      status: 'blocked',
      side: 'both',
      line: 'blocked: BTC withdrawals suspended on Binance (BTC) and deposits suspended on Kraken (BSC)',
    })
  })

  test('no network in common', () => {
    const r = routeTransfer(input({ buyFacts: [b('BSC')], sellFacts: [k('BTC'), k('LTC')] }))
    expect(r).toMatchObject({
      status: 'blocked',
      side: 'both',
      line: 'blocked: Binance and Kraken share no network for BTC (Binance: BSC; Kraken: BTC, LTC)',
    })
  })
})

describe('collision', () => {
  test('contracts that differ on every compared network: different tokens, blocked', () => {
    const r = routeTransfer(
      input({
        asset: 'USDT',
        buyFacts: [b('ETH', { asset: 'USDT', contract: USDT_ETH })],
        sellFacts: [
          k('ETH', { asset: 'USDT', contract: '0x1111111111111111111111111111111111111111' }),
        ],
      }),
    )
    expect(r.collision).toBe(true)
    expect(r.status).toBe('blocked')
    expect(r.line).toBe(
      `blocked: different tokens: USDT on ETH is ${USDT_ETH.toLowerCase()} on Binance, ` +
        '0x1111111111111111111111111111111111111111 on Kraken',
    )
  })

  test('EVM contracts compare case-insensitively; a mismatched network is never the route', () => {
    const r = routeTransfer(
      input({
        asset: 'USDT',
        buyFacts: [
          b('ETH', { asset: 'USDT', contract: USDT_ETH, withdrawFee: 5 }),
          b('BSC', { asset: 'USDT', contract: '0xaaaa', withdrawFee: 0.1 }),
        ],
        sellFacts: [
          k('ETH', { asset: 'USDT', contract: USDT_ETH.toLowerCase() }),
          k('BSC', { asset: 'USDT', contract: '0xbbbb' }),
        ],
      }),
    )
    expect(r).toMatchObject({ status: 'transferable', network: 'ETH', collision: false })
  })

  test('contracts given for different networks only are not a collision', () => {
    const r = routeTransfer(
      input({
        asset: 'USDT',
        buyFacts: [b('ETH', { asset: 'USDT', contract: USDT_ETH }), b('TRX', { asset: 'USDT' })],
        sellFacts: [k('ETH', { asset: 'USDT' }), k('TRX', { asset: 'USDT', contract: 'TR7NH' })],
      }),
    )
    expect(r.collision).toBe(false)
    expect(r.status).toBe('transferable')
  })
})

describe('unknown', () => {
  test('a signed endpoint without a key names the env var', () => {
    const r = routeTransfer(
      input({
        buyFacts: undefined,
        keyHint: (v) => (v === 'binance' ? 'BINANCE_API_KEY' : undefined),
      }),
    )
    expect(r).toMatchObject({
      status: 'unknown',
      side: 'withdraw',
      line: "unknown: Binance's withdrawal status needs BINANCE_API_KEY",
    })
    expect(r.network).toBeUndefined()
    // The same from the outcome the refresher records.
    const viaOutcome = routeTransfer(
      input({ sellFacts: undefined, sellOutcome: { missingKey: 'KRAKEN_API_KEY' } }),
    )
    expect(viaOutcome.line).toBe("unknown: Kraken's deposit status needs KRAKEN_API_KEY")
    expect(viaOutcome.side).toBe('deposit')
  })

  test('stale facts are not relied on, and say how old they are', () => {
    const stale = [k('BTC', { fetchedAtMs: T0 - 2 * 3_600_000 })]
    const r = routeTransfer(input({ sellFacts: stale }))
    expect(r).toMatchObject({
      status: 'unknown',
      side: 'deposit',
      line: "unknown: Kraken's facts are 2 h old",
      factsAtMs: T0 - 2 * 3_600_000,
    })
    const failedSince = routeTransfer(
      input({
        sellFacts: stale,
        sellOutcome: { okAtMs: T0 - 2 * 3_600_000, error: 'answered 503', errorAtMs: T0 - 1000 },
      }),
    )
    expect(failedSince.line).toBe(
      "unknown: Kraken's facts are 2 h old (endpoint failed: answered 503)",
    )
  })

  test('a failed endpoint, a fetch not done yet, an asset not listed, both sides', () => {
    const failed = routeTransfer(
      input({ sellFacts: undefined, sellOutcome: { error: 'GET … answered 500', errorAtMs: T0 } }),
    )
    expect(failed.line).toBe("unknown: Kraken's endpoint failed: GET … answered 500")
    const notYet = routeTransfer(input({ buyFacts: undefined }))
    expect(notYet.line).toBe("unknown: Binance's withdrawal status is not fetched yet")
    const notListed = routeTransfer(input({ buyFacts: [], buyOutcome: { okAtMs: T0 } }))
    expect(notListed.line).toBe('unknown: Binance lists no withdrawal facts for BTC')
    const both = routeTransfer(input({ buyFacts: undefined, sellFacts: undefined }))
    expect(both.side).toBe('both')
    expect(both.line).toBe(
      "unknown: Binance's withdrawal status is not fetched yet; Kraken's deposit status is not fetched yet",
    )
    expect(both.sources).toEqual([])
    expect(both.factsAtMs).toBeUndefined()
  })

  test('a flag the venue does not give is unknown, never open', () => {
    const r = routeTransfer(input({ buyFacts: [b('BTC', { withdrawEnabled: undefined })] }))
    expect(r).toMatchObject({
      status: 'unknown',
      side: 'withdraw',
      line: 'unknown: Binance does not say whether BTC withdrawals are open',
    })
  })
})

test('formatting of amounts and ages', () => {
  expect(fmtAmount(0.0002)).toBe('0.0002')
  expect(fmtAmount(1e-8)).toBe('0.00000001')
  expect(fmtAmount(4.123456789)).toBe('4.1234568')
  expect(fmtAge(40_000)).toBe('40 s')
  expect(fmtAge(15 * 60_000)).toBe('15 min')
  expect(fmtAge(2 * 3_600_000)).toBe('2 h')
  expect(fmtAge(3 * 86_400_000)).toBe('3 d')
})
