/**
 * Helpers for the venues' fast-path tests: a venue's parser (scanner first, then `JSON.parse`)
 * against its `JSON.parse` path alone, over the same frames, compared event by event, thrown
 * errors included; and malformed variants of a frame.
 */
import { expect } from 'bun:test'
import type { FrameParser, VenueEvent } from '../../src/venues/venue.ts'

/** What a parser made of one frame: its events, or the error it threw. */
type Outcome =
  | { readonly events: VenueEvent[] }
  | { readonly error: { name: string; kind?: string; message: string; pair?: string } }

function outcome(parse: FrameParser, raw: string): Outcome {
  try {
    return { events: parse(raw, 0) }
  } catch (err) {
    const e = err as { name: string; kind?: string; message: string; pair?: string }
    return { error: { name: e.name, kind: e.kind, message: e.message, pair: e.pair } }
  }
}

/**
 * Feeds `frames` in order to `parser` and to `reference` and expects the same outcome for every
 * one, strictly (undefined members included). `fast` is the scanner alone, run on its own
 * (stateless venues) to count the frames it read itself; at least `minFast` of them must be.
 * Returns how many the scanner read.
 */
export function expectSameAsJsonPath(
  frames: readonly string[],
  parser: FrameParser,
  reference: FrameParser,
  {
    fast,
    minFast = 0,
  }: { fast?: (raw: string) => VenueEvent[] | undefined; minFast?: number } = {},
): number {
  const differ: string[] = []
  let scanned = 0
  for (const raw of frames) {
    const a = outcome(parser, raw)
    const b = outcome(reference, raw)
    if (!Bun.deepEquals(a, b, true) && differ.length < 3) {
      differ.push(
        `${raw.slice(0, 160)}\n  fast path: ${JSON.stringify(a).slice(0, 300)}\n  JSON.parse: ${JSON.stringify(b).slice(0, 300)}`,
      )
    }
    if (fast?.(raw) !== undefined) scanned++
  }
  expect(differ).toEqual([])
  expect(scanned).toBeGreaterThanOrEqual(minFast)
  return scanned
}

/**
 * Malformed and unusual variants of a compact JSON frame that a scanner must not read
 * differently from `JSON.parse`: cut short, spaced out, escaped, control characters, numbers
 * JSON does not allow, and every character replaced in turn by a few others (`step` apart).
 */
export function variantsOf(frame: string, step = 1): string[] {
  const out = [
    frame.slice(0, -1),
    `${frame} `,
    ` ${frame}`,
    `${frame}}`,
    frame.replace(':', ': '),
    frame.replace(',', ' ,'),
    frame.replace('"', '"\\u0041'),
    frame.replace(/"([^"]*)"/, '"$1\\""'),
    frame.replace(/"([A-Za-z]+)"/, '"$1\t"'),
    frame.replace(/"([A-Za-z]+)"/, '"$1\n"'),
    frame.replace(/(\d)(?=[,}\]])/, '$1e2'),
    frame.replace(/:(\d)/, ':0$1'),
    frame.replace(/:(\d)/, ':-$1'),
    frame.replace(/"(\d+\.\d+)"/, '"-$1"'),
    frame.replace(/"(\d+\.\d+)"/, '"0"'),
    frame.replace(/"(\d+\.\d+)"/, '"$1."'),
    frame.replace(/"(\d+\.\d+)"/, '".$1"'),
    frame.replace(/"(\d+\.\d+)"/, `"${'1'.repeat(41)}"`),
    frame.replace(/"(\d+\.\d+)"/, '"12345678901234567.5"'),
    frame.replace(/"(\d+\.\d+)"/, '$1'),
    frame.replace(/(\d+\.\d+)/, '"$1"'),
    frame.replace(/,"([a-z_]+)":/, ',"$1":null,"$1":'),
    frame.replace('[', '[]'),
    frame.replace(/\[\[/, '[[],['),
  ]
  const swaps = ['"', ',', '0', '9', '.', ']', '}', 'x', '-', ' ']
  for (let i = 0; i < frame.length; i += step) {
    for (const c of swaps) if (frame[i] !== c) out.push(frame.slice(0, i) + c + frame.slice(i + 1))
  }
  return out.filter((f) => f !== frame)
}
