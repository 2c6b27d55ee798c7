import { describe, expect, test } from 'bun:test'
import { createApi } from '../src/api/app.ts'
import { Books } from '../src/book/books.ts'
import { parseConfig } from '../src/config.ts'
import { openDb, runMigrations } from '../src/db/client.ts'
import { Store } from '../src/db/store.ts'
import { Detector } from '../src/detector/detector.ts'
import { silent } from './support.ts'

const root = `${import.meta.dir}/..`
const fly = Bun.TOML.parse(await Bun.file(`${root}/fly.toml`).text()) as any
const dockerfile = await Bun.file(`${root}/Dockerfile`).text()
const entrypoint = await Bun.file(`${root}/docker-entrypoint.sh`).text()
const ci = await Bun.file(`${root}/.ci/run`).text()
const pkg = (await Bun.file(`${root}/package.json`).json()) as {
  devDependencies: Record<string, string>
}

describe('deploy files agree with the code', () => {
  test('port: fly, the Dockerfile and the config default are the same', () => {
    const port = parseConfig({ PORT: fly.env.PORT }).port
    expect(port).toBe(parseConfig({}).port)
    expect(fly.http_service.internal_port).toBe(port)
    expect(dockerfile).toContain(`EXPOSE ${port}`)
    expect(dockerfile).toContain(`PORT=${port}`)
  })

  test('health check path is one the API answers 200 on', async () => {
    const [check] = fly.http_service.checks
    expect(check.method).toBe('GET')
    const handle = await openDb({ url: ':memory:' })
    await runMigrations(handle.db)
    const books = new Books()
    const api = createApi({
      connections: [],
      books,
      store: new Store({ db: handle.db, log: silent }),
      log: silent,
      sizeQuote: 1000,
      detector: new Detector({
        books,
        venues: [],
        symbols: [],
        feeBps: parseConfig({}).feeBps,
        sizeQuote: 1000,
        minSpreadBps: 10,
        hysteresisBps: 5,
        maxSpreadBps: 500,
        maxQuoteAgeMs: 5000,
      }),
      apiToken: 'a-token-the-health-check-does-not-send',
    })
    expect((await api.request(`http://localhost${check.path}`)).status).toBe(200)
    handle.close()
  })

  test('database: the default libSQL file is on the mounted volume, in Docker and on Fly', () => {
    const [mount] = fly.mounts
    const url = parseConfig({ DATABASE_URL: fly.env.DATABASE_URL }).databaseUrl
    expect(url.startsWith(`file:${mount.destination}/`)).toBe(true)
    expect(dockerfile).toContain(`DATABASE_URL=${url}`)
    expect(entrypoint).toContain(`chown -R bun:bun ${mount.destination}`)
  })

  test('user: the app runs as the non-root bun user', () => {
    expect(entrypoint).toMatch(/setpriv --reuid=bun --regid=bun/)
    expect(dockerfile).toMatch(/ENTRYPOINT \["\/usr\/local\/bin\/docker-entrypoint\.sh"\]/)
    expect(dockerfile).not.toMatch(/^USER root/m)
  })

  test('the image is the pinned official Bun image, the same Bun as CI, production install from the lockfile', () => {
    const versions = [...dockerfile.matchAll(/^FROM oven\/bun:(\d+\.\d+\.\d+)/gm)].map((m) => m[1])
    expect(versions.length).toBeGreaterThan(0)
    const ciVersion = /BUN_VERSION=(\S+)/.exec(ci)![1]
    for (const v of versions) expect(v).toBe(ciVersion!)
    expect(dockerfile).toContain('bun install --frozen-lockfile --production')
    expect(pkg.devDependencies).toHaveProperty('ccxt') // dev-only tools stay out of the image
  })

  test('machines never auto-stop, exactly one runs, and the kill timeout covers the graceful shutdown', () => {
    expect(fly.http_service.auto_stop_machines).toBe('off')
    expect(fly.http_service.auto_start_machines).toBe(false)
    expect(fly.http_service.min_machines_running).toBe(1)
    expect(fly.kill_signal).toBe('SIGTERM')
    expect(Number.parseInt(fly.kill_timeout)).toBeGreaterThan(10)
  })

  test('the split (fly.split.toml): one core, each venue on exactly one ingest shard, every group a valid configuration', () => {
    const split = Bun.TOML.parse(
      require('node:fs').readFileSync(`${root}/fly.split.toml`, 'utf8'),
    ) as any
    const groups = Object.entries(split.processes as Record<string, string>)
    const envOf = (cmd: string) => ({
      ...split.env,
      BUS_URL: 'redis://redis.internal:6379',
      ...Object.fromEntries(
        [...cmd.matchAll(/(\w+)=(\S+)/g)].map((m) => [m[1]!, m[2]!] as [string, string]),
      ),
    })
    const configs = groups.map(([name, cmd]) => [name, parseConfig(envOf(cmd))] as const)
    const roles = configs.map(([, c]) => c.role)
    expect(roles.filter((r) => r === 'core')).toHaveLength(1)
    expect(roles.filter((r) => r === 'all')).toHaveLength(0)
    const core = configs.find(([, c]) => c.role === 'core')![1]
    const sharded = configs.filter(([, c]) => c.role === 'ingest').flatMap(([, c]) => c.exchanges)
    expect([...sharded].sort()).toEqual([...core.exchanges].sort())
    expect(new Set(sharded).size).toBe(sharded.length)
    for (const [, c] of configs) expect(c.universeExchanges).toEqual(core.exchanges)
    // The database and the public service belong to the core only; the image runs each command.
    const coreGroup = configs.find(([, c]) => c.role === 'core')![0]
    expect(split.mounts.map((m: any) => m.processes)).toEqual([[coreGroup]])
    expect(split.http_service.processes).toEqual([coreGroup])
    for (const [, cmd] of groups) expect(cmd).toContain('bun run src/main.ts')
    expect(split.http_service.auto_stop_machines).toBe('off')
  })
})
