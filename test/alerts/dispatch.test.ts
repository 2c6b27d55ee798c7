/**
 * The dispatcher against a real (in-memory) database and a recording notifier; every wait is on
 * the dispatcher's own events.
 */
import { describe, expect, test } from 'bun:test'
import { DIGEST_SHORT, Dispatcher } from '../../src/alerts/dispatch.ts'
import { alertButtons } from '../../src/alerts/buttons.ts'
import { Fanout, type AlertChat } from '../../src/alerts/fanout.ts'
import { formatAlert } from '../../src/alerts/format.ts'
import { NotifierError, type AlertText, type Notifier } from '../../src/alerts/notifier.ts'
import { ChatRepo } from '../../src/db/chats.ts'
import { deliveries } from '../../src/db/schema.ts'
import { Store } from '../../src/db/store.ts'
import { toRecord } from '../../src/detector/record.ts'
import { maxSizeAtThreshold } from '../../src/detector/spread.ts'
import type { Opportunity, Quote } from '../../src/detector/types.ts'
import { toLevels } from '../../src/venues/venue.ts'
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
    // Formatted from the one record the store wrote, read back, with its buttons.
    expect(notifier.sent[0]!.alert).toEqual({
      ...formatAlert(toRecord(o), { netBps: 30, sizeQuote: 1000 }, Date.now()),
      buttons: alertButtons(row!.id, 'BTC/USDT'),
    })
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

describe('dispatcher: the related openings of a pass as one message', () => {
  /** Opens routes buying on `buy` and selling on `sell` at `net`, in one pass, for `chats`. */
  async function openPass(
    store: Store,
    routes: readonly { buy: string; sell: string; net: number }[],
    chats: readonly string[],
    pass = 1,
  ) {
    const now = Date.now()
    const opened: Opportunity[] = []
    for (const r of routes) {
      const o: Opportunity = {
        ...opportunity(now),
        id: `cross:BTC/USDT:${r.buy}>${r.sell}:${now}#${pass}`,
        buyVenue: r.buy,
        sellVenue: r.sell,
        open: quote(r.net),
        last: quote(r.net),
        peakNetBps: r.net,
      }
      opened.push(o)
      store.record(
        { type: 'opened', opportunity: o, atMs: now, pass },
        chats.map((chatId) => ({
          opportunityId: o.id,
          platform: 'telegram' as const,
          chatId,
          status: 'pending' as const,
          nextAttemptAtMs: now,
          netBps: r.net,
          sizeQuote: 1000,
          createdAtMs: now,
          groupKey: `${now}.${pass}|BTC`,
        })),
      )
    }
    await store.flush()
    return opened
  }

  test('one message per chat lists every route, best first; each delivery is sent, with one message id', async () => {
    const { notifier, make, store, rows } = await setup()
    await openPass(
      store,
      [
        { buy: 'binance', sell: 'kraken', net: 30 },
        { buy: 'binance', sell: 'okx', net: 55 },
      ],
      ['a', 'b'],
    )
    const dispatcher = make()
    const sent: string[] = []
    dispatcher.events.on((e) => void (e.type === 'delivery-sent' && sent.push(e.chatId)))
    const all = dispatcher.events.next('delivery-sent', () => sent.length === 4, 3000)
    await dispatcher.start()
    await all
    expect(notifier.sent.map((m) => m.chatId).sort()).toEqual(['a', 'b'])
    const alert = notifier.sent.find((m) => m.chatId === 'a')!.alert
    expect(alert.title).toBe('BTC/USDT: buy Binance, sell on OKX and Kraken, best net 0.55%')
    expect(alert.lines[0]).toStartWith('1. Sell on OKX at 60,300.00: net 0.55%')
    expect(alert.lines[1]).toStartWith('2. Sell on Kraken at 60,300.00: net 0.30%')
    const list = await rows()
    expect(list.every((r) => r.status === 'sent' && r.attempts === 1)).toBe(true)
    const ofA = list.filter((r) => r.chatId === 'a')
    expect(new Set(ofA.map((r) => r.messageId)).size).toBe(1)
    // The buttons: mute the market, the details of the best route (OKX's delivery), stop.
    const okx = ofA.find((r) => r.opportunityId.includes('>okx'))!
    expect(alert.buttons).toEqual(alertButtons(okx.id, 'BTC/USDT'))
  })

  test('the message is edited as its routes update and close, and no more once all are closed', async () => {
    const { notifier, make, store } = await setup()
    const [kraken, okx] = await openPass(
      store,
      [
        { buy: 'binance', sell: 'kraken', net: 30 },
        { buy: 'binance', sell: 'okx', net: 55 },
      ],
      ['a'],
    )
    const dispatcher = make()
    const sent = dispatcher.events.next('delivery-sent', undefined, 3000)
    await dispatcher.start()
    await sent
    // OKX closes: the one message says so, Kraken's route still open.
    okx!.closedAtMs = okx!.openedAtMs + 5000
    okx!.updatedAtMs = okx!.closedAtMs
    okx!.closeReason = 'spread fell below the threshold'
    const closedOne = dispatcher.events.next('delivery-edited', (e) => e.closed, 3000)
    store.record({ type: 'closed', opportunity: okx!, atMs: okx!.closedAtMs })
    await store.flush()
    dispatcher.wake()
    await closedOne
    const first = notifier.edits.at(-1)!
    expect(first.messageId).toBe('1')
    expect(first.alert.lines[0]).toStartWith('1. Sell on Kraken')
    expect(first.alert.lines[1]).toBe('2. Sell on OKX at 60,300.00: closed after 5 s, peak 0.55%')
    expect(first.alert.footer).toContain('1 of 2 routes open')
    // Kraken closes too: the message is closed, and left alone after that.
    kraken!.closedAtMs = kraken!.openedAtMs + 9000
    kraken!.updatedAtMs = kraken!.closedAtMs
    kraken!.closeReason = 'spread fell below the threshold'
    const closedAll = dispatcher.events.next(
      'delivery-edited',
      (e) => e.closed && e.opportunityId === kraken!.id,
      3000,
    )
    store.record({ type: 'closed', opportunity: kraken!, atMs: kraken!.closedAtMs })
    await store.flush()
    dispatcher.wake()
    await closedAll
    expect(notifier.edits.at(-1)!.alert.title).toStartWith('Closed: BTC/USDT: buy Binance')
    expect(notifier.edits.at(-1)!.alert.footer).toBe('Closed after 9 s, peak 0.55%')
    const count = notifier.edits.length
    for (let i = 0; i < 3; i++) {
      const pass = dispatcher.events.next('pass-done', undefined, 3000)
      dispatcher.wake()
      await pass
    }
    expect(notifier.edits).toHaveLength(count)
    expect(notifier.sent).toHaveLength(1)
  })

  test('routes of a pass that share no venue on one side go out separately', async () => {
    const { notifier, make, store } = await setup()
    await openPass(
      store,
      [
        { buy: 'binance', sell: 'kraken', net: 30 },
        { buy: 'kraken', sell: 'okx', net: 40 },
      ],
      ['a'],
    )
    const dispatcher = make()
    const sent: string[] = []
    dispatcher.events.on((e) => void (e.type === 'delivery-sent' && sent.push(e.opportunityId)))
    const both = dispatcher.events.next('delivery-sent', () => sent.length === 2, 3000)
    await dispatcher.start()
    await both
    expect(notifier.sent.map((m) => m.alert.title).sort()).toEqual([
      'BTC/USDT: buy Binance, sell Kraken, net 0.30%',
      'BTC/USDT: buy Kraken, sell OKX, net 0.40%',
    ])
  })

  test('another pass is another message, even in the same millisecond', async () => {
    const { notifier, make, store } = await setup()
    await openPass(store, [{ buy: 'binance', sell: 'kraken', net: 30 }], ['a'], 1)
    await openPass(store, [{ buy: 'binance', sell: 'okx', net: 40 }], ['a'], 2)
    const dispatcher = make()
    const sent: string[] = []
    dispatcher.events.on((e) => void (e.type === 'delivery-sent' && sent.push(e.opportunityId)))
    const both = dispatcher.events.next('delivery-sent', () => sent.length === 2, 3000)
    await dispatcher.start()
    await both
    expect(notifier.sent).toHaveLength(2)
  })
})

describe('dispatcher: /digest', () => {
  const H = 3_600_000

  /** Writes an opportunity with a `digest` delivery for each chat, due at `dueAtMs`. */
  async function openForDigest(
    store: Store,
    chats: readonly string[],
    dueAtMs: number,
    atMs: number,
    extra: Partial<Opportunity> = {},
  ) {
    const o = { ...opportunity(atMs), id: `cross:BTC/USDT:binance>kraken:${atMs}`, ...extra }
    store.record(
      { type: 'opened', opportunity: o, atMs },
      chats.map((chatId) => ({
        opportunityId: o.id,
        platform: 'telegram' as const,
        chatId,
        status: 'digest' as const,
        nextAttemptAtMs: dueAtMs,
        netBps: 30,
        sizeQuote: 1000,
        createdAtMs: atMs,
      })),
    )
    await store.flush()
    return o
  }

  /** Runs `n` passes of the dispatcher, each waited for. */
  async function passes(dispatcher: Dispatcher, n = 2) {
    for (let i = 0; i < n; i++) {
      const pass = dispatcher.events.next('pass-done', undefined, 3000)
      dispatcher.wake()
      await pass
    }
  }

  test('nothing is sent before the period ends; then one summary, every delivery recorded digested', async () => {
    const due = Date.UTC(2030, 0, 1, 15)
    let clock = due - 10 * 60_000
    const { notifier, make, store, rows } = await setup({
      now: () => clock,
      digestOf: () => ({ periodMs: H, minLifetimeMs: null }),
    })
    const a = await openForDigest(store, ['a'], due, due - 40 * 60_000)
    const b = await openForDigest(store, ['a'], due, due - 20 * 60_000, { peakNetBps: 70 })
    const dispatcher = make()
    await dispatcher.start()
    await passes(dispatcher)
    expect(notifier.sent).toHaveLength(0)
    expect((await rows()).map((r) => r.status)).toEqual(['digest', 'digest'])
    clock = due + 5
    const digest = dispatcher.events.next('digest-sent', undefined, 3000)
    dispatcher.wake()
    const event = await digest
    expect(event).toMatchObject({ chatId: 'a', dueAtMs: due, messageId: '1' })
    expect(notifier.sent).toHaveLength(1)
    const text = notifier.sent[0]!.alert
    expect(text.title).toBe('Digest 2030-01-01 14:00–15:00 UTC: 2 openings')
    expect(text.lines[2]).toStartWith('1. BTC/USDT buy Binance, sell Kraken: peak 0.70%')
    expect(text.lines).toContain(`The arithmetic of the best: /explain ${b.id}`)
    expect(a.id).not.toBe(b.id)
    expect((await rows()).map((r) => [r.status, r.messageId])).toEqual([
      ['digested', '1'],
      ['digested', '1'],
    ])
    await passes(dispatcher)
    expect(notifier.sent).toHaveLength(1)
    expect(dispatcher.stats).toMatchObject({ digests: 1, digested: 2, sent: 0 })
  })

  test('a digest due while the process was down is sent after the restart, once; one caught mid-send never again', async () => {
    const due = Date.UTC(2030, 0, 1, 15)
    let clock = due - 60_000
    const { notifier, make, store, rows, repo } = await setup({
      now: () => clock,
      digestOf: () => ({ periodMs: H, minLifetimeMs: null }),
    })
    await openForDigest(store, ['a', 'b'], due, due - 30 * 60_000)
    const before = make()
    await before.start()
    await passes(before)
    await before.stop() // the process stops before 15:00
    expect(notifier.sent).toHaveLength(0)
    // Chat b's digest was claimed by a process that died while sending it.
    clock = due + 3 * H
    expect(await repo.claimDigest('telegram', 'b', due)).toHaveLength(1)
    const after = make()
    const sent = after.events.next('digest-sent', undefined, 3000)
    await after.start()
    expect((await sent).chatId).toBe('a')
    await passes(after)
    expect(notifier.sent.map((m) => m.chatId)).toEqual(['a'])
    expect((await rows()).map((r) => [r.chatId, r.status])).toEqual([
      ['a', 'digested'],
      ['b', 'unknown'],
    ])
    // Another restart sends nothing more.
    await after.stop()
    const again = make()
    await again.start()
    await passes(again)
    expect(notifier.sent).toHaveLength(1)
  })

  test('openings that closed before the chat’s /lifetime are left out and marked dropped', async () => {
    const due = Date.UTC(2030, 0, 1, 15)
    const { notifier, make, store, rows } = await setup({
      now: () => due,
      digestOf: () => ({ periodMs: H, minLifetimeMs: 10_000 }),
    })
    const at = due - 30 * 60_000
    // Both opened, then closed: after 2 s (shorter than the lifetime) and after a minute.
    const short = await openForDigest(store, ['a'], due, at)
    const long = await openForDigest(store, ['a'], due, at + 1, { id: 'long' })
    for (const [o, lastedMs] of [
      [short, 2000],
      [long, 60_000],
    ] as const) {
      const closed = { ...o, closedAtMs: o.openedAtMs + lastedMs, closeReason: 'gone' }
      closed.updatedAtMs = closed.closedAtMs
      store.record({ type: 'closed', opportunity: closed, atMs: closed.closedAtMs })
    }
    await store.flush()
    const dispatcher = make()
    const sent = dispatcher.events.next('digest-sent', undefined, 3000)
    await dispatcher.start()
    expect((await sent).deliveryIds).toHaveLength(1)
    expect(notifier.sent[0]!.alert.title).toEndWith('1 opening')
    expect((await rows()).map((r) => [r.status, r.lastError])).toEqual([
      ['dropped', DIGEST_SHORT],
      ['digested', null],
    ])
  })

  test('a digest refused with a 429 waits for its retry_after and is sent once', async () => {
    const due = Date.now() - 1000
    const { notifier, make, store, rows } = await setup()
    notifier.failures.push(new NotifierError('rate-limited', 'Too Many Requests', 200))
    await openForDigest(store, ['a'], due, due - 60_000)
    const dispatcher = make()
    const retrying = dispatcher.events.next('digest-retrying', undefined, 3000)
    const sent = dispatcher.events.next('digest-sent', undefined, 3000)
    await dispatcher.start()
    expect(await retrying).toMatchObject({ kind: 'rate-limited', attempts: 1 })
    await sent
    expect(notifier.sent).toHaveLength(1)
    expect((await rows())[0]).toMatchObject({ status: 'digested', attempts: 2 })
  })
})

describe('dispatcher: the largest profitable size at each chat’s threshold', () => {
  test('chats with different thresholds get different figures, through the fan-out and the database; edits keep them consistent', async () => {
    const { notifier, make, store, rows } = await setup()
    // No fees: buy 1 at 100, 1 at 101, 10 at 103; sell at 102. MIN_SPREAD_PCT 1 %, trade size 100.
    const books = {
      asks: toLevels([
        ['100', '1'],
        ['101', '1'],
        ['103', '10'],
      ]),
      bids: toLevels([['102', '100']]),
      buyFeeBps: 0,
      sellFeeBps: 0,
    }
    const maxAt = (thresholdBps: number) => maxSizeAtThreshold({ ...books, thresholdBps })
    const chat = (chatId: string, thresholdBps: number | null): AlertChat => ({
      platform: 'telegram',
      chatId,
      active: true,
      thresholdBps,
      sizeQuote: null,
      mutedUntilMs: null,
      symbols: new Set(['BTC/USDT']),
    })
    const fanout = new Fanout({
      chats: () => [chat('low', 50), chat('global', null), chat('high', 160)],
      defaultThresholdBps: 100,
      defaultSizeQuote: 100,
    })
    // 100 USDT buys 1 at 100 and sells it at 102: 2 %.
    const now = Date.now()
    const atGlobal = maxAt(100)
    const opening: Quote = {
      ...quote(200),
      sizeQuote: 100,
      profitQuote: 2,
      maxSizeQuote: atGlobal.maxSizeQuote,
      maxProfitQuote: atGlobal.maxProfitQuote,
    }
    const o: Opportunity = { ...opportunity(now), open: opening, last: opening, peakNetBps: 200 }
    store.record(
      { type: 'opened', opportunity: o, atMs: now },
      fanout.deliveries(o, now, () => undefined, undefined, maxAt),
    )
    await store.flush()
    // Past the second level, 201 spent for 204 back, each unit more returns 102/103:
    // q = (204 − 201·102/103) / (1 + T − 102/103) at T = 0.5 % and 1 %; inside the second level at
    // 1.6 %: q = (102 − 100·102/101) / (1.016 − 102/101).
    const third = (t: number) => (204 - (201 * 102) / 103) / (1 + t - 102 / 103)
    const second = (102 - (100 * 102) / 101) / (1.016 - 102 / 101)
    const expected = {
      low: 'Largest profitable size at your 0.50% threshold: 336.63 USDT (est. 1.68 USDT)',
      global: 'Largest profitable size at your 1.00% threshold: 251.23 USDT (est. 2.51 USDT)',
      high: 'Largest profitable size at your 1.60% threshold: 165.58 USDT (est. 2.65 USDT)',
    }
    expect([third(0.005), 0.005 * third(0.005)].map((x) => x.toFixed(2))).toEqual([
      '336.63',
      '1.68',
    ])
    expect([third(0.01), 0.01 * third(0.01)].map((x) => x.toFixed(2))).toEqual(['251.23', '2.51'])
    expect([second, 0.016 * second].map((x) => x.toFixed(2))).toEqual(['165.58', '2.65'])
    const stored = await rows()
    expect(stored.map((r) => [r.chatId, r.thresholdBps, r.maxSizeQuote])).toEqual([
      ['low', 50, maxAt(50).maxSizeQuote],
      ['global', 100, null],
      ['high', 160, maxAt(160).maxSizeQuote],
    ])

    const dispatcher = make()
    const sent: string[] = []
    dispatcher.events.on((e) => void (e.type === 'delivery-sent' && sent.push(e.chatId)))
    const all = dispatcher.events.next('delivery-sent', () => sent.length === 3, 3000)
    await dispatcher.start()
    await all
    const line = (alert: AlertText) => alert.lines.find((l) => l.startsWith('Largest'))
    for (const m of notifier.sent)
      expect(line(m.alert)).toBe(expected[m.chatId as keyof typeof expected])

    // The books move (an update at least editEveryMs after the sends): every chat's net is the
    // record's current one; the chat at MIN_SPREAD_PCT gets the record's current largest size,
    // the others keep theirs from the opening and say so.
    o.last = { ...opening, netBps: 150, profitQuote: 1.5, maxSizeQuote: 180, maxProfitQuote: 1.9 }
    o.updatedAtMs = Date.now() + 100
    const edited: string[] = []
    dispatcher.events.on((e) => void (e.type === 'delivery-edited' && edited.push(e.chatId)))
    const edits = dispatcher.events.next('delivery-edited', () => edited.length === 3, 3000)
    store.record({ type: 'updated', opportunity: o, atMs: o.updatedAtMs })
    await store.flush()
    dispatcher.wake()
    await edits
    const after = Object.fromEntries(notifier.edits.map((e) => [e.chatId, e.alert]))
    for (const alert of Object.values(after)) {
      expect(alert.title).toBe('BTC/USDT: buy Binance, sell Kraken, net 1.50%')
      expect(alert.lines).toContain('Size 100.00 USDT: est. profit 1.50 USDT')
    }
    expect(line(after.global!)).toBe(
      'Largest profitable size at your 1.00% threshold: 180.00 USDT (est. 1.90 USDT)',
    )
    expect(line(after.low!)).toBe(expected.low.replace(')', ', as it opened)'))
    expect(line(after.high!)).toBe(expected.high.replace(')', ', as it opened)'))
  })
})
