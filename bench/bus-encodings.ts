/**
 * @module
 * The bus's encoding against alternatives, measured on the same stream entries: each entry's
 * messages (a batch, as the publisher made it) encoded another way, the entry's other fields
 * (`s <src> k <n> m`) kept as they are. Bytes are what the XADD's fields carry; the times are one
 * pass over every batch in this process (encode: from the message objects; decode: back to
 * objects with the levels' texts, what the mirror reads).
 *
 * - `json`: as published (src/bus/codec.ts): levels as the venue's decimal text.
 * - `json, numbers`: levels as JSON numbers. Not exact: a text like `0.50000000` comes back as
 *   `0.5` (the share of level texts that change is given), so the core's book would no longer be
 *   the shard's digit for digit (snapshot comparisons, checksums over the venue's texts).
 * - `compact text`: one line a message, `|`-separated fields, levels `px:qty,px:qty`. Exact.
 * - `json + gzip` / `json + zstd`: the published JSON of the batch compressed (Bun.gzipSync,
 *   Bun.zstdCompressSync at their default levels). Exact; binary fields.
 */
import { gunzipSync } from 'node:zlib'

export interface EntrySample {
  /** The bytes of every field of the XADD (names and values), as published. */
  readonly fieldBytes: number
  /** The `m` field: the batch's JSON. */
  readonly body: string
}

export interface EncodingRow {
  name: string
  bytesPerMessage: number
  /** MB/s (10^6 bytes) of XADD fields at `rate` messages/s. */
  mbPerSec: number
  /** This encoding's bytes over JSON's. */
  vsJson: number
  encodeUsPerMessage: number
  decodeUsPerMessage: number
  exact: boolean
  note?: string
}

type Msg = Record<string, unknown> & { t: string }
type Lvl = [string, string]

interface Encoding {
  readonly name: string
  readonly exact: boolean
  encode(messages: Msg[], json: string): string | Uint8Array
  decode(encoded: string | Uint8Array): unknown[]
}

const utf8 = new TextDecoder()

const num = (v: unknown) => (v === undefined ? '' : String(v))

function compactEncode(messages: Msg[]): string {
  const lines: string[] = new Array(messages.length)
  for (let i = 0; i < messages.length; i++) {
    const m = messages[i]!
    switch (m.t) {
      case 's':
      case 'd': {
        const lv = (side: Lvl[]) => {
          let out = ''
          for (let j = 0; j < side.length; j++) {
            if (j > 0) out += ','
            out += `${side[j]![0]}:${side[j]![1]}`
          }
          return out
        }
        lines[i] =
          `${m.t}|${m.p}|${num(m.q)}|${num(m.x)}|${num(m.r)}|${num(m.d)}|${lv(m.b as Lvl[])}|${lv(m.a as Lvl[])}`
        break
      }
      case 'h':
        lines[i] = `h|${m.r}|${m.c}|${m.u}`
        break
      default:
        lines[i] = `${m.t}|${m.p}|${m.why}`
    }
  }
  return lines.join('\n')
}

function compactDecode(text: string): unknown[] {
  const out: unknown[] = []
  const levels = (s: string): Lvl[] => {
    if (s === '') return []
    const parts = s.split(',')
    const l: Lvl[] = new Array(parts.length)
    for (let i = 0; i < parts.length; i++) {
      const c = parts[i]!.indexOf(':')
      l[i] = [parts[i]!.slice(0, c), parts[i]!.slice(c + 1)]
    }
    return l
  }
  const opt = (s: string | undefined) => (s === undefined || s === '' ? undefined : Number(s))
  for (const line of text.split('\n')) {
    const f = line.split('|')
    if (f[0] === 's' || f[0] === 'd') {
      out.push({
        t: f[0],
        p: f[1],
        q: opt(f[2]),
        x: opt(f[3]),
        r: Number(f[4]),
        d: opt(f[5]),
        b: levels(f[6]!),
        a: levels(f[7]!),
      })
    } else if (f[0] === 'h') out.push({ t: 'h', r: Number(f[1]), c: Number(f[2]), u: Number(f[3]) })
    else out.push({ t: f[0], p: f[1], why: f.slice(2).join('|') })
  }
  return out
}

function withNumbers(messages: Msg[]): unknown[] {
  return messages.map((m) =>
    m.t === 's' || m.t === 'd'
      ? {
          ...m,
          b: (m.b as Lvl[]).map(([p, q]) => [+p, +q]),
          a: (m.a as Lvl[]).map(([p, q]) => [+p, +q]),
        }
      : m,
  )
}

/** Numbers back to text, as a core would have to (`String`): not the venue's text. */
function numbersBack(messages: unknown[]): unknown[] {
  for (const m of messages as Msg[]) {
    if (m.t !== 's' && m.t !== 'd') continue
    m.b = (m.b as number[][]).map(([p, q]) => [String(p), String(q)])
    m.a = (m.a as number[][]).map(([p, q]) => [String(p), String(q)])
  }
  return messages
}

const ENCODINGS: readonly Encoding[] = [
  {
    name: 'json (as published)',
    exact: true,
    encode: (m) => JSON.stringify(m),
    decode: (e) => JSON.parse(e as string) as unknown[],
  },
  {
    name: 'json, levels as numbers',
    exact: false,
    encode: (m) => JSON.stringify(withNumbers(m)),
    decode: (e) => numbersBack(JSON.parse(e as string) as unknown[]),
  },
  {
    name: 'compact text',
    exact: true,
    encode: (m) => compactEncode(m),
    decode: (e) => compactDecode(e as string),
  },
  {
    name: 'json + gzip',
    exact: true,
    encode: (_, json) => Bun.gzipSync(json),
    decode: (e) => JSON.parse(utf8.decode(gunzipSync(e as Uint8Array))) as unknown[],
  },
  {
    name: 'json + zstd',
    exact: true,
    encode: (_, json) => Bun.zstdCompressSync(json),
    decode: (e) => JSON.parse(utf8.decode(Bun.zstdDecompressSync(e as Uint8Array))) as unknown[],
  },
]

const size = (e: string | Uint8Array) => (typeof e === 'string' ? Buffer.byteLength(e) : e.length)

/** Share of the level texts of `s` and `d` messages that `String(Number(text))` changes. */
function changedTexts(batches: readonly Msg[][]): number {
  let all = 0
  let changed = 0
  for (const b of batches) {
    for (const m of b) {
      if (m.t !== 's' && m.t !== 'd') continue
      for (const side of [m.b, m.a] as Lvl[][]) {
        for (const [p, q] of side) {
          all += 2
          if (String(+p) !== p) changed++
          if (String(+q) !== q) changed++
        }
      }
    }
  }
  return all === 0 ? 0 : changed / all
}

/**
 * Every encoding over `entries` (the batches as published): bytes per message and MB/s at `rate`
 * messages/s, and the time to encode and decode them in this process.
 */
export function measureEncodings(entries: readonly EntrySample[], rate: number): EncodingRow[] {
  const batches = entries.map((e) => JSON.parse(e.body) as Msg[])
  const messages = batches.reduce((n, b) => n + b.length, 0)
  const rows: EncodingRow[] = []
  let jsonBytes = 0
  for (const enc of ENCODINGS) {
    // Warm up on a share of the batches, then one timed pass of each direction.
    for (let i = 0; i < Math.min(500, batches.length); i++) {
      enc.decode(enc.encode(batches[i]!, entries[i]!.body))
    }
    const encoded: (string | Uint8Array)[] = new Array(batches.length)
    let t0 = Bun.nanoseconds()
    for (let i = 0; i < batches.length; i++) encoded[i] = enc.encode(batches[i]!, entries[i]!.body)
    const encodeNs = Bun.nanoseconds() - t0
    t0 = Bun.nanoseconds()
    let sink = 0
    for (let i = 0; i < encoded.length; i++) sink += enc.decode(encoded[i]!).length
    const decodeNs = Bun.nanoseconds() - t0
    if (sink !== messages) throw new Error(`${enc.name}: decoded ${sink} of ${messages} messages`)
    let bytes = 0
    for (let i = 0; i < entries.length; i++) {
      bytes += entries[i]!.fieldBytes - Buffer.byteLength(entries[i]!.body) + size(encoded[i]!)
    }
    if (rows.length === 0) jsonBytes = bytes
    const perMessage = bytes / messages
    rows.push({
      name: enc.name,
      bytesPerMessage: perMessage,
      mbPerSec: (perMessage * rate) / 1e6,
      vsJson: bytes / jsonBytes,
      encodeUsPerMessage: encodeNs / messages / 1000,
      decodeUsPerMessage: decodeNs / messages / 1000,
      exact: enc.exact,
      note: enc.exact
        ? undefined
        : `${(changedTexts(batches) * 100).toFixed(0)} % of level texts come back different`,
    })
  }
  return rows
}
