/**
 * The bus encoding (src/bus/codec.ts): pure functions, so plain unit tests. A batch survives the
 * round trip with every level's text intact; anything malformed is a BusDecodeError saying what.
 */
import { describe, expect, test } from 'bun:test'
import {
  bookMessageOf,
  BusDecodeError,
  decodeBatch,
  encodeBatch,
  entryTimeMs,
  levelsOf,
  streamNames,
  wireLevels,
  type BookMessage,
} from '../../src/bus/codec.ts'
import { toLevels } from '../../src/venues/venue.ts'

/** The error `fn` throws (fails the test when it throws nothing). */
function thrown(fn: () => unknown): Error {
  try {
    fn()
  } catch (err) {
    return err as Error
  }
  throw new Error('expected it to throw')
}

const snapshot: BookMessage = {
  t: 's',
  p: 'BTC/USDT',
  q: 42,
  x: 1_700_000_000_000,
  r: 1_700_000_000_005,
  d: 25,
  b: [
    ['60000.10', '0.00001000'],
    ['59999.5', '1'],
  ],
  a: [['60000.20', '12.000']],
}

describe('encodeBatch / decodeBatch', () => {
  test('a batch comes back with its source, number and messages, fields s, k and m', () => {
    const delta: BookMessage = {
      t: 'd',
      p: 'BTC/USDT',
      q: 43,
      r: 1_700_000_000_010,
      b: [['60000.10', '0']],
      a: [],
    }
    const heartbeat: BookMessage = { t: 'h', r: 1_700_000_000_011, c: 2, u: 1 }
    const invalid: BookMessage = { t: 'i', p: 'ETH/USDT', why: 'connection down' }
    const removed: BookMessage = { t: 'r', p: 'SOL/USDT', why: 'delisted' }
    const fields = encodeBatch('ab12cd34', 7, [snapshot, delta, heartbeat, invalid, removed])
    expect(fields.filter((_, i) => i % 2 === 0)).toEqual(['s', 'k', 'm'])
    expect(fields[1]).toBe('ab12cd34')
    expect(fields[3]).toBe('7')
    const back = decodeBatch(fields)
    expect(back).toEqual({
      src: 'ab12cd34',
      k: 7,
      messages: [snapshot, delta, heartbeat, invalid, removed],
    })
    expect(back.messages.map((m) => bookMessageOf(m).t)).toEqual(['s', 'd', 'h', 'i', 'r'])
  })

  test('fields in another order, and unknown fields, are read all the same', () => {
    const [, src, , k, , m] = encodeBatch('src1', 3, [snapshot])
    const back = decodeBatch(['m', m!, 'x', 'ignored', 'k', k!, 's', src!])
    expect(back.src).toBe('src1')
    expect(back.k).toBe(3)
    expect(back.messages).toEqual([snapshot])
  })

  test('levels keep their exact text through the round trip', () => {
    const venueLevels = toLevels([
      ['60000.10', '0.00001000'],
      ['0.000000012', '1000000.0'],
    ])
    const wire = wireLevels(venueLevels)
    expect(wire).toEqual([
      ['60000.10', '0.00001000'],
      ['0.000000012', '1000000.0'],
    ])
    const message = { ...snapshot, b: wire, a: [['1e-7', '5E+3'] as const, ['.5', '2.']] }
    const back = bookMessageOf(decodeBatch(encodeBatch('s', 1, [message])).messages[0])
    expect(back.t).toBe('s')
    if (back.t !== 's') return
    const bids = levelsOf(back.b)
    expect(bids.map((l) => [l.pxText, l.qtyText])).toEqual([
      ['60000.10', '0.00001000'],
      ['0.000000012', '1000000.0'],
    ])
    expect(bids.map((l) => [l.px, l.qty])).toEqual([
      [60000.1, 0.00001],
      [1.2e-8, 1_000_000],
    ])
    // Exponents are allowed by the bus's decimal rule; the text is still kept as it came.
    const asks = levelsOf(back.a)
    expect(asks).toEqual([
      { px: 1e-7, qty: 5000, pxText: '1e-7', qtyText: '5E+3' },
      { px: 0.5, qty: 2, pxText: '.5', qtyText: '2.' },
    ])
  })

  test('an entry without a source or a positive whole batch number is refused, saying so', () => {
    const m = JSON.stringify([snapshot])
    const cases: string[][] = [
      ['k', '1', 'm', m],
      ['s', 'a', 'm', m],
      ['s', 'a', 'k', '0', 'm', m],
      ['s', 'a', 'k', '-3', 'm', m],
      ['s', 'a', 'k', '1.5', 'm', m],
      ['s', 'a', 'k', 'one', 'm', m],
      ['s', 'a', 'k', '', 'm', m],
      ['s', 'a', 'k', '9007199254740993', 'm', m],
    ]
    for (const fields of cases) {
      const err = thrown(() => decodeBatch(fields))
      expect(err).toBeInstanceOf(BusDecodeError)
      expect({ fields, message: err.message }).toEqual({
        fields,
        message: 'entry without a source and batch number',
      })
    }
  })

  test('an entry whose messages are missing, not JSON or not a list is refused, saying so', () => {
    const cases: [string[], string][] = [
      [['s', 'a', 'k', '1'], 'entry without messages'],
      [['s', 'a', 'k', '1', 'm', '[{"t":"h"'], 'entry messages are not JSON'],
      [['s', 'a', 'k', '1', 'm', ''], 'entry messages are not JSON'],
      [['s', 'a', 'k', '1', 'm', '{"t":"h","r":1,"c":0,"u":0}'], 'entry messages are not a list'],
      [['s', 'a', 'k', '1', 'm', '"text"'], 'entry messages are not a list'],
      [['s', 'a', 'k', '1', 'm', 'null'], 'entry messages are not a list'],
    ]
    for (const [fields, message] of cases) {
      const err = thrown(() => decodeBatch(fields))
      expect(err).toBeInstanceOf(BusDecodeError)
      expect(err.name).toBe('BusDecodeError')
      expect(err.message).toBe(message)
    }
  })
})

describe('bookMessageOf', () => {
  test('each kind of message is accepted with what the mirror reads', () => {
    expect(bookMessageOf(snapshot)).toBe(snapshot)
    const noSeq = { t: 'd', p: 'BTC/USDT', r: 1, b: [], a: [] }
    expect(bookMessageOf(noSeq)).toBe(noSeq as BookMessage)
    const hb = { t: 'h', r: 1, c: 0, u: 0 }
    expect(bookMessageOf(hb)).toBe(hb as BookMessage)
  })

  test('a malformed message is a BusDecodeError quoting it', () => {
    const bad: unknown[] = [
      null,
      'text',
      42,
      [],
      {},
      { t: 'x', p: 'BTC/USDT' },
      { t: 's', r: 1, b: [], a: [] },
      { t: 's', p: 'BTC/USDT', b: [], a: [] },
      { t: 's', p: 'BTC/USDT', r: '1', b: [], a: [] },
      { t: 's', p: 'BTC/USDT', r: 1, q: '7', b: [], a: [] },
      { t: 's', p: 'BTC/USDT', r: 1, x: null, b: [], a: [] },
      { t: 's', p: 'BTC/USDT', r: 1, d: 'deep', b: [], a: [] },
      { t: 'd', p: 'BTC/USDT', r: 1, b: {}, a: [] },
      { t: 'd', p: 'BTC/USDT', r: 1, b: [] },
      { t: 'i', p: 'BTC/USDT' },
      { t: 'r', why: 'gone' },
      { t: 'h', r: 1, c: 1 },
      { t: 'h', r: 1, c: '1', u: 1 },
    ]
    for (const m of bad) {
      const err = thrown(() => bookMessageOf(m))
      expect(err).toBeInstanceOf(BusDecodeError)
      const text =
        m === null || typeof m !== 'object' ? /^message is not an object$/ : /^bad message /
      expect({ m, message: err.message }).toEqual({ m, message: expect.stringMatching(text) })
    }
    const long = thrown(() => bookMessageOf({ t: 'd', p: 'BTC/USDT', why: 'x'.repeat(500) }))
    expect(long.message).toStartWith('bad message {"t":"d","p":"BTC/USDT"')
    expect(long.message.length).toBeLessThanOrEqual('bad message '.length + 120)
  })

  test('malformed levels are a BusDecodeError naming the level', () => {
    expect(thrown(() => levelsOf('60000,1')).message).toBe('levels are not a list')
    for (const level of [
      ['60000', 1],
      [60000, '1'],
      ['-1', '1'],
      ['60 000', '1'],
      ['0x10', '1'],
      ['', '1'],
      ['NaN', '1'],
      ['Infinity', '1'],
      ['1e', '1'],
      ['60000'],
      '60000',
      null,
    ]) {
      const err = thrown(() => levelsOf([['1', '1'], level]))
      expect(err).toBeInstanceOf(BusDecodeError)
      expect(err.message).toBe(`bad level ${JSON.stringify(level)}`)
    }
  })
})

describe('entryTimeMs and stream names', () => {
  test("an entry id's milliseconds", () => {
    expect(entryTimeMs('1700000000123-0')).toBe(1_700_000_000_123)
    expect(entryTimeMs('1700000000123-17')).toBe(1_700_000_000_123)
    expect(entryTimeMs('1700000000123')).toBe(1_700_000_000_123)
  })

  test('one stream per venue under the prefix, and one for opportunities', () => {
    const names = streamNames('arb')
    expect(names.books('kraken')).toBe('arb:books:kraken')
    expect(names.opportunities).toBe('arb:opportunities')
  })
})
