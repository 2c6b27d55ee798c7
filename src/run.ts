/**
 * @module
 * Running the process until a signal: SIGTERM/SIGINT stop what was started (forced after 10 s),
 * and a start-up error the user can fix (bad configuration, unreachable database) is one line on
 * stderr and exit code 2. Shared by `bun run start` and `bun run demo`.
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
    if (err instanceof ConfigError || err instanceof DatabaseError) {
      console.error(err.message)
      process.exit(2)
    }
    throw err
  }
}
