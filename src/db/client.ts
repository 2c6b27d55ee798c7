/**
 * @module
 * Opening the database (a local `file:` database, `:memory:`, or a libSQL server over `libsql://`,
 * `http(s)://` or `ws(s)://`) and applying the drizzle-kit migrations from `migrations/`.
 */
import { accessSync, constants, existsSync, mkdirSync } from 'node:fs'
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
  /**
   * How long any later query may take before it fails with a `DatabaseTimeoutError` (a hung
   * server must not hang its callers; libSQL's HTTP client has no timeout of its own).
   */
  readonly queryTimeoutMs?: number
}

export interface DbHandle {
  readonly db: Db
  readonly client: Client
  /** Closes the client; safe to call more than once. */
  close(): void
}

/** A query got no answer within the client's `queryTimeoutMs` (the query may still run). */
export class DatabaseTimeoutError extends Error {
  override name = 'DatabaseTimeoutError'
  constructor(
    readonly operation: string,
    readonly timeoutMs: number,
  ) {
    super(`the database did not answer within ${timeoutMs} ms (${operation})`)
  }
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
 * missing. A file that exists but cannot be written opens read-only (reads work, writes fail
 * until it is writable again); `runMigrations` refuses it.
 *
 * @param options `url` and, for a remote server, `authToken`.
 * @returns the drizzle `db`, the libSQL `client` and `close()`.
 * @throws DatabaseError naming the URL (without credentials) and the reason, e.g. "the database
 *   file data/x.db cannot be written: permission denied".
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
  queryTimeoutMs = 5_000,
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
  const path = local && !MEMORY.has(url) ? filePath(url) : undefined
  // SQLite failed to open the file (a bare "14", SQLITE_CANTOPEN) because the file, or its
  // directory where SQLite creates it and its journal, cannot be written: say so, and why.
  const unwritable = (cause: unknown): DatabaseError | undefined => {
    const why = path === undefined ? undefined : cannotWrite(path)
    if (why === undefined) return undefined
    return new DatabaseError(`the database file ${path} cannot be written: ${why}`, shown, {
      cause,
    })
  }
  if (path !== undefined) {
    try {
      mkdirSync(dirname(path), { recursive: true })
    } catch (err) {
      throw fail(`create the directory of`, err)
    }
  }

  let client: Client
  try {
    client = createClient(
      local
        ? { url }
        : // The HTTP transport's requests are aborted a little after the query gives up, so a
          // hung server does not keep sockets (and libSQL's 20 request slots) forever.
          { url, authToken, fetch: abortingFetch(queryTimeoutMs + 1_000) },
    )
  } catch (err) {
    throw unwritable(err) ?? fail('open', err)
  }
  try {
    await answers(client, connectTimeoutMs)
  } catch (err) {
    client.close()
    throw unwritable(err) ?? fail('reach', err)
  }
  limitQueries(client, queryTimeoutMs, local && !MEMORY.has(url))
  const db = drizzle(client, { schema })
  if (path !== undefined) FILES.set(db, path)
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
 * @throws DatabaseError when a migration fails, in one line; for a database file (or its
 *   directory) that cannot be written, "the database file data/x.db cannot be written: permission
 *   denied" (or "read-only file system"), even with no migration left to apply.
 */
export async function runMigrations(db: Db, folder: string = MIGRATIONS_FOLDER): Promise<void> {
  // A database file that cannot be written (read-only, or its directory): name it and the cause,
  // whether or not there is a migration left to write.
  const path = FILES.get(db)
  const refused = path === undefined ? undefined : cannotWrite(path)
  if (refused !== undefined) {
    throw new DatabaseError(`the database file ${path} cannot be written: ${refused}`, '')
  }
  try {
    await migrate(db, { migrationsFolder: folder })
  } catch (err) {
    if (path !== undefined && READ_ONLY.test(errorCode(err))) {
      const why = cannotWrite(path) ?? reason(err, { sql: false })
      throw new DatabaseError(`the database file ${path} cannot be written: ${why}`, '', {
        cause: err,
      })
    }
    const why = reason(err, { sql: false }).replace(/\s+/g, ' ')
    throw new DatabaseError(`database migration from ${folder} failed: ${why}`, '', {
      cause: err,
    })
  }
}

/** The path of each database opened on a file, for the messages of later failures. */
const FILES = new WeakMap<Db, string>()

/** SQLite codes of a write refused because the file or its directory cannot be written. */
const READ_ONLY = /^SQLITE_(READONLY|CANTOPEN|PERM)/

/**
 * Why a database file cannot be written, or undefined when it can: the file itself if it exists,
 * and its directory, where SQLite creates the file and its journal.
 *
 * @returns e.g. "permission denied", "read-only file system", "permission denied on its
 *   directory data"
 */
function cannotWrite(path: string): string | undefined {
  const dir = dirname(path)
  const targets: [string, string][] = [[dir, ` on its directory ${dir}`]]
  if (existsSync(path)) targets.unshift([path, ''])
  for (const [target, where] of targets) {
    try {
      accessSync(target, constants.W_OK)
    } catch (err) {
      const code = (err as { code?: unknown }).code
      if (code === 'ENOENT') continue
      const why =
        code === 'EROFS'
          ? 'read-only file system'
          : code === 'EACCES' || code === 'EPERM'
            ? 'permission denied'
            : reason(err)
      return why + where
    }
  }
  return undefined
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

/**
 * Makes every query of the client fail with a `DatabaseTimeoutError` after `timeoutMs`, on the
 * client itself so that drizzle and anything else holding it are bounded too. For a database
 * file, a failure that a fixed file would cure (read-only, cannot open, I/O error) also reopens
 * the connections: SQLite keeps a connection opened on a read-only file read-only forever.
 */
function limitQueries(client: Client, timeoutMs: number, file: boolean): void {
  const reopen = (err: unknown) => {
    if (file && REOPEN.test(errorCode(err))) void client.reconnect()
    throw err
  }
  for (const name of ['execute', 'batch', 'migrate', 'executeMultiple', 'transaction'] as const) {
    const call = (client[name] as (...args: unknown[]) => Promise<unknown>).bind(client)
    Object.defineProperty(client, name, {
      configurable: true,
      writable: true,
      value: (...args: unknown[]) => deadline(call(...args).catch(reopen), timeoutMs, name),
    })
  }
}

/** SQLite failures after which a database file's connections are reopened. */
const REOPEN = /^SQLITE_(READONLY|CANTOPEN|IOERR)/

/** The error's code (`SQLITE_FULL`, `ECONNREFUSED`…), from it or its causes; '' when none. */
function errorCode(err: unknown): string {
  for (let e = err, depth = 0; e instanceof Error && depth < 5; e = e.cause, depth++) {
    const code = (e as { code?: unknown }).code
    if (typeof code === 'string' && code !== '') return code
  }
  return ''
}

/** Codes that mean the database cannot serve requests now, not that the request was wrong. */
const UNAVAILABLE =
  /^(SQLITE_(READONLY|CANTOPEN|IOERR|FULL|BUSY|LOCKED|CORRUPT|NOTADB)|CLIENT_CLOSED|SERVER_ERROR|HRANA_|ECONN|ConnectionRe|ETIMEDOUT|EPIPE|UND_ERR|FailedToOpenSocket)/

/**
 * Why a failed query means the database is unavailable (it timed out, is unreachable, read-only
 * or full), for an answer such as HTTP 503; undefined for any other error.
 *
 * @param err what a query threw (drizzle wraps the client's error as its `cause`)
 * @returns a message fit for a client of the API, naming no URL or SQL
 * @example
 * ```ts
 * const why = databaseUnavailable(err)
 * if (why !== undefined) return c.json({ error: why }, 503)
 * ```
 */
export function databaseUnavailable(err: unknown): string | undefined {
  for (let e = err, depth = 0; e instanceof Error && depth < 5; e = e.cause, depth++) {
    if (e instanceof DatabaseTimeoutError) {
      return `the database did not answer within ${e.timeoutMs} ms; try again later`
    }
  }
  const code = errorCode(err)
  if (UNAVAILABLE.test(code)) return `the database is unavailable (${code}); try again later`
  return undefined
}

/** Settles as the promise does, or rejects with a `DatabaseTimeoutError` after `timeoutMs`. */
function deadline<T>(promise: Promise<T>, timeoutMs: number, operation: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new DatabaseTimeoutError(operation, timeoutMs)), timeoutMs)
  })
  // A query that answers after its deadline must not become an unhandled rejection.
  promise.catch(() => {})
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer))
}

/** `fetch` with every request aborted after `timeoutMs`. */
function abortingFetch(timeoutMs: number): typeof fetch {
  return Object.assign(
    (input: string | URL | Request, init?: RequestInit) =>
      fetch(input, { ...init, signal: AbortSignal.timeout(timeoutMs) }),
    { preconnect: fetch.preconnect },
  )
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

/**
 * The error's message and its causes', joined. With `sql: false` a failed query's own message
 * (drizzle's "Failed query: <sql> params: …") is left out when it has a cause that says why.
 */
function reason(err: unknown, { sql = true }: { sql?: boolean } = {}): string {
  if (!(err instanceof Error)) return String(err)
  if (!sql && /^Failed query:/.test(err.message) && err.cause instanceof Error) {
    return reason(err.cause)
  }
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
