/**
 * openDb and runMigrations: local files (directories created), in-memory databases, the real
 * migrations from any working directory, and clear errors for unreachable servers.
 */
import { afterEach, describe, expect, test } from 'bun:test'
import { chmodSync, existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import {
  DatabaseError,
  MIGRATIONS_FOLDER,
  openDb,
  redactUrl,
  runMigrations,
  type DbHandle,
} from '../../src/db/client.ts'

const handles: DbHandle[] = []
const dirs: string[] = []
afterEach(() => {
  for (const h of handles.splice(0)) h.close()
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true })
})

const open = async (url: string) => {
  const h = await openDb({ url })
  handles.push(h)
  return h
}
const tempDir = () => {
  const dir = mkdtempSync(join(tmpdir(), 'arbwatch-db-'))
  dirs.push(dir)
  return dir
}

async function schemaObjects(h: DbHandle): Promise<string[]> {
  const rs = await h.client.execute(
    "select type || ':' || name as o from sqlite_master where name not like 'sqlite_%' order by o",
  )
  return rs.rows.map((r) => String(r.o))
}

/** A port nothing listens on: bound by the OS, then released. */
function closedPort(): number {
  const server = Bun.serve({ hostname: '127.0.0.1', port: 0, fetch: () => new Response('') })
  const port = server.port!
  void server.stop(true)
  return port
}

describe('openDb', () => {
  test.each([':memory:', 'file::memory:'])(
    '%s works and takes the real migrations',
    async (url) => {
      const h = await open(url)
      await runMigrations(h.db)
      expect(await schemaObjects(h)).toEqual([
        'index:deliveries_chat_queue_idx',
        'index:deliveries_created_cooldown_idx',
        'index:deliveries_message_idx',
        'index:deliveries_opportunity_chat_idx',
        'index:deliveries_status_next_idx',
        'index:opportunities_buy_venue_opened_at_idx',
        'index:opportunities_kind_opened_at_idx',
        'index:opportunities_opened_at_idx',
        'index:opportunities_sell_venue_opened_at_idx',
        'index:opportunities_symbol_opened_at_idx',
        'index:opportunities_transfer_status_opened_at_idx',
        'table:__drizzle_migrations',
        'table:chats',
        'table:deliveries',
        'table:opportunities',
        'table:subscriptions',
        'table:transfer_facts',
        'table:transfer_fetches',
      ])
    },
  )

  test('running the migrations again changes nothing', async () => {
    const h = await open(':memory:')
    await runMigrations(h.db)
    await runMigrations(h.db)
    const rs = await h.client.execute('select count(*) as n from __drizzle_migrations')
    const journal = (await Bun.file(join(MIGRATIONS_FOLDER, 'meta', '_journal.json')).json()) as {
      entries: unknown[]
    }
    expect(journal.entries.length).toBeGreaterThanOrEqual(2)
    expect(Number(rs.rows[0]?.n)).toBe(journal.entries.length)
  })

  test('a file: database whose directories do not exist gets them created', async () => {
    const dir = tempDir()
    const path = join(dir, 'a', 'b', 'arbwatch.db')
    const h = await open(`file:${path}`)
    await runMigrations(h.db)
    expect(existsSync(path)).toBe(true)
    h.close()
    h.close() // idempotent

    const url = `file://${join(dir, 'c', 'd', 'x.db')}`
    await open(url)
    expect(existsSync(join(dir, 'c', 'd', 'x.db'))).toBe(true)
  })

  test('a relative file: path is created relative to the working directory', async () => {
    const dir = tempDir()
    const child = Bun.spawn(
      [
        process.execPath,
        '-e',
        `const { openDb, runMigrations } = await import(${JSON.stringify(join(import.meta.dir, '../../src/db/client.ts'))})
         const h = await openDb({ url: 'file:data/arbwatch.db' })
         await runMigrations(h.db)
         const rs = await h.client.execute("select count(*) as n from opportunities")
         console.log('rows', rs.rows[0].n)
         h.close()`,
      ],
      { cwd: dir, stdout: 'pipe', stderr: 'pipe' },
    )
    const [out, err, code] = await Promise.all([
      new Response(child.stdout).text(),
      new Response(child.stderr).text(),
      child.exited,
    ])
    expect(err).toBe('')
    expect(code).toBe(0)
    expect(out.trim()).toBe('rows 0')
    expect(existsSync(join(dir, 'data', 'arbwatch.db'))).toBe(true)
  })

  test('the migrations folder is found from the source file, not the working directory', () => {
    expect(MIGRATIONS_FOLDER).toBe(join(import.meta.dir, '..', '..', 'migrations'))
    expect(existsSync(join(MIGRATIONS_FOLDER, 'meta', '_journal.json'))).toBe(true)
  })

  test('a file: database that cannot be created names its URL', async () => {
    const dir = tempDir()
    await Bun.write(join(dir, 'file'), 'not a directory')
    const url = `file:${join(dir, 'file', 'sub', 'x.db')}`
    const err = await openDb({ url }).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(DatabaseError)
    expect((err as DatabaseError).name).toBe('DatabaseError')
    expect((err as DatabaseError).message).toContain(url)
  })

  test.each(['http', 'ws', 'libsql'])(
    'an unreachable %s:// server rejects with a DatabaseError naming the URL, never the token',
    async (scheme) => {
      const url = `${scheme}://127.0.0.1:${closedPort()}`
      const token = 'very-secret-token-123'
      const started = performance.now()
      const err = await openDb({ url, authToken: token, connectTimeoutMs: 3_000 }).catch(
        (e: unknown) => e,
      )
      expect(performance.now() - started).toBeLessThan(3_000)
      expect(err).toBeInstanceOf(DatabaseError)
      const e = err as DatabaseError
      expect(e.name).toBe('DatabaseError')
      expect(e.message).toStartWith(`cannot reach database ${url}`)
      expect(e.message.length).toBeGreaterThan(`cannot reach database ${url}: `.length)
      expect(e.message).not.toContain(token)
      expect(e.cause).toBeDefined()
    },
  )

  test('a server that accepts but never answers times out with a DatabaseError', async () => {
    const { promise: never, resolve: release } = Promise.withResolvers<Response>()
    const server = Bun.serve({ hostname: '127.0.0.1', port: 0, fetch: () => never })
    try {
      const url = `http://127.0.0.1:${server.port}`
      const err = await openDb({ url, connectTimeoutMs: 100 }).catch((e: unknown) => e)
      expect(err).toBeInstanceOf(DatabaseError)
      expect((err as Error).message).toBe(`cannot reach database ${url}: no answer within 100 ms`)
    } finally {
      release(new Response('', { status: 503 }))
      await server.stop(true)
    }
  })

  test('a token in the URL is redacted from the error', async () => {
    const url = `http://127.0.0.1:${closedPort()}/?authToken=sekrit`
    const err = (await openDb({ url }).catch((e: unknown) => e)) as DatabaseError
    expect(err).toBeInstanceOf(DatabaseError)
    expect(err.message).not.toContain('sekrit')
    expect(err.message).toContain('authToken=***')
    expect(redactUrl('libsql://u:pw@db.example.com?tls=1&authToken=abc#x')).toBe(
      'libsql://u:***@db.example.com?tls=1&authToken=***#x',
    )
    expect(redactUrl('file:data/arbwatch.db')).toBe('file:data/arbwatch.db')
  })

  test('an unsupported URL is refused', async () => {
    const err = await openDb({ url: 'postgres://localhost/x' }).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(DatabaseError)
    expect((err as Error).message).toContain('unsupported database URL postgres://localhost/x')
  })
})

describe('runMigrations', () => {
  test('a missing migrations folder is a DatabaseError', async () => {
    const h = await open(':memory:')
    const err = await runMigrations(h.db, join(tempDir(), 'nope')).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(DatabaseError)
    expect((err as Error).message).toContain('nope')
  })
})

describe('a database file that cannot be written', () => {
  /**
   * chmod makes it read-only; root ignores modes, so as root it is also made immutable (chattr
   * +i), which refuses root's writes the same way. Undone after the test.
   */
  const root = process.getuid?.() === 0
  const undo: string[] = []
  afterEach(() => {
    for (const path of undo.splice(0)) {
      if (root) Bun.spawnSync(['chattr', '-i', path])
      chmodSync(path, 0o755)
    }
  })
  function makeReadOnly(path: string, mode: number): void {
    chmodSync(path, mode)
    undo.push(path)
    if (root) expect(Bun.spawnSync(['chattr', '+i', path]).exitCode).toBe(0)
  }

  test('a file chmod 0444: start-up (open + migrations) fails with one line naming it', async () => {
    const dir = tempDir()
    const path = join(dir, 'x.db')
    const setup = await open(`file:${path}`)
    await runMigrations(setup.db)
    setup.close()
    makeReadOnly(path, 0o444)
    // It opens (read-only; reads work), but the migrations refuse it, even with none left to do.
    const h = await open(`file:${path}`)
    const err = await runMigrations(h.db).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(DatabaseError)
    expect((err as Error).message).toBe(
      `the database file ${path} cannot be written: permission denied`,
    )
  })

  test('a new, empty file chmod 0444: the same line, not the failed SQL', async () => {
    const dir = tempDir()
    const path = join(dir, 'x.db')
    await Bun.write(path, '')
    makeReadOnly(path, 0o444)
    const h = await open(`file:${path}`)
    const err = (await runMigrations(h.db).catch((e: unknown) => e)) as Error
    expect(err).toBeInstanceOf(DatabaseError)
    expect(err.message).toBe(`the database file ${path} cannot be written: permission denied`)
    expect(err.message).not.toContain('\n')
  })

  test('a read-only directory: opening a new file there names the file, not SQLite’s bare 14', async () => {
    const dir = join(tempDir(), 'data')
    mkdirSync(dir)
    makeReadOnly(dir, 0o555)
    const path = join(dir, 'x.db')
    const err = (await openDb({ url: `file:${path}` }).catch((e: unknown) => e)) as Error
    expect(err).toBeInstanceOf(DatabaseError)
    expect(err.message).toBe(
      `the database file ${path} cannot be written: permission denied on its directory ${dir}`,
    )
  })

  test('a writable file in a read-only directory (no journal can be made) is refused too', async () => {
    const dir = join(tempDir(), 'data')
    mkdirSync(dir)
    const path = join(dir, 'x.db')
    const setup = await open(`file:${path}`)
    await runMigrations(setup.db)
    setup.close()
    makeReadOnly(dir, 0o555)
    const h = await open(`file:${path}`)
    const err = (await runMigrations(h.db).catch((e: unknown) => e)) as Error
    expect(err).toBeInstanceOf(DatabaseError)
    expect(err.message).toBe(
      `the database file ${path} cannot be written: permission denied on its directory ${dir}`,
    )
  })

  // A read-only file system needs a mount: a tmpfs mounted read-only in a mount namespace of its
  // own (unshare), where that is allowed.
  const unshare = Bun.which('unshare')
  const canMount =
    unshare !== null &&
    Bun.spawnSync([unshare, '-rm', 'sh', '-c', 'mount -t tmpfs -o ro tmpfs /mnt'], {
      stderr: 'ignore',
    }).exitCode === 0
  test.skipIf(!canMount)('a read-only file system is named as such', async () => {
    const dir = tempDir()
    const mnt = join(dir, 'ro')
    mkdirSync(mnt)
    const script = `
      const { openDb, runMigrations } = await import(${JSON.stringify(join(import.meta.dir, '../../src/db/client.ts'))})
      for (const path of [process.argv[1] + '/new.db', process.argv[1] + '/old.db']) {
        const err = await openDb({ url: 'file:' + path })
          .then((h) => runMigrations(h.db).finally(() => h.close()))
          .catch((e) => e)
        console.log(err?.message)
      }`
    const shell = `mount -t tmpfs tmpfs "$1" && touch "$1/old.db" && mount -o remount,ro "$1" && exec "$2" -e "$3" "$1"`
    const child = Bun.spawn(
      [unshare!, '-rm', 'sh', '-c', shell, 'sh', mnt, process.execPath, script],
      { stdout: 'pipe', stderr: 'pipe' },
    )
    const [out, err, code] = await Promise.all([
      new Response(child.stdout).text(),
      new Response(child.stderr).text(),
      child.exited,
    ])
    expect(err).toBe('')
    expect(code).toBe(0)
    expect(out.trim().split('\n')).toEqual([
      `the database file ${mnt}/new.db cannot be written: read-only file system on its directory ${mnt}`,
      `the database file ${mnt}/old.db cannot be written: read-only file system`,
    ])
  })
})
