import { describe, expect, test } from 'bun:test'
import { applySnapshot, createBook } from '../../src/book/book.ts'
import { krakenChecksum } from '../../src/venues/kraken/checksum.ts'
import { okxChecksum } from '../../src/venues/okx/checksum.ts'

const crc32 = (text: string): number => Bun.hash.crc32(text) >>> 0
import { toLevels } from '../../src/venues/venue.ts'

const VEC = `${import.meta.dir}/../fixtures/vectors`

interface Vector {
  id: string
  bids_descending?: [string, string][]
  asks_ascending?: [string, string][]
  checksum_input_string?: string
  expected_checksum_uint32?: number
  expected_checksum_int32_as_sent_by_okx?: number
}

const bookOf = (bids: [string, string][], asks: [string, string][]) => {
  const book = createBook()
  applySnapshot(book, toLevels(bids), toLevels(asks))
  return book
}

describe('checksums against the published vectors', () => {
  test('Kraken docs v1 example', async () => {
    const { vectors } = (await Bun.file(`${VEC}/kraken-checksum.json`).json()) as {
      vectors: Vector[]
    }
    const v = vectors.find((x) => x.id === 'kraken-docs-v1-example')!
    expect(krakenChecksum(bookOf(v.bids_descending!, v.asks_ascending!))).toBe(
      v.expected_checksum_uint32!,
    )
    expect(krakenChecksum(bookOf(v.bids_descending!, v.asks_ascending!))).toBe(974947235)
  })

  test('OKX docs example (fewer than 25 levels, signed)', async () => {
    const { vectors } = (await Bun.file(`${VEC}/okx-checksum.json`).json()) as { vectors: Vector[] }
    for (const v of vectors) {
      const book = bookOf(v.bids_descending!, v.asks_ascending!)
      expect(okxChecksum(book)).toBe(v.expected_checksum_int32_as_sent_by_okx!)
      expect(crc32(v.checksum_input_string!)).toBe(v.expected_checksum_uint32!)
    }
  })

  test('Kraken uses the exact digits: trailing zeros change the checksum', () => {
    const a = bookOf([['100.10', '1.50000000']], [['100.20', '2.0']])
    const b = bookOf([['100.1', '1.5']], [['100.2', '2']])
    expect(krakenChecksum(a)).not.toBe(krakenChecksum(b))
    expect(krakenChecksum(createBook())).toBe(0)
  })

  test('OKX returns a signed value when the CRC has its top bit set', () => {
    let found = false
    for (let i = 0; i < 50 && !found; i++) {
      const book = bookOf([[`${100 + i}.5`, '1']], [[`${200 + i}.5`, '2']])
      const v = okxChecksum(book)
      if (v < 0) found = true
      expect(v).toBe(crc32(`${100 + i}.5:1:${200 + i}.5:2`) | 0)
    }
    expect(found).toBe(true)
  })
})
