/**
 * @module
 * The bus's Redis connections: Bun's built-in client (`Bun.RedisClient`), with its offline queue
 * off so nothing piles up unseen while Redis is away (the publishers buffer within their own bound
 * and count what they drop) and its reconnection on.
 *
 * Why Bun's client and not ioredis: both were tried under Bun 1.4.5 here against Debian's
 * redis-server 7.0 on loopback (README, "Splitting across machines"). Bun's client wrote 310k
 * `XADD`/s pipelined against ioredis 5.11's 110k/s, read 317k entries/s with `XREADGROUP`
 * against 275k/s, reconnected by itself after a `kill -9` of the server, and needs nothing
 * installed. ioredis's extras (cluster, sentinel, scripted reconnect strategies) are not used here.
 */
import { RedisClient } from 'bun'

/** A client for the bus. Blocking reads (`XREADGROUP … BLOCK`) need a client of their own. */
export function busClient(url: string): RedisClient {
  return new RedisClient(url, {
    autoReconnect: true,
    maxRetries: 4_294_967_295,
    enableOfflineQueue: false,
    connectionTimeout: 2_000,
    // A consumer blocks for up to a second at a time; the connection is never idle for long.
    idleTimeout: 0,
  })
}

/** How long a command waits for the connection before Redis counts as down. */
export const CONNECT_WAIT_MS = 1_000

const connecting = new WeakMap<RedisClient, Promise<void>>()

/**
 * Connects, or throws once `ms` have passed without a connection. Bun's `connect()` on a client
 * whose server is away does not fail: it waits until its reconnection succeeds (one shared wait
 * per client here), so a bare `await connect()` would hang through an outage unseen.
 */
export async function connectWithin(client: RedisClient, ms = CONNECT_WAIT_MS): Promise<void> {
  if (client.connected) return
  let pending = connecting.get(client)
  if (pending === undefined) {
    pending = client.connect().finally(() => connecting.delete(client))
    connecting.set(client, pending)
  }
  let timer: ReturnType<typeof setTimeout> | undefined
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no connection to Redis within ${ms} ms`)), ms)
  })
  try {
    await Promise.race([pending, late])
  } finally {
    clearTimeout(timer)
  }
}

/** The Redis error's text without the client's prefixes, for logs and `/metrics` labels. */
export function redisErrorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err)
}

/** True for `NOGROUP`: the stream or its consumer group is gone (a Redis restart without data). */
export const isNoGroup = (err: unknown): boolean => /NOGROUP/.test(redisErrorText(err))

/** The URL without its password, for logs. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url)
    if (u.password) u.password = '***'
    return u.toString()
  } catch {
    return 'an invalid URL'
  }
}
