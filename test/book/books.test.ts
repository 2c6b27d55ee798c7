import { describe, expect, test } from 'bun:test'
import { Books, type BookProfile } from '../../src/book/books.ts'
import { toLevels, type DeltaEvent, type SnapshotEvent } from '../../src/exchanges/exchange.ts'
import { rows } from '../support.ts'

const REST: BookProfile = { snapshotSource: 'rest' }
const WS: BookProfile = { snapshotSource: 'ws' }

const snap = (
  seq: number | undefined,
  bids: [string, string][],
  asks: [string, string][],
): SnapshotEvent => ({
  type: 'snapshot',
  pair: 'BTC/USDT',
  seq,
  bids: toLevels(bids),
  asks: toLevels(asks),
})
const delta = (
  prevSeq: number | undefined,
  seq: number | undefined,
  bids: [string, string][] = [],
  asks: [string, string][] = [],
): DeltaEvent => ({
  type: 'delta',
  pair: 'BTC/USDT',
  prevSeq,
  seq,
  bids: toLevels(bids),
  asks: toLevels(asks),
})

function setup(profile: BookProfile) {
  const updates: string[] = []
  const books = new Books({ onUpdate: (e) => updates.push(e.pair) })
  books.addVenue('binance', profile, ['BTC/USDT', 'ETH/USDT'])
  return { books, updates, e: books.get('binance', 'BTC/USDT')! }
}

describe('Books: REST-seeded venues (Binance/OKX rules)', () => {
  test('buffers until the snapshot, drops what it already holds, applies the rest', () => {
    const { books, e } = setup(REST)
    expect(books.apply('binance', delta(99, 101, [['10', '1']]), 1)).toEqual(['BTC/USDT'])
    books.apply('binance', delta(101, 103, [['11', '1']]), 2)
    books.apply('binance', delta(103, 104, [['12', '1']]), 3)
    expect(e.state).toBe('syncing')
    expect(books.apply('binance', snap(102, [['9', '1']], [['20', '1']]), 4)).toEqual([])
    expect(e.state).toBe('live')
    expect(e.lastSeq).toBe(104)
    // 101 was inside the snapshot (dropped); 103 straddles 102 and 104 follows.
    expect(rows(e.book.bids)).toEqual([
      ['12', '1'],
      ['11', '1'],
      ['9', '1'],
    ])
  })

  test('a snapshot older than the buffered updates is asked for again, keeping the buffer', () => {
    const { books, e } = setup(REST)
    books.apply('binance', delta(110, 111, [['10', '1']]), 1)
    expect(books.apply('binance', snap(105, [['9', '1']], [['20', '1']]), 2)).toEqual(['BTC/USDT'])
    expect(e.state).toBe('syncing')
    expect(e.buffer).toHaveLength(1)
    books.apply('binance', snap(110, [['9', '1']], [['20', '1']]), 3)
    expect(e.state).toBe('live')
    expect(rows(e.book.bids)).toEqual([
      ['10', '1'],
      ['9', '1'],
    ])
  })

  test('a gap resets only that book and asks for a snapshot', () => {
    const { books, e } = setup(REST)
    books.apply('binance', snap(10, [['9', '1']], [['20', '1']]), 1)
    const other = books.get('binance', 'ETH/USDT')!
    books.apply('binance', { ...snap(5, [['1', '1']], [['2', '1']]), pair: 'ETH/USDT' }, 1)
    expect(books.apply('binance', delta(12, 13), 2)).toEqual(['BTC/USDT'])
    expect(e.state).toBe('syncing')
    expect(e.book.bids).toHaveLength(0)
    expect(e.resyncs).toBe(1)
    expect(e.lastResyncReason).toContain('sequence gap')
    expect(other.state).toBe('live')
  })

  test('stale updates are ignored; OKX keep-alive and maintenance reset are accepted', () => {
    const { books, e } = setup(REST)
    books.apply('binance', snap(10, [['9', '1']], [['20', '1']]), 1)
    books.apply('binance', delta(8, 9, [['5', '1']]), 2) // old
    expect(rows(e.book.bids)).toEqual([['9', '1']])
    books.apply('binance', delta(10, 15, [['9.5', '1']]), 3)
    books.apply('binance', delta(15, 15), 4) // no change for 60 s
    books.apply('binance', delta(15, 3, [['9.6', '1']]), 5) // maintenance reset
    books.apply('binance', delta(3, 5, [['9.7', '1']]), 6)
    expect(e.resyncs).toBe(0)
    expect(e.lastSeq).toBe(5)
    expect(rows(e.book.bids, 1)).toEqual([['9.7', '1']])
  })

  test('timestamp-sequenced updates (Bitstamp): at or before the snapshot are dropped', () => {
    const { books, e } = setup(REST)
    books.apply('binance', delta(undefined, 100, [['8', '1']]), 1)
    books.apply('binance', delta(undefined, 200, [['10', '1']]), 2)
    books.apply('binance', snap(150, [['9', '1']], [['20', '1']]), 3)
    expect(rows(e.book.bids)).toEqual([
      ['10', '1'],
      ['9', '1'],
    ])
  })

  test('a crossed book resyncs and is never live', () => {
    const { books, e, updates } = setup(REST)
    books.apply('binance', snap(1, [['9', '1']], [['20', '1']]), 1)
    expect(books.apply('binance', delta(1, 2, [['25', '1']]), 2)).toEqual(['BTC/USDT'])
    expect(e.state).toBe('syncing')
    expect(updates).toEqual(['BTC/USDT'])
  })
})

describe('Books: socket-seeded venues', () => {
  test('updates before the snapshot are dropped; a reset clears the book', () => {
    const { books, e } = setup(WS)
    expect(books.apply('binance', delta(undefined, undefined, [['10', '1']]), 1)).toEqual([])
    expect(e.book.bids).toHaveLength(0)
    books.apply('binance', snap(undefined, [['9', '1']], [['20', '1']]), 2)
    expect(e.state).toBe('live')
    expect(books.apply('binance', { type: 'reset', reason: 'test' }, 3)).toEqual([
      'BTC/USDT',
      'ETH/USDT',
    ])
    expect(e.state).toBe('syncing')
    expect(e.book.asks).toHaveLength(0)
  })

  test('checksums are verified after applying, and depth is truncated first', () => {
    const books = new Books()
    books.addVenue('kraken', { snapshotSource: 'ws', checksum: 'kraken', maxDepth: 1 }, [
      'BTC/USDT',
    ])
    const e = books.get('kraken', 'BTC/USDT')!
    const s = snap(
      undefined,
      [
        ['9.0', '1.0'],
        ['8.0', '1.0'],
      ],
      [['20.0', '1.0']],
    )
    // CRC over asks then bids of the truncated book: "200" + "10" + "90" + "10".
    books.apply('kraken', { ...s, checksum: Bun.hash.crc32('2001090' + '10') >>> 0 }, 1)
    expect(e.state).toBe('live')
    expect(rows(e.book.bids)).toEqual([['9.0', '1.0']])
    books.apply('kraken', { ...delta(undefined, undefined, [['9.5', '1.0']]), checksum: 123 }, 2)
    expect(e.state).toBe('syncing')
    expect(e.lastResyncReason).toContain('checksum mismatch')
  })

  test('a dropped connection makes live books stale; reconnecting clears them', () => {
    const { books, e } = setup(WS)
    books.apply('binance', snap(undefined, [['9', '1']], [['20', '1']]), 1)
    books.connectionChanged('binance', false, 2)
    expect(e.state).toBe('stale')
    books.connectionChanged('binance', true, 3)
    expect(e.state).toBe('syncing')
    expect(e.book.bids).toHaveLength(0)
  })
})
