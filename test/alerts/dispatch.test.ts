/**
 * The dispatcher against a real (in-memory) database and a recording notifier; every wait is on
 * the dispatcher's own events.
 */
import { describe, expect, test } from 'bun:test'
import { Dispatcher } from '../../src/alerts/dispatch.ts'
import { formatAlert } from '../../src/alerts/format.ts'
import { NotifierError, type AlertText, type Notifier } from '../../src/alerts/notifier.ts'
import { ChatRepo } from '../../src/db/chats.ts'
import { deliveries } from '../../src/db/schema.ts'
import { Store } from '../../src/db/store.ts'
import { toRecord } from '../../src/detector/record.ts'
import type { Opportunity, Quote } from '../../src/detector/types.ts'
import { openMemoryDb, silent, stopAfterEach, until } from '../support.ts'

const track = stopAfterEach()

/** A notifier that records what it was asked, and fails on demand. */
class RecordingNotifier implements Notifier {
  readonly platform = 'telegram' as const
  readonly sent: { chatId: string; alert: AlertText; atMs: number }[] = []
  readonly edits: { chatId: string; messageId: string; alert: AlertText }[] = []
  readonly failures: NotifierError[] = []
  async send(chatId: string, alert: AlertText) {
    const f = this.failures.shift()
    if (f) throw f
    this.sent.push({ chatId, alert, atMs: Date.now() })
    return { messageId: String(this.sent.length) }
  }
  async edit(chatId: string, messageId: string, alert: AlertText) {
    this.edits.push({ chatId, messageId, alert })
  }
}

const quote = (netBps: number): Quote => ({
  grossBps: 50,
  netBps,
  sizeQuote: 1000,
  profitQuote: netBps / 10,
  maxSizeQuote: 4000,
  maxProfitQuote: 9,
  buyPrice: 60000.1,
  sellPrice: 60300,
  feeBps: 20,
  buyAgeMs: 12,
  sellAgeMs: 40,
})
function opportunity(openedAtMs: number): Opportunity {
  return {
    id: `cross:BTC/USDT:binance>kraken:${openedAtMs}`,
    kind: 'cross',
    symbol: 'BTC/USDT',
    buyVenue: 'binance',
    sellVenue: 'kraken',
    anomaly: false,
    openedAtMs,
    open: quote(30),
    last: quote(30),
    peakNetBps: 30,
    updatedAtMs: openedAtMs,
    closedAtMs: undefined,
    closeReason: undefined,
  }
}

async function setup(options: Partial<ConstructorParameters<typeof Dispatcher>[0]> = {}) {
  const handle = await openMemoryDb(track)
  const repo = new ChatRepo(handle.db)
  const notifier = new RecordingNotifier()
  const paused: string[] = []
  const store = new Store({ db: handle.db, log: silent })
  const make = () =>
    track(
      new Dispatcher({
        repo,
        notifiers: { telegram: notifier },
        pause: async (_p, chatId, reason) => void paused.push(`${chatId}: ${reason}`),
        log: silent,
        pollMs: 10,
        retryBaseMs: 10,
        editEveryMs: 50,
        ...options,
      }),
    )
  let opened = 0
  const open = async (chats: string[]) => {
    // Two openings in one millisecond are still two opportunities.
    const o = {
      ...opportunity(Date.now()),
      id: `cross:BTC/USDT:binance>kraken:${Date.now()}#${++opened}`,
    }
    const now = Date.now()
    store.record(
      { type: 'opened', opportunity: o, atMs: now },
      chats.map((chatId) => ({
        opportunityId: o.id,
        platform: 'telegram' as const,
        chatId,
        status: 'pending' as const,
        nextAttemptAtMs: now,
        netBps: 30,
        sizeQuote: 1000,
        createdAtMs: now,
      })),
    )
    await store.flush()
    return o
  }
  const rows = () => handle.db.select().from(deliveries)
  return { repo, notifier, paused, store, make, open, rows }
}

describe('dispatcher', () => {
  test('sends each pending delivery once, with the alert text, and records the message id', async () => {
    const { notifier, make, open, rows } = await setup()
    const o = await open(['a', 'b'])
    const dispatcher = make()
    const sent: string[] = []
    dispatcher.events.on((e) => void (e.type === 'delivery-sent' && sent.push(e.chatId)))
    const second = dispatcher.events.next('delivery-sent', (e) => e.chatId === 'b', 3000)
    await dispatcher.start()
    expect(await second).toMatchObject({ opportunityId: o.id, messageId: '2', attempts: 1 })
    const [row] = await rows()
    expect(row).toMatchObject({ status: 'sent', messageId: '1', attempts: 1 })
    expect(notifier.sent[0]!.alert.title).toBe('BTC/USDT: buy Binance, sell Kraken, net 0.30%')
    // Formatted from the one record the store wrote, read back.
    expect(notifier.sent[0]!.alert).toEqual(
      formatAlert(toRecord(o), { netBps: 30, sizeQuote: 1000 }, Date.now()),
    )
    // Three more passes: nothing is sent again.
    for (let i = 0; i < 3; i++) {
      const pass = dispatcher.events.next('pass-done', undefined, 3000)
      dispatcher.wake()
      await pass
    }
    expect(sent).toEqual(['a', 'b'])
    expect(notifier.sent).toHaveLength(2)
  })

  test('a 429 is retried after its retry_after, then delivered once', async () => {
    const { notifier, make, open, rows } = await setup()
    notifier.failures.push(
      new NotifierError('rate-limited', 'Too Many Requests: retry after 1', 300),
    )
    await open(['a'])
    const dispatcher = make()
    const retrying = dispatcher.events.next('delivery-retrying', undefined, 3000)
    const sent = dispatcher.events.next('delivery-sent', undefined, 3000)
    const started = Date.now()
    await dispatcher.start()
    const retry = await retrying
    expect(retry).toMatchObject({ chatId: 'a', kind: 'rate-limited', attempts: 1 })
    expect(retry.retryAtMs - started).toBeGreaterThanOrEqual(300)
    expect(await sent).toMatchObject({ chatId: 'a', attempts: 2 })
    expect(notifier.sent[0]!.atMs - started).toBeGreaterThanOrEqual(300)
    expect((await rows())[0]).toMatchObject({ status: 'sent', attempts: 2 })
    expect(dispatcher.stats.retried).toBe(1)
  })

  test('transient failures are retried with backoff and, after the last try, marked failed and counted', async () => {
    const { notifier, make, open, rows } = await setup({ maxAttempts: 3 })
    for (let i = 0; i < 3; i++)
      notifier.failures.push(new NotifierError('transient', 'Bad Gateway'))
    await open(['a'])
    const dispatcher = make()
    const failed = dispatcher.events.next('delivery-failed', undefined, 3000)
    await dispatcher.start()
    expect(await failed).toMatchObject({
      chatId: 'a',
      kind: 'transient',
      attempts: 3,
      error: 'transient: Bad Gateway',
    })
    expect(dispatcher.stats.failed).toBe(1)
    expect((await rows())[0]).toMatchObject({
      status: 'failed',
      attempts: 3,
      lastError: 'transient: Bad Gateway',
    })
    expect(notifier.sent).toHaveLength(0)
  })

  test('a chat that blocked the bot is paused and its deliveries fail', async () => {
    const { notifier, make, open, rows, paused } = await setup()
    notifier.failures.push(new NotifierError('forbidden', 'Forbidden: bot was blocked by the user'))
    await open(['a'])
    const dispatcher = make()
    const failed = dispatcher.events.next('delivery-failed', undefined, 3000)
    const pausedEvent = dispatcher.events.next('chat-paused', undefined, 3000)
    await dispatcher.start()
    expect(await failed).toMatchObject({ chatId: 'a', kind: 'forbidden' })
    expect(await pausedEvent).toEqual({
      type: 'chat-paused',
      platform: 'telegram',
      chatId: 'a',
      reason: 'Forbidden: bot was blocked by the user',
    })
    expect(paused[0]).toBe('a: Forbidden: bot was blocked by the user')
    expect((await rows())[0]!.status).toBe('failed')
  })

  test('the message is edited in place while it lasts and when it closes', async () => {
    const { notifier, make, open, store } = await setup()
    const o = await open(['a'])
    const dispatcher = make()
    const sent = dispatcher.events.next('delivery-sent', undefined, 3000)
    await dispatcher.start()
    await sent
    // An update at least editEveryMs (50) after the send is due for an edit.
    o.last = quote(45)
    o.peakNetBps = 45
    o.updatedAtMs = Date.now() + 100
    const edited = dispatcher.events.next('delivery-edited', (e) => !e.closed, 3000)
    store.record({ type: 'updated', opportunity: o, atMs: o.updatedAtMs })
    await store.flush()
    dispatcher.wake()
    await edited
    expect(notifier.edits[0]!.alert.footer).toContain('peak 0.45%')
    o.closedAtMs = o.openedAtMs + 42_000
    o.closeReason = 'spread fell below the threshold'
    const closed = dispatcher.events.next('delivery-edited', (e) => e.closed, 3000)
    store.record({ type: 'closed', opportunity: o, atMs: o.closedAtMs })
    await store.flush()
    dispatcher.wake()
    await closed
    const last = notifier.edits.at(-1)!
    expect(last.alert.tone).toBe('closed')
    expect(last.alert.footer).toBe('Closed after 42 s, peak 0.45%')
    expect(last.messageId).toBe('1')
    const count = notifier.edits.length
    for (let i = 0; i < 3; i++) {
      const pass = dispatcher.events.next('pass-done', undefined, 3000)
      dispatcher.wake()
      await pass
    }
    expect(notifier.edits).toHaveLength(count) // no more edits after the closing one
  })

  test('each chat is a queue: one send at a time per chat, at most `concurrency` chats at once', async () => {
    const { notifier, make, open } = await setup({ concurrency: 3 })
    // Sends wait for the test to let them through, so the in-flight picture can be checked.
    const inFlight: string[] = []
    let peak = 0
    const gates: (() => void)[] = []
    const send = notifier.send.bind(notifier)
    notifier.send = async (chatId, alert) => {
      expect(inFlight).not.toContain(chatId) // never two at once to one chat
      inFlight.push(chatId)
      peak = Math.max(peak, inFlight.length)
      await new Promise<void>((resolve) => gates.push(resolve))
      inFlight.splice(inFlight.indexOf(chatId), 1)
      return send(chatId, alert)
    }
    const first = await open(['a', 'b', 'c', 'd', 'e'])
    await until(() => Date.now() > first.openedAtMs, 1000, 'a new millisecond') // a new id
    const second = await open(['a'])
    const dispatcher = make()
    const sent: string[] = []
    dispatcher.events.on((e) => void (e.type === 'delivery-sent' && sent.push(e.chatId)))
    const all = dispatcher.events.next('delivery-sent', () => sent.length === 6, 5000)
    await dispatcher.start()
    let done = false
    const finish = () => void (done = true)
    all.then(finish, finish)
    while (!done) {
      await until(() => gates.length > 0 || done, 3000, 'a send in flight')
      gates.shift()?.()
    }
    await all
    expect(peak).toBe(3)
    expect(sent.toSorted()).toEqual(['a', 'a', 'b', 'c', 'd', 'e'])
    expect(notifier.sent.filter((m) => m.chatId === 'a')).toHaveLength(2)
    expect(first.id).not.toBe(second.id)
  })

  test('after a crash, pending deliveries are sent and one caught mid-send is never sent twice', async () => {
    const { notifier, make, open, repo, rows } = await setup()
    await open(['a', 'b'])
    const [first] = await rows()
    expect(await repo.claim(first!.id)).toBe(true) // the old process claimed it, then died
    const dispatcher = make()
    const interrupted = dispatcher.events.next('deliveries-interrupted', undefined, 3000)
    const sent = dispatcher.events.next('delivery-sent', undefined, 3000)
    await dispatcher.start()
    expect(await interrupted).toEqual({ type: 'deliveries-interrupted', count: 1 })
    expect((await sent).chatId).toBe('b')
    const pass = dispatcher.events.next('pass-done', undefined, 3000)
    dispatcher.wake()
    await pass
    expect(notifier.sent.map((s) => s.chatId)).toEqual(['b'])
    expect(dispatcher.stats.interrupted).toBe(1)
    // It may have been delivered: it is never recorded as failed, nor sent again.
    expect((await rows()).find((r) => r.chatId === 'a')).toMatchObject({ status: 'unknown' })
  })
})

describe('dispatcher: a chat’s messages per minute', () => {
  test('edits wait once a Telegram group had its budget of messages this minute; new alerts do not', async () => {
    const { notifier, make, open, store } = await setup({ messagesPerChatPerMinute: 2 })
    const a = await open(['-100123'])
    const b = await open(['-100123'])
    const dispatcher = make()
    const sent = dispatcher.events.next('delivery-sent', (e) => e.opportunityId === b.id, 3000)
    await dispatcher.start()
    await sent
    // Two messages this minute: an update of either waits for the next minute.
    for (const o of [a, b]) {
      o.last = quote(45)
      o.updatedAtMs = Date.now() + 100
      store.record({ type: 'updated', opportunity: o, atMs: o.updatedAtMs })
    }
    await store.flush()
    for (let i = 0; i < 3; i++) {
      const pass = dispatcher.events.next('pass-done', undefined, 3000)
      dispatcher.wake()
      await pass
    }
    expect(notifier.edits).toHaveLength(0)
    // A new opening still goes out at once.
    const c = await open(['-100123'])
    const third = dispatcher.events.next('delivery-sent', (e) => e.opportunityId === c.id, 3000)
    dispatcher.wake()
    await third
    expect(notifier.sent.filter((m) => m.chatId === '-100123')).toHaveLength(3)
  })

  test('a private chat is not held to the group budget: its edits go on', async () => {
    const { notifier, make, open, store } = await setup({ messagesPerChatPerMinute: 1 })
    const a = await open(['42'])
    const dispatcher = make()
    const sent = dispatcher.events.next('delivery-sent', (e) => e.opportunityId === a.id, 3000)
    await dispatcher.start()
    await sent
    a.last = quote(45)
    a.updatedAtMs = Date.now() + 100
    const edited = dispatcher.events.next('delivery-edited', undefined, 3000)
    store.record({ type: 'updated', opportunity: a, atMs: a.updatedAtMs })
    await store.flush()
    dispatcher.wake()
    await edited
    expect(notifier.edits).toHaveLength(1)
  })
})
