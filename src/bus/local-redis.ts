/**
 * @module
 * A real `redis-server` on 127.0.0.1 for the offline split demo, the tests and the bench: Debian's
 * package (`apt-get install redis-server`), started on a free port with no persistence and no
 * config file, so a restart comes back empty, as a Redis without its data would.
 */
import type { Subprocess } from 'bun'

export interface LocalRedis {
  readonly url: string
  readonly port: number
  /** Kills the server (SIGKILL: no goodbye to its clients) and starts it again on the same port. */
  restart(): Promise<void>
  /** Kills the server and leaves it down until `start`. */
  kill(): Promise<void>
  start(): Promise<void>
  stop(): Promise<void>
}

/** Where the server binary is, or undefined when it is not installed. */
export function redisServerPath(): string | undefined {
  return Bun.which('redis-server') ?? undefined
}

/** A free port on 127.0.0.1: bound by the OS, then released for redis-server to take. */
function freePort(): number {
  const server = Bun.serve({ hostname: '127.0.0.1', port: 0, fetch: () => new Response('') })
  const port = server.port!
  void server.stop(true)
  return port
}

/** Starts redis-server and resolves once it answers `PING`. */
export async function startLocalRedis(port = freePort()): Promise<LocalRedis> {
  const bin = redisServerPath()
  if (bin === undefined) {
    throw Object.assign(
      new Error('redis-server is not installed (Debian: apt-get install redis-server)'),
      { name: 'StartupError' },
    )
  }
  let proc: Subprocess<'ignore', 'ignore', 'pipe'> | undefined
  const start = async () => {
    proc = Bun.spawn(
      [bin, '--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
      { stdin: 'ignore', stdout: 'ignore', stderr: 'pipe' },
    )
    const deadline = Date.now() + 10_000
    while (proc.exitCode === null && Date.now() < deadline) {
      if (await answers(port)) return
      await Bun.sleep(20)
    }
    const why = proc.exitCode === null ? 'no answer in 10 s' : `exit ${proc.exitCode}`
    proc.kill('SIGKILL')
    throw new Error(`redis-server did not start on ${port}: ${why}`)
  }
  const kill = async () => {
    if (proc === undefined) return
    proc.kill('SIGKILL')
    await proc.exited
    proc = undefined
  }
  await start()
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    start,
    kill,
    async restart() {
      await kill()
      await start()
    },
    stop: kill,
  }
}

/** True when something on the port answers a RESP `PING` with `+PONG`. */
async function answers(port: number): Promise<boolean> {
  try {
    const { promise, resolve } = Promise.withResolvers<boolean>()
    const socket = await Bun.connect({
      hostname: '127.0.0.1',
      port,
      socket: {
        open: (s) => void s.write('PING\r\n'),
        data: (s, data) => {
          resolve(new TextDecoder().decode(data).startsWith('+PONG'))
          s.end()
        },
        close: () => resolve(false),
        error: () => resolve(false),
      },
    })
    const timer = setTimeout(() => resolve(false), 500)
    const ok = await promise
    clearTimeout(timer)
    socket.end()
    return ok
  } catch {
    return false
  }
}
