/**
 * @module
 * The live event stream behind `/api/stream`: one subscription to the detector and one venue-state
 * poll, each event serialised once and queued to every client, with bounds so that no client can
 * starve the others (a slow reader is dropped, one address holds few streams, a new client always
 * gets in).
 */
import { toRecord } from '../detector/record.ts'
import type { Opportunity, OpportunityEvent } from '../detector/types.ts'
import type { VenueStatus } from './status.ts'

/** The stream's bounds; every one has a default (README, "The HTTP API"). */
export interface StreamLimits {
  /** Most concurrent streams. At the cap a new client replaces the slowest one (default 100). */
  readonly maxStreams?: number
  /** Most concurrent streams from one client address; more are refused with 429 (default 10). */
  readonly maxStreamsPerIp?: number
  /**
   * Most bytes queued for one client that its socket has not taken yet (what the kernel's own
   * buffers hold is not counted). A client past it is dropped (default 256 KiB).
   */
  readonly maxBufferedBytes?: number
  /** How often venue states are checked for changes (default 1000 ms). */
  readonly pollMs?: number
  /**
   * A client sent nothing for this long gets a ping (default 8000 ms: below Bun's default 10 s idle
   * timeout, and proxies').
   */
  readonly pingMs?: number
}

/** What the stream reports (in `/api/status` as `stream`). */
export interface StreamStats {
  /** Streams open now. */
  clients: number
  /** Streams ever accepted. */
  accepted: number
  /** Streams closed by the server: `slow` (its unsent buffer passed the bound), `evicted` (the cap). */
  dropped: { slow: number; evicted: number }
  /** Streams refused because their address already held `maxStreamsPerIp`. */
  refusedPerIp: number
}

/** What the stream sends: opportunity events, and each venue's status (keyed by venue). */
export interface StreamSource {
  subscribe(listener: (event: OpportunityEvent) => void): () => void
  openOpportunities(): readonly Opportunity[]
  venues(): Partial<Record<string, VenueStatus>>
  now(): number
}

/**
 * An opportunity as the stream sends it: the same record `/api/opportunities` returns, plus the
 * full quotes it opened with and has now (`open`, `last`), which stream clients read.
 */
const streamed = (o: Opportunity) => ({ ...toRecord(o), open: o.open, last: o.last })

const encoder = new TextEncoder()
const frame = (event: string, data: unknown): Uint8Array =>
  encoder.encode(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`)
const PING = frame('ping', {})

/** Why a stream ended on the server's side (the error its body stream is failed with). */
export class StreamDropped extends Error {
  override name = 'StreamDropped'
  constructor(readonly reason: 'slow' | 'evicted' | 'shutdown') {
    super(`stream dropped: ${reason}`)
  }
}

class Client {
  lastWriteMs = performance.now()
  controller!: ReadableStreamDefaultController<Uint8Array>
  readonly body: ReadableStream<Uint8Array>

  constructor(
    readonly ip: string,
    readonly seq: number,
    onCancel: () => void,
  ) {
    // High-water mark 0: Bun pulls a chunk only when the socket can take it, so the queue that
    // builds up is exactly what a slow reader has not accepted.
    this.body = new ReadableStream<Uint8Array>(
      {
        start: (controller) => {
          this.controller = controller
        },
        cancel: onCancel,
      },
      new ByteLengthQueuingStrategy({ highWaterMark: 0 }),
    )
  }

  /** Queues a chunk; returns the bytes now waiting for the socket. */
  write(chunk: Uint8Array): number {
    this.controller.enqueue(chunk)
    this.lastWriteMs = performance.now()
    return this.unsent()
  }

  /** Bytes the socket has not taken: the body's queue, counted in bytes (it shrinks as Bun pulls). */
  unsent(): number {
    return -(this.controller.desiredSize ?? 0)
  }
}

/**
 * Fans the detector's events and venue changes out to stream clients. Runs its one subscription
 * and poll only while clients are connected.
 *
 * @example
 * ```ts
 * const hub = new StreamHub(source, { maxStreams: 100, maxStreamsPerIp: 10 })
 * const opened = hub.open('203.0.113.7')
 * if (opened !== 'refused') return new Response(opened, { headers: { 'content-type': 'text/event-stream' } })
 * ```
 */
export class StreamHub {
  readonly #source: StreamSource
  readonly #maxStreams: number
  readonly #maxPerIp: number
  readonly #maxBuffered: number
  readonly #pollMs: number
  readonly #pingMs: number
  readonly #clients = new Set<Client>()
  readonly #perIp = new Map<string, number>()
  readonly #states = new Map<string, string>()
  #seq = 0
  #unsubscribe: (() => void) | undefined
  #timer: ReturnType<typeof setInterval> | undefined
  readonly #stats: StreamStats = {
    clients: 0,
    accepted: 0,
    dropped: { slow: 0, evicted: 0 },
    refusedPerIp: 0,
  }

  constructor(source: StreamSource, limits: StreamLimits = {}) {
    this.#source = source
    this.#maxStreams = Math.max(1, limits.maxStreams ?? 100)
    this.#maxPerIp = Math.max(1, limits.maxStreamsPerIp ?? 10)
    this.#maxBuffered = limits.maxBufferedBytes ?? 256 * 1024
    this.#pollMs = limits.pollMs ?? 1000
    this.#pingMs = limits.pingMs ?? 8000
  }

  get stats(): Readonly<StreamStats> {
    return { ...this.#stats, dropped: { ...this.#stats.dropped }, clients: this.#clients.size }
  }

  /**
   * A new client's event stream, starting with `hello` (the open opportunities) and every venue's
   * state; 'refused' when `ip` already holds `maxStreamsPerIp` streams. At `maxStreams` the
   * slowest client (most unsent bytes, then from the address holding most streams, then the
   * oldest) is dropped to make room, so a new client always gets in.
   */
  open(ip: string): ReadableStream<Uint8Array> | 'refused' {
    if ((this.#perIp.get(ip) ?? 0) >= this.#maxPerIp) {
      this.#stats.refusedPerIp++
      return 'refused'
    }
    while (this.#clients.size >= this.#maxStreams) this.#drop(this.#victim()!, 'evicted')
    const client: Client = new Client(ip, this.#seq++, () => this.#remove(client))
    this.#clients.add(client)
    this.#perIp.set(ip, (this.#perIp.get(ip) ?? 0) + 1)
    this.#stats.accepted++
    if (this.#clients.size === 1) this.#startSources()
    const source = this.#source
    const open = source.openOpportunities().map(streamed)
    client.write(frame('hello', { atMs: source.now(), open }))
    for (const [venue, v] of Object.entries(source.venues()))
      client.write(frame('venue', { venue, ...v }))
    return client.body
  }

  /** Ends every stream (shutdown). */
  close(): void {
    for (const c of [...this.#clients]) this.#drop(c, 'shutdown')
  }

  /** The client to drop for a new one: most unsent bytes, then busiest address, then oldest. */
  #victim(): Client | undefined {
    const rank = (c: Client) => [c.unsent(), this.#perIp.get(c.ip) ?? 0, -c.seq]
    let victim: Client | undefined
    let best: number[] = []
    for (const c of this.#clients) {
      const r = rank(c)
      const i = r.findIndex((x, j) => x !== best[j])
      if (victim === undefined || (i >= 0 && r[i]! > best[i]!)) [victim, best] = [c, r]
    }
    return victim
  }

  #broadcast(chunk: Uint8Array): void {
    for (const c of this.#clients) if (c.write(chunk) > this.#maxBuffered) this.#drop(c, 'slow')
  }

  #startSources(): void {
    this.#unsubscribe = this.#source.subscribe((e) =>
      this.#broadcast(
        frame('opportunity', { type: e.type, atMs: e.atMs, opportunity: streamed(e.opportunity) }),
      ),
    )
    // Changes are found against the states when the first client came (it was sent them all).
    for (const [venue, v] of Object.entries(this.#source.venues()))
      this.#states.set(venue, signature(v))
    this.#timer = setInterval(() => this.#tick(), this.#pollMs)
  }

  #stopSources(): void {
    this.#unsubscribe?.()
    this.#unsubscribe = undefined
    clearInterval(this.#timer)
    this.#timer = undefined
    this.#states.clear()
  }

  /** Venue changes to everyone; a ping to whoever has had nothing for `pingMs`. */
  #tick(): void {
    for (const [venue, v] of Object.entries(this.#source.venues())) {
      const sig = signature(v)
      if (this.#states.get(venue) === sig) continue
      this.#states.set(venue, sig)
      this.#broadcast(frame('venue', { venue, ...v }))
    }
    const quietSince = performance.now() - this.#pingMs
    for (const c of [...this.#clients]) {
      if (c.lastWriteMs > quietSince) continue
      if (c.write(PING) > this.#maxBuffered) this.#drop(c, 'slow')
    }
  }

  #drop(client: Client, reason: StreamDropped['reason']): void {
    if (!this.#remove(client)) return
    if (reason !== 'shutdown') this.#stats.dropped[reason]++
    // Nothing queued: end the response cleanly (failing a body Bun is reading from is logged as an
    // error). Something queued: fail the body, which discards the queue at once.
    if (client.unsent() === 0) client.controller.close()
    else client.controller.error(new StreamDropped(reason))
  }

  #remove(client: Client): boolean {
    if (!this.#clients.delete(client)) return false
    const left = (this.#perIp.get(client.ip) ?? 1) - 1
    if (left === 0) this.#perIp.delete(client.ip)
    else this.#perIp.set(client.ip, left)
    if (this.#clients.size === 0) this.#stopSources()
    return true
  }
}

/**
 * What makes a venue's state "changed": its state, its connections by state, its books by state
 * and a REST pause (not every message count, which changes all the time).
 */
const signature = (v: VenueStatus | undefined): string => {
  if (v === undefined) return 'none'
  const c = v.connections
  const b = v.books
  return `${v.state}|${c.connected}/${c.connecting}/${c.down}|${b.live}/${b.syncing}/${b.stale}|${v.rest?.pausedUntilMs ?? ''}`
}
