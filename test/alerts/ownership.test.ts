/**
 * One owner per rule, checked on the source: alerting lives in alerts/, db/ depends on no chat
 * code, and an opportunity is mapped to its record in exactly one place.
 */
import { describe, expect, test } from 'bun:test'
import { Glob } from 'bun'

const SRC = `${import.meta.dir}/../../src`

async function sources(): Promise<Map<string, string>> {
  const out = new Map<string, string>()
  for await (const path of new Glob('**/*.ts').scan(SRC)) {
    out.set(path, await Bun.file(`${SRC}/${path}`).text())
  }
  return out
}

const importsOf = (text: string): string[] =>
  [...text.matchAll(/^\s*(?:import|export)[^'"]*from\s+'([^']+)'/gm)].map((m) => m[1]!)

describe('ownership', () => {
  test('db/ imports nothing from chat/ (or from alerts/)', async () => {
    for (const [path, text] of await sources()) {
      if (!path.startsWith('db/')) continue
      for (const spec of importsOf(text))
        expect(`${path}: ${spec}`).not.toMatch(/\/(chat|alerts)\//)
    }
  })

  test('alerts/ owns the Notifier seam and the fan-out; neither depends on chat/', async () => {
    const files = await sources()
    const defining = (re: RegExp) => [...files].filter(([, t]) => re.test(t)).map(([p]) => p)
    expect(defining(/export (interface|class) Notifier(Error)?\b/)).toEqual(['alerts/notifier.ts'])
    expect(defining(/export class Fanout\b/)).toEqual(['alerts/fanout.ts'])
    expect(files.has('chat/notifier.ts')).toBe(false)
    for (const path of ['alerts/notifier.ts', 'alerts/fanout.ts', 'alerts/dispatch.ts']) {
      for (const spec of importsOf(files.get(path)!))
        expect(`${path}: ${spec}`).not.toContain('/chat/')
    }
    // Cooldowns are the fan-out's: the chat core keeps none.
    expect(files.get('chat/commands.ts')).not.toMatch(/cooldown/i)
  })

  test('an opportunity becomes its flat record in one function only', async () => {
    const mappers = [...(await sources())]
      .filter(([, text]) => /netBpsOpen:\s*\w+\.(open\.)?netBps/.test(text))
      .map(([path]) => path)
    expect(mappers).toEqual(['detector/record.ts'])
  })
})
