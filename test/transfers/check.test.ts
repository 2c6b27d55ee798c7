import { describe, expect, test } from 'bun:test'
import { transferCheck, transferSummary } from '../../src/transfers/check.ts'
import { TransferFacts } from '../../src/transfers/facts.ts'
import type { TransferFact } from '../../src/transfers/types.ts'
import type { Quote } from '../../src/detector/types.ts'
import { quoteAt } from '../support.ts'

const NOW = 10_000_000
const fact = (venue: string, over: Partial<TransferFact> = {}): TransferFact => ({
  venue,
  asset: 'BTC',
  network: 'BTC',
  venueNetwork: 'BTC',
  depositEnabled: true,
  withdrawEnabled: true,
  withdrawFee: 0.0002,
  withdrawMin: 0.001,
  contract: undefined,
  fetchedAtMs: NOW - 1000,
  source: 'GET /test',
  ...over,
})
const name = (v: string) => v[0]!.toUpperCase() + v.slice(1)

describe('transfer check and summary over the kept facts', () => {
  test('the check judges a route from both venues’ facts at the quote’s size and price', () => {
    const facts = new TransferFacts()
    facts.replace('binance', [fact('binance')], NOW)
    facts.replace('kraken', [fact('kraken', { withdrawFee: 0.1 })], NOW)
    const check = transferCheck({ facts, venueName: name, maxAgeMs: 60_000, now: () => NOW })
    const quote: Quote = quoteAt(50, { sizeQuote: 1000, buyPrice: 60_000 })
    const t = check({ asset: 'BTC', buyVenue: 'binance', sellVenue: 'kraken', quote })
    expect(t.status).toBe('transferable')
    // 0.0002 BTC at 60,000 on a 1,000 trade: 120 bps.
    expect(t.feeQuote).toBeCloseTo(12, 9)
    expect(t.netAfterFeeBps).toBeCloseTo(50 - 120, 9)
  })

  test('/status’s line per asset: open, suspended and unknown venues, with why', () => {
    const facts = new TransferFacts()
    facts.replace('binance', [fact('binance')], NOW)
    facts.replace('kraken', [fact('kraken', { withdrawEnabled: false })], NOW)
    facts.replace('okx', [fact('okx', { fetchedAtMs: NOW - 7_200_000 })], NOW)
    facts.needsKey('bybit', 'BYBIT_API_KEY')
    const line = transferSummary(
      facts,
      ['binance', 'kraken', 'okx', 'bybit', 'coinbase'],
      name,
      3_600_000,
      () => NOW,
    )
    expect(line('BTC')).toBe(
      'BTC: open on Binance; suspended on Kraken (withdrawals); unknown on Okx (facts too old), Bybit (needs BYBIT_API_KEY), Coinbase (no facts)',
    )
  })
})
