/**
 * @module
 * Opening the database (a local `file:` database, `:memory:`, or a libSQL server over `libsql://`,
 * `http(s)://` or `ws(s)://`) and applying the drizzle-kit migrations from `migrations/`.
 */
import { mkdirSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { createClient, type Client } from '@libsql/client'
import { drizzle, type LibSQLDatabase } from 'drizzle-orm/libsql'
import { migrate } from 'drizzle-orm/libsql/migrator'
import * as schema from './schema.ts'

/** The drizzle database arbwatch uses, typed with its schema. */
export type Db = LibSQLDatabase<typeof schema>

/** The repository's `migrations/` folder, found from this file so any working directory works. */
export const MIGRATIONS_FOLDER = join(import.meta.dir, '..', '..', 'migrations')

export interface DbOptions {
  /** `file:data/arbwatch.db`, `:memory:`, `libsql://…`, `http(s)://…` or `ws(s)://…`. */
  readonly url: string
  /** Bearer token for a remote server; never logged or put in an error message. */
  readonly authToken?: string | undefined
  /** How long the first `select 1` may take before the database counts as unreachable. */
  readonly connectTimeoutMs?: number
}

export interface DbHandle {
  readonly db: Db
  readonly client: Client
  /** Closes the client; safe to call more than once. */
  close(): void
}

/** The database could not be opened, reached or migrated. The message names the (redacted) URL. */
export class DatabaseError extends Error {
  override name = 'DatabaseError'
  constructor(
    message: string,
    readonly url: string,
    options?: { cause?: unknown },
  ) {
    super(message, options)
  }
}

const REMOTE = /^(libsql|https?|wss?):\/\//i
const MEMORY = new Set([':memory:', 'file::memory:'])

/**
 * Opens the database and checks that it answers. A `file:` database's directory is created if
 * missing.
 *
 * @param options `url` and, for a remote server, `authToken`.
 * @returns the drizzle `db`, the libSQL `client` and `close()`.
 * @throws DatabaseError naming the URL (without credentials) and the reason.
 *
 * @example
 * ```ts
 * const handle = await openDb({ url: 'file:data/arbwatch.db' })
 * await runMigrations(handle.db)
 * ```
 */
export async function openDb({
  url,
  authToken,
  connectTimeoutMs = 10_000,
}: DbOptions): Promise<DbHandle> {
  const shown = redactUrl(url)
  const fail = (what: string, cause: unknown): DatabaseError =>
    new DatabaseError(
      `cannot ${what} database ${shown}: ${scrub(reason(cause), authToken)}`,
      shown,
      { cause },
    )

  const local = !REMOTE.test(url)
  if (local && !MEMORY.has(url) && !url.startsWith('file:')) {
    throw new DatabaseError(
      `unsupported database URL ${shown}: ` +
        'expected file:, :memory:, libsql://, http(s):// or ws(s)://',
      shown,
    )
  }
  if (local && !MEMORY.has(url)) {
    const path = filePath(url)
    if (path !== undefined) {
      try {
        mkdirSync(dirname(path), { recursive: true })
      } catch (err) {
        throw fail(`create the directory of`, err)
      }
    }
  }

  let client: Client
  try {
    client = createClient(local ? { url } : { url, authToken })
  } catch (err) {
    throw fail('open', err)
  }
  try {
    await answers(client, connectTimeoutMs)
  } catch (err) {
    client.close()
    throw fail('reach', err)
  }
  const db = drizzle(client, { schema })
  return {
    db,
    client,
    close: () => {
      if (!client.closed) client.close()
    },
  }
}

/**
 * Applies the drizzle-kit migrations that have not run yet, in one transaction.
 *
 * @param folder defaults to the repository's `migrations/`.
 * @throws DatabaseError when a migration fails.
 */
export async function runMigrations(db: Db, folder: string = MIGRATIONS_FOLDER): Promise<void> {
  try {
    await migrate(db, { migrationsFolder: folder })
  } catch (err) {
    throw new DatabaseError(`database migration from ${folder} failed: ${reason(err)}`, '', {
      cause: err,
    })
  }
}

async function answers(client: Client, timeoutMs: number): Promise<void> {
  let timer: ReturnType<typeof setTimeout> | undefined
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs)
  })
  try {
    await Promise.race([client.execute('select 1'), timeout])
  } finally {
    clearTimeout(timer)
  }
}

/** The filesystem path of a `file:` URL, or undefined for an in-memory one. */
function filePath(url: string): string | undefined {
  const rest = url.slice('file:'.length).replace(/[?#].*$/, '')
  if (rest === '' || rest === ':memory:') return undefined
  if (rest.startsWith('//')) return fileURLToPath(url.replace(/[?#].*$/, ''))
  return decodeURIComponent(rest)
}

/** The URL as given, with any password and token-like query value replaced by `***`. */
export function redactUrl(url: string): string {
  return url
    .replace(/^([a-z][a-z0-9+.-]*:\/\/[^/?#@:]*:)[^/?#@]*@/i, '$1***@')
    .replace(/([?&][^=&#]*(?:token|password|secret|key)[^=&#]*=)[^&#]*/gi, '$1***')
}

function reason(err: unknown): string {
  if (!(err instanceof Error)) return String(err)
  const parts = [err.message]
  let cause = err.cause
  for (let depth = 0; cause instanceof Error && depth < 3; depth++) {
    const message = cause.message
    if (!parts.some((p) => p.includes(message))) parts.push(message)
    cause = cause.cause
  }
  const code = (err as { code?: unknown }).code
  const text = parts.join(': ')
  return typeof code === 'string' && !text.includes(code) ? `${text} (${code})` : text
}

/** Removes the token from a message, in case a layer below ever echoes it. */
function scrub(text: string, secret: string | undefined): string {
  return secret && secret.length >= 8 ? text.split(secret).join('***') : text
}
