/**
 * @module
 * A local WebSocket + REST server on 127.0.0.1 (port 0) that simulated venues build on. It records what
 * clients send, lets the fake push frames, and injects faults: garbage, disconnects, stalls, and a
 * close in the middle of a frame.
 */
import type { Server, ServerWebSocket } from 'bun'

export interface ClientData {
  path: string
  id: number
}
export type Client = ServerWebSocket<ClientData>

export interface Protocol {
  /** Answers a REST request, or returns undefined for 404. */
  rest?(url: URL, req: Request): Response | undefined | Promise<Response | undefined>
  onOpen?(client: Client): void
  onMessage?(client: Client, text: string): void
  onClose?(client: Client): void
  /**
   * Answers a WebSocket upgrade in place of accepting it (a venue's connection-rate limit, a URL
   * it refuses), or returns undefined to accept it.
   */
  refuseUpgrade?(url: URL, req: Request): Response | undefined
}

export class SimServer {
  readonly server: Server<ClientData>
  readonly clients = new Set<Client>()
  /** Every text frame clients sent, in order, and when it arrived (local ms). */
  readonly received: { client: number; text: string; atMs: number }[] = []
  /** Every REST request path (with query). */
  readonly requests: string[] = []
  /** When each of `requests` arrived, local ms. */
  readonly requestTimesMs: number[] = []
  connections = 0
  /** WebSocket upgrades refused while `refuseConnections` was set. */
  refused = 0
  /** While true, frames to clients are swallowed and client frames ignored (a stalled server). */
  stalled = false
  /** Client frames this says yes to are lost on the way in (a subscribe that never arrives). */
  loseClientFrames: ((text: string) => boolean) | undefined = undefined
  /** Client frames lost through `loseClientFrames`. */
  lostClientFrames = 0
  /** While true, new WebSocket upgrades are refused with 503. */
  refuseConnections = false
  readonly #waiters: { check: () => boolean; resolve: () => void }[] = []
  #protocol: Protocol

  constructor(protocol: Protocol) {
    this.#protocol = protocol
    let nextId = 0
    this.server = Bun.serve<ClientData>({
      hostname: '127.0.0.1',
      port: 0,
      fetch: async (req, server) => {
        const url = new URL(req.url)
        if (req.headers.get('upgrade')?.toLowerCase() === 'websocket') {
          if (this.refuseConnections) {
            this.refused++
            this.#notify()
            return new Response('unavailable', { status: 503 })
          }
          const refusal = this.#protocol.refuseUpgrade?.(url, req)
          if (refusal !== undefined) {
            this.#notify()
            return refusal
          }
          if (server.upgrade(req, { data: { path: url.pathname + url.search, id: ++nextId } }))
            return undefined
          return new Response('upgrade failed', { status: 400 })
        }
        this.requests.push(url.pathname + url.search)
        this.requestTimesMs.push(Date.now())
        this.#notify()
        const res = await this.#protocol.rest?.(url, req)
        return res ?? Response.json({ error: 'not found' }, { status: 404 })
      },
      websocket: {
        open: (ws) => {
          this.clients.add(ws)
          this.connections++
          this.#protocol.onOpen?.(ws)
          this.#notify()
        },
        message: (ws, message) => {
          if (this.stalled) return
          const text = typeof message === 'string' ? message : new TextDecoder().decode(message)
          if (this.loseClientFrames?.(text)) {
            this.lostClientFrames++
            this.#notify()
            return
          }
          this.received.push({ client: ws.data.id, text, atMs: Date.now() })
          this.#protocol.onMessage?.(ws, text)
          this.#notify()
        },
        close: (ws) => {
          this.clients.delete(ws)
          this.#protocol.onClose?.(ws)
          this.#notify()
        },
      },
    })
  }

  get port(): number {
    return this.server.port!
  }
  get wsUrl(): string {
    return `ws://127.0.0.1:${this.port}`
  }
  get restUrl(): string {
    return `http://127.0.0.1:${this.port}`
  }

  /** Sends a text frame to one client or all. */
  send(frame: string, to?: Client): void {
    if (this.stalled) return
    if (to) to.send(frame)
    else for (const c of this.clients) c.send(frame)
  }

  /** Sends a binary frame to one client or all (HTX gzip, MEXC protobuf). */
  sendBytes(bytes: Uint8Array, to?: Client): void {
    if (this.stalled) return
    if (to) to.sendBinary(bytes)
    else for (const c of this.clients) c.sendBinary(bytes)
  }

  /** Closes every client connection (a clean close frame). */
  disconnectAll(code = 1001, reason = 'going away'): void {
    for (const c of this.clients) c.close(code, reason)
  }

  /** Drops every connection without a close frame, as a server dying mid-message would. */
  terminateAll(): void {
    for (const c of this.clients) c.terminate()
  }

  /**
   * A server dying mid-message: the first half of `frame` goes out (the client sees truncated JSON)
   * and the TCP connection is dropped without a close frame.
   */
  closeMidMessage(frame: string): void {
    for (const c of this.clients) {
      c.sendText(frame.slice(0, frame.length >> 1))
      c.terminate()
    }
  }

  /** Resolves when `check()` holds, re-checked after every server event. */
  waitFor(check: () => boolean, timeoutMs = 5000, what = 'condition'): Promise<void> {
    if (check()) return Promise.resolve()
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`timed out waiting for ${what}`)), timeoutMs)
      this.#waiters.push({
        check,
        resolve: () => {
          clearTimeout(timer)
          resolve()
        },
      })
    })
  }

  #notify(): void {
    for (let i = this.#waiters.length - 1; i >= 0; i--) {
      const w = this.#waiters[i]!
      if (w.check()) {
        this.#waiters.splice(i, 1)
        w.resolve()
      }
    }
  }

  stop(): void {
    this.server.stop(true)
  }
}
