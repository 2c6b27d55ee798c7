import { describe, expect, test } from 'bun:test'
import { formatAlert } from '../../src/alerts/format.ts'
import { toRecord } from '../../src/detector/record.ts'
import type { Opportunity } from '../../src/detector/types.ts'
import { crossAt, quoteAt } from '../support.ts'

/** An open cross-quote route: buy BTC/USDT on Binance, sell BTC/USD on Kraken, buy USDT/USD. */
const crossQuote = (): Opportunity => {
  const quote = quoteAt(42, {
    buyPrice: 60_000,
    sellPrice: 60_500,
    feeBps: 62,
    buyAgeMs: 1_000,
    sellAgeMs: 3_000,
    legs: [
      { venue: 'binance', market: 'BTC/USDT', side: 'buy', price: 60_000 },
      { venue: 'kraken', market: 'BTC/USD', side: 'sell', price: 60_500 },
      { venue: 'kraken', market: 'USDT/USD', side: 'buy', price: 1.001 },
    ],
  })
  return {
    ...crossAt(42),
    id: 'cross-quote:BTC/USDT>BTC/USD:binance>kraken:1',
    kind: 'cross-quote',
    symbol: 'BTC/USDT>BTC/USD',
    open: quote,
    last: quote,
  }
}

describe('alert text', () => {
  test('a cross-quote route lists its buy, its sell and the conversion leg, sized in USDT', () => {
    const text = formatAlert(toRecord(crossQuote()), { netBps: 42, sizeQuote: 1000 }, 1)
    expect(text.title).toBe('BTC/USDT>BTC/USD: buy Binance, sell Kraken, net 0.42%')
    expect(text.lines.slice(0, 4)).toEqual([
      '1. Buy BTC/USDT on Binance at 60,000.00 (quote 1.0 s old)',
      '2. Sell BTC/USD on Kraken at 60,500.00',
      '3. Convert USD→USDT on Kraken (buy USDT/USD at 1.0010)',
      'Sell and conversion quotes up to 3.0 s old',
    ])
    expect(text.lines).toContain('Size 1,000.00 USDT: est. profit 4.20 USDT')
    expect(text.lines).toContain('Net 0.42% after fees (0.62% taker in total), gross 0.62%')
  })

  test('a conversion book listed the other way round reads as a sale', () => {
    const o = crossQuote()
    const legs = o.last.legs!
    o.last = {
      ...o.last,
      legs: [
        legs[0]!,
        legs[1]!,
        { venue: 'kraken', market: 'USD/USDT', side: 'sell', price: 0.999 },
      ],
    }
    const text = formatAlert(toRecord(o), { netBps: 42, sizeQuote: 1000 }, 1)
    expect(text.lines[2]).toBe('3. Convert USD→USDT on Kraken (sell USD/USDT at 0.999000)')
  })

  test('cross and triangle alerts keep their shape', () => {
    const cross = formatAlert(toRecord(crossAt(42)), { netBps: 42, sizeQuote: 1000 }, 1)
    expect(cross.title).toBe('BTC/USDT: buy Binance, sell Kraken, net 0.42%')
    expect(cross.lines).toContain('Size 1,000.00 USDT: est. profit 4.20 USDT')
    const quote = quoteAt(42, {
      legs: [
        { venue: 'okx', market: 'BTC/USDT', side: 'buy', price: 50_000 },
        { venue: 'okx', market: 'ETH/BTC', side: 'buy', price: 0.05 },
        { venue: 'okx', market: 'ETH/USDT', side: 'sell', price: 2_600 },
      ],
    })
    const triangle: Opportunity = {
      ...crossAt(42),
      kind: 'triangle',
      symbol: 'USDT>BTC>ETH>USDT',
      buyVenue: 'okx',
      sellVenue: 'okx',
      open: quote,
      last: quote,
    }
    const t = formatAlert(toRecord(triangle), { netBps: 42, sizeQuote: 1000 }, 1)
    expect(t.title).toBe('Triangle on OKX: USDT>BTC>ETH>USDT, net 0.42%')
    expect(t.lines[0]).toBe('1. Buy BTC/USDT at 50,000.00')
    expect(t.lines).toContain('Size 1,000.00 USDT: est. profit 4.20 USDT')
  })
})

describe('alert text: the transfer line', () => {
  const blocked = {
    ...crossAt(42),
    transfer: {
      status: 'blocked' as const,
      line: 'Withdraw BTC from Binance: suspended · deposit on Kraken: open',
      side: 'withdraw' as const,
      collision: false,
      sources: ['GET /sapi/v1/capital/config/getall'],
    },
  }
  test('shows the status and why, and says the net assumes balances on both venues', () => {
    const text = formatAlert(toRecord(blocked), { netBps: 42, sizeQuote: 1000 }, 1)
    expect(text.lines).toContain(
      'Transfer BLOCKED: Withdraw BTC from Binance: suspended · deposit on Kraken: open',
    )
    expect(text.lines).toContain('The net assumes balances already on both venues')
  })
  test('a transferable route gives the net after the withdrawal fee; /transfer off hides it', () => {
    const ok = {
      ...blocked,
      transfer: {
        status: 'transferable' as const,
        line: 'Withdraw BTC from Binance: open (BTC) · deposit on Kraken: open · fee 0.0002 BTC',
        network: 'BTC',
        fee: 0.0002,
        feeQuote: 12,
        netAfterFeeBps: 30,
        collision: false,
        sources: [],
      },
    }
    const shown = formatAlert(toRecord(ok), { netBps: 42, sizeQuote: 1000 }, 1).lines
    expect(shown).toContain('Net after that withdrawal fee: 0.30%')
    const hidden = formatAlert(toRecord(ok), { netBps: 42, sizeQuote: 1000, transfer: 'off' }, 1)
    expect(hidden.lines.some((l) => l.startsWith('Transfer'))).toBe(false)
  })
})

describe('alert text: one set of numbers per message', () => {
  test('an edit recomputes every line from the current net: title, net, profit and footer agree', () => {
    const o = crossAt(42)
    // It opened at 0.42 % and has moved to 0.18 %.
    const now = { ...o, last: quoteAt(18), updatedAtMs: o.openedAtMs + 5000 }
    const text = formatAlert(toRecord(now), { netBps: 42, sizeQuote: 1000 }, o.openedAtMs + 6000)
    expect(text.title).toContain('net 0.18%')
    expect(text.lines).toContain('Net 0.18% after fees (0.20% taker in total), gross 0.38%')
    expect(text.lines).toContain('Size 1,000.00 USDT: est. profit 1.80 USDT')
    // The opening's 0.42 % is only the peak now.
    expect(text.footer).toBe('Open for 6 s, peak 0.42%, now 0.18%')
    expect(JSON.stringify(text).split('0.42%')).toHaveLength(2)
  })

  test('a chat trading its own size keeps its opening net, and says the figure is from then', () => {
    const o = crossAt(42)
    const now = { ...o, last: quoteAt(18), updatedAtMs: o.openedAtMs + 5000 }
    const text = formatAlert(toRecord(now), { netBps: 30, sizeQuote: 5000 }, o.openedAtMs + 6000)
    expect(text.lines).toContain(
      'Size 5,000.00 USDT: est. profit 15.00 USDT (your size, as it opened)',
    )
  })
})

describe('alert text: what a trader acts on', () => {
  test('quote ages in ms under a second, the detection time, and that prices are size-weighted', () => {
    const o = { ...crossAt(42), open: quoteAt(42, { buyAgeMs: 249, sellAgeMs: 1480 }) }
    o.last = o.open
    const text = formatAlert(toRecord(o), { netBps: 42, sizeQuote: 1000 }, o.openedAtMs)
    expect(text.lines).toContain('Buy on Binance at 100.0000 (quote 249 ms old)')
    expect(text.lines).toContain('Sell on Kraken at 101.0000 (quote 1.5 s old)')
    const when = new Date(o.openedAtMs).toISOString().replace('T', ' ').slice(0, 23)
    expect(text.lines).toContain(
      `Prices are size-weighted averages over the books at 1,000.00 USDT; detected ${when} UTC`,
    )
  })
})

describe('alert text: fees', () => {
  test('each venue’s taker fee is named, from the configured fees', () => {
    const text = formatAlert(toRecord(crossAt(42)), { netBps: 42, sizeQuote: 1000 }, 1, {
      feeBps: { binance: 10, kraken: 40 },
    })
    expect(text.lines).toContain('Taker fees: Binance 0.10%, Kraken 0.40%')
  })
})

describe('alert text: the link', () => {
  test('with PUBLIC_URL, each alert links to its opportunity page', () => {
    const o = crossAt(42)
    const text = formatAlert(toRecord(o), { netBps: 42, sizeQuote: 1000 }, 1, {
      publicUrl: 'https://arbwatch.fly.dev',
    })
    expect(text.lines).toContain(
      `Details: https://arbwatch.fly.dev/?opportunity=${encodeURIComponent(o.id)}`,
    )
    expect(text.lines).toContain(`The arithmetic: /explain ${o.id}`)
    const without = formatAlert(toRecord(o), { netBps: 42, sizeQuote: 1000 }, 1)
    expect(without.lines.some((l) => l.startsWith('Details:'))).toBe(false)
  })
})
