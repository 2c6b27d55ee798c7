/**
 * The README's ten-line consumer (examples/consume-opportunities.ts) run as its own process
 * against a real redis-server, reading what the core's publisher wrote to the opportunities stream.
 */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { join } from 'node:path'
import { redisServerPath, startLocalRedis, type LocalRedis } from '../../src/bus/local-redis.ts'
import { publishOpportunities } from '../../src/bus/opportunities.ts'
import { StreamPublisher } from '../../src/bus/publisher.ts'
import { busClient } from '../../src/bus/redis.ts'
import type { OpportunityListener } from '../../src/detector/types.ts'
import { crossAt, silent } from '../support.ts'

const root = join(import.meta.dir, '..', '..')
const example = join(root, 'examples', 'consume-opportunities.ts')

describe.if(redisServerPath() !== undefined)('the README’s opportunities consumer', () => {
  let redis: LocalRedis
  beforeAll(async () => {
    redis = await startLocalRedis()
  })
  afterAll(() => redis?.stop())

  test('is the file the README shows, and prints every event the core published', async () => {
    const code = await Bun.file(example).text()
    const readme = await Bun.file(join(root, 'README.md')).text()
    expect(readme).toContain(code.trim())
    expect(
      code
        .trim()
        .split('\n')
        .filter((l) => !l.startsWith('//')),
    ).toHaveLength(10)

    const client = busClient(redis.url)
    const publisher = new StreamPublisher({ client, maxLen: 1000, maxBuffered: 1000, log: silent })
    const listeners: OpportunityListener[] = []
    publishOpportunities((l) => (listeners.push(l), () => {}), publisher, 'arbwatch')
    const o = crossAt(42.5)
    for (const l of listeners) l({ type: 'opened', opportunity: o, atMs: Date.now() })
    await publisher.flushed()

    const proc = Bun.spawn([process.execPath, example], {
      env: { ...process.env, BUS_URL: redis.url },
      stdout: 'pipe',
      stderr: 'inherit',
    })
    const reader = proc.stdout.getReader()
    let out = ''
    const nextLine = async () => {
      while (!out.includes('\n')) {
        const { value, done } = await reader.read()
        if (done) throw new Error('the consumer exited')
        out += new TextDecoder().decode(value)
      }
      const [line, ...rest] = out.split('\n')
      out = rest.join('\n')
      return line!
    }
    // What was there before it started (its group reads from the stream's start), then what comes.
    expect(await nextLine()).toBe(`opened ${o.id} 42.5`)
    for (const l of listeners) l({ type: 'closed', opportunity: o, atMs: Date.now() })
    expect(await nextLine()).toBe(`closed ${o.id} 42.5`)
    // Acknowledged: nothing is left pending for its group (it acknowledges after printing).
    const pending = async () =>
      Number(
        ((await client.send('XPENDING', ['arbwatch:opportunities', 'my-app'])) as unknown[])[0],
      )
    const deadline = Date.now() + 5_000
    while ((await pending()) > 0 && Date.now() < deadline) await Bun.sleep(10)
    expect(await pending()).toBe(0)
    proc.kill()
    await proc.exited
    await publisher.stop()
    client.close()
  })
})
