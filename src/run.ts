/**
 * @module
 * Running the process until a signal: SIGTERM/SIGINT stop what was started (forced after 10 s),
 * and a start-up error the user can fix (bad configuration, unreachable or unwritable database,
 * a port in use) is one line on stderr and exit code 2. Shared by `bun run start` and
 * `bun run demo`.
 */
import { ConfigError } from './config.ts'
import { DatabaseError } from './db/client.ts'

/**
 * Starts something stoppable and keeps the process up until a signal. Signal handlers go in
 * before start-up, so a SIGTERM during start-up also shuts down cleanly.
 *
 * @example
 * ```ts
 * if (import.meta.main) await runUntilSignal(() => startApp(process.env))
 * ```
 */
export async function runUntilSignal<T extends { stop(): Promise<void> }>(
  start: () => Promise<T>,
  { afterStop }: { afterStop?: () => void } = {},
): Promise<T | undefined> {
  const starting = start()
  let stopping = false
  const shutdown = (signal: string) => {
    if (stopping) return
    stopping = true
    console.error(`${signal} received, shutting down`)
    const force = setTimeout(() => process.exit(1), 10_000)
    void starting
      .then((running) => running.stop())
      .then(
        () => {
          afterStop?.()
          clearTimeout(force)
          process.exit(0)
        },
        () => process.exit(1),
      )
  }
  process.on('SIGTERM', () => shutdown('SIGTERM'))
  process.on('SIGINT', () => shutdown('SIGINT'))
  try {
    return await starting
  } catch (err) {
    afterStop?.()
    const message = startupErrorMessage(err)
    if (message !== undefined) {
      console.error(message)
      process.exit(2)
    }
    throw err
  }
}

/** The `listen` errors a setting fixes: the port taken or privileged, no such address. */
const LISTEN_CODES = new Set(['EADDRINUSE', 'EACCES', 'EADDRNOTAVAIL', 'EINVAL'])

/**
 * What to tell the user about a start-up error they can fix, or undefined for a bug (which keeps
 * its stack trace): a `ConfigError`, a `DatabaseError`, an error named `ListenError` (the HTTP
 * server could not listen; its message names the address) or `StartupError` (something the
 * process needs is missing, like the split demo's redis-server), or the server's own `listen`
 * failure.
 */
export function startupErrorMessage(err: unknown): string | undefined {
  if (err instanceof ConfigError || err instanceof DatabaseError) return err.message
  if (!(err instanceof Error)) return undefined
  if (err.name === 'ListenError' || err.name === 'StartupError') return err.message
  const { code, syscall } = err as { code?: unknown; syscall?: unknown }
  if (syscall === 'listen' && typeof code === 'string' && LISTEN_CODES.has(code)) {
    return `cannot listen: ${err.message.replace(/\s+/g, ' ')} (set HOST or PORT)`
  }
  return undefined
}
