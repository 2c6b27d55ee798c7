import { describe, expect, test } from 'bun:test'
import { formatAlert, formatGroup } from '../../src/alerts/format.ts'
import { toRecord } from '../../src/detector/record.ts'
import type { Opportunity } from '../../src/detector/types.ts'
import { crossAt, FLAT_FEES, quoteAt } from '../support.ts'

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

describe('alert text: the largest profitable size at the chat’s own threshold', () => {
  // The record's own figure (quoteAt: 5,000 USDT for 1 USDT) is at MIN_SPREAD_PCT.
  const at = (thresholdBps: number, maxSizeQuote?: number, maxProfitQuote?: number) => ({
    netBps: 42,
    sizeQuote: 1000,
    thresholdBps,
    maxSizeQuote,
    maxProfitQuote,
  })
  const largest = (lines: readonly string[]) => lines.filter((l) => l.startsWith('Largest'))

  test('two chats with their own thresholds see their own figures, naming the threshold', () => {
    const r = toRecord(crossAt(42))
    expect(largest(formatAlert(r, at(50, 12_345, 61.23), 1).lines)).toEqual([
      'Largest profitable size at your 0.50% threshold: 12,345.00 USDT (est. 61.23 USDT)',
    ])
    expect(largest(formatAlert(r, at(20, 30_000, 90), 1).lines)).toEqual([
      'Largest profitable size at your 0.20% threshold: 30,000.00 USDT (est. 90.00 USDT)',
    ])
  })

  test('a chat at MIN_SPREAD_PCT sees the record’s figure, which every edit recomputes', () => {
    const o = crossAt(42)
    expect(largest(formatAlert(toRecord(o), at(10), 1).lines)).toEqual([
      'Largest profitable size at your 0.10% threshold: 5,000.00 USDT (est. 1.00 USDT)',
    ])
    const now = {
      ...o,
      last: quoteAt(18, { maxSizeQuote: 2500, maxProfitQuote: 0.4 }),
      updatedAtMs: o.openedAtMs + 5000,
    }
    expect(largest(formatAlert(toRecord(now), at(10), o.openedAtMs + 6000).lines)).toEqual([
      'Largest profitable size at your 0.10% threshold: 2,500.00 USDT (est. 0.40 USDT)',
    ])
  })

  test('edited, a chat with its own threshold keeps its opening figure and says so; the other lines are current', () => {
    const o = crossAt(42)
    const now = {
      ...o,
      last: quoteAt(18, { maxSizeQuote: 2500, maxProfitQuote: 0.4 }),
      updatedAtMs: o.openedAtMs + 5000,
    }
    const text = formatAlert(toRecord(now), at(30, 1200, 3.6), o.openedAtMs + 6000)
    expect(text.title).toContain('net 0.18%')
    expect(text.lines).toContain('Size 1,000.00 USDT: est. profit 1.80 USDT')
    expect(largest(text.lines)).toEqual([
      'Largest profitable size at your 0.30% threshold: 1,200.00 USDT (est. 3.60 USDT, as it opened)',
    ])
    const closed = { ...now, closedAtMs: o.openedAtMs + 7000, closeReason: 'gone' }
    expect(largest(formatAlert(toRecord(closed), at(30, 1200, 3.6), 8000).lines)).toEqual([
      'Largest profitable size at your 0.30% threshold: 1,200.00 USDT (est. 3.60 USDT, as it opened)',
    ])
  })

  test('a delivery written before its threshold was kept shows the record’s figure, naming none', () => {
    const text = formatAlert(toRecord(crossAt(42)), { netBps: 42, sizeQuote: 1000 }, 1)
    expect(largest(text.lines)).toEqual(['Largest profitable size: 5,000.00 USDT (est. 1.00 USDT)'])
    const nulls = { netBps: 42, sizeQuote: 1000, thresholdBps: null, maxSizeQuote: null }
    expect(largest(formatAlert(toRecord(crossAt(42)), nulls, 1).lines)).toEqual([
      'Largest profitable size: 5,000.00 USDT (est. 1.00 USDT)',
    ])
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

describe('alert text: one message for the related openings of a pass', () => {
  /** Buy Binance, sell `sell` at `sellPrice`, quoted at `netBps`. */
  const route = (sell: string, netBps: number, sellPrice: number): Opportunity => ({
    ...crossAt(netBps),
    id: `cross:BTC/USDT:binance>${sell}:1000`,
    sellVenue: sell,
    openedAtMs: 1000,
    updatedAtMs: 1000,
    open: quoteAt(netBps, { buyPrice: 60_000, sellPrice }),
    last: quoteAt(netBps, { buyPrice: 60_000, sellPrice }),
  })
  const member = (o: Opportunity, netBps = o.last.netBps, sizeQuote = 1000) => ({
    record: toRecord(o),
    quote: { netBps, sizeQuote },
  })

  test('the moving venue and the market in the title; one line per route, best first', () => {
    const members = [
      member(route('kraken', 30, 60_300)),
      member(route('okx', 55, 60_450)),
      member(route('bybit', 41, 60_380)),
    ]
    const text = formatGroup(members, { side: 'buy', venue: 'binance' }, 13_000, {
      feeBps: FLAT_FEES,
    })
    expect(text.title).toBe('BTC/USDT: buy Binance, sell on OKX, Bybit and Kraken, best net 0.55%')
    expect(text.lines.slice(0, 4)).toEqual([
      '1. Sell on OKX at 60,450.00: net 0.55%, size 1,000.00 USDT, est. profit 5.50 USDT, largest profitable size 5,000.00 USDT (est. 1.00 USDT)',
      '2. Sell on Bybit at 60,380.00: net 0.41%, size 1,000.00 USDT, est. profit 4.10 USDT, largest profitable size 5,000.00 USDT (est. 1.00 USDT)',
      '3. Sell on Kraken at 60,300.00: net 0.30%, size 1,000.00 USDT, est. profit 3.00 USDT, largest profitable size 5,000.00 USDT (est. 1.00 USDT)',
      'Buy on Binance at 60,000.00 (quote 1 ms old)',
    ])
    expect(text.lines).toContain('Taker fees: Binance 0.10%, OKX 0.10%, Bybit 0.10%, Kraken 0.10%')
    expect(text.lines).toContain(
      'The arithmetic: /explain cross:BTC/USDT:binance>okx:1000 (1), /explain cross:BTC/USDT:binance>bybit:1000 (2), /explain cross:BTC/USDT:binance>kraken:1000 (3)',
    )
    expect(text.footer).toBe('Open for 12 s, 3 of 3 routes open, peak 0.55%')
    expect(text.tone).toBe('open')
  })

  test('edited as members update and close: closed ones go last; all closed, the message is', () => {
    const okx = route('okx', 55, 60_450)
    const kraken = route('kraken', 30, 60_300)
    const last = quoteAt(4, { buyPrice: 60_000, sellPrice: 60_010 })
    const closed = { ...okx, last, closedAtMs: 6000, closeReason: 'gone' }
    const text = formatGroup(
      [member(closed), member(kraken)],
      { side: 'buy', venue: 'binance' },
      13_000,
    )
    expect(text.lines.slice(0, 2)).toEqual([
      '1. Sell on Kraken at 60,300.00: net 0.30%, size 1,000.00 USDT, est. profit 3.00 USDT, largest profitable size 5,000.00 USDT (est. 1.00 USDT)',
      '2. Sell on OKX at 60,010.00: closed after 5 s, peak 0.55%',
    ])
    expect(text.footer).toBe('Open for 12 s, 1 of 2 routes open, peak 0.55%')
    const both = formatGroup(
      [member(closed), member({ ...kraken, closedAtMs: 9000, closeReason: 'gone' })],
      { side: 'buy', venue: 'binance' },
      13_000,
    )
    expect(both.title).toStartWith('Closed: BTC/USDT: buy Binance, sell on OKX and Kraken')
    expect(both.footer).toBe('Closed after 8 s, peak 0.55%')
    expect(both.tone).toBe('closed')
  })

  test('a venue whose bid rose: sell there, buy on the others; a chat’s own size keeps its net', () => {
    const a = { ...route('kraken', 30, 60_300), id: 'a', buyVenue: 'okx' }
    const b = { ...route('kraken', 45, 60_300), id: 'b', buyVenue: 'bybit' }
    const text = formatGroup(
      [member(a, 28, 5000), member(b, 44, 5000)],
      { side: 'sell', venue: 'kraken' },
      2000,
    )
    expect(text.title).toBe('BTC/USDT: sell Kraken, buy on Bybit and OKX, best net 0.44%')
    expect(text.lines[0]).toBe(
      '1. Buy on Bybit at 60,000.00: net 0.44%, size 5,000.00 USDT, est. profit 22.00 USDT, largest profitable size 5,000.00 USDT (est. 1.00 USDT)',
    )
    expect(text.lines).toContain('Sell on Kraken at 60,300.00 (quote 2 ms old)')
    expect(text.lines).toContain('Nets at your size are as they opened')
  })

  test('each route’s largest profitable size at the chat’s threshold, named once; kept from the opening on edits', () => {
    const okx = route('okx', 55, 60_450)
    const kraken = route('kraken', 30, 60_300)
    const own = (o: Opportunity, maxSizeQuote: number, maxProfitQuote: number) => ({
      record: toRecord(o),
      quote: {
        netBps: o.last.netBps,
        sizeQuote: 1000,
        thresholdBps: 25,
        maxSizeQuote,
        maxProfitQuote,
      },
    })
    const text = formatGroup(
      [own(kraken, 800, 0.4), own(okx, 9000, 27)],
      { side: 'buy', venue: 'binance' },
      2000,
    )
    expect(text.lines.slice(0, 2)).toEqual([
      '1. Sell on OKX at 60,450.00: net 0.55%, size 1,000.00 USDT, est. profit 5.50 USDT, largest profitable size 9,000.00 USDT (est. 27.00 USDT)',
      '2. Sell on Kraken at 60,300.00: net 0.30%, size 1,000.00 USDT, est. profit 3.00 USDT, largest profitable size 800.00 USDT (est. 0.40 USDT)',
    ])
    expect(text.lines).toContain('Largest profitable sizes at your 0.25% threshold')
    // OKX updated: its net is current, its largest size the chat's from the opening.
    const moved = {
      ...okx,
      last: quoteAt(40, { buyPrice: 60_000, sellPrice: 60_400 }),
      updatedAtMs: 1500,
    }
    const edited = formatGroup(
      [own(kraken, 800, 0.4), own(moved, 9000, 27)],
      { side: 'buy', venue: 'binance' },
      2000,
    )
    expect(edited.lines[0]).toStartWith('1. Sell on OKX at 60,400.00: net 0.40%')
    expect(edited.lines[0]).toEndWith('largest profitable size 9,000.00 USDT (est. 27.00 USDT)')
    expect(edited.lines).toContain(
      'Largest profitable sizes at your 0.25% threshold, as they opened',
    )
    // A chat at MIN_SPREAD_PCT: the records' current figures.
    const plain = formatGroup(
      [
        { record: toRecord(moved), quote: { netBps: 55, sizeQuote: 1000, thresholdBps: 10 } },
        { record: toRecord(kraken), quote: { netBps: 30, sizeQuote: 1000, thresholdBps: 10 } },
      ],
      { side: 'buy', venue: 'binance' },
      2000,
    )
    expect(plain.lines[0]).toEndWith('largest profitable size 5,000.00 USDT (est. 1.00 USDT)')
    expect(plain.lines).toContain('Largest profitable sizes at your 0.10% threshold')
  })
})
