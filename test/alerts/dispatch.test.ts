import { afterEach, describe, expect, test } from 'bun:test'
import { Dispatcher } from '../../src/alerts/dispatch.ts'
import { formatAlert } from '../../src/alerts/format.ts'
import { NotifierError, type AlertText, type Notifier } from '../../src/chat/notifier.ts'
import { ChatRepo } from '../../src/db/chats.ts'
import { openDb, runMigrations, type DbHandle } from '../../src/db/client.ts'
import { deliveries } from '../../src/db/schema.ts'
import { Store } from '../../src/db/store.ts'
import type { Opportunity, Quote } from '../../src/detector/types.ts'
import { silent, until } from '../support.ts'

let handle: DbHandle | undefined
let dispatcher: Dispatcher | undefined
afterEach(async () => {
  await dispatcher?.stop()
  handle?.close()
  handle = dispatcher = undefined
})

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
  handle = await openDb({ url: ':memory:' })
  await runMigrations(handle.db)
  const repo = new ChatRepo(handle.db)
  const notifier = new RecordingNotifier()
  const paused: string[] = []
  const store = new Store({ db: handle.db, log: silent })
  const make = () =>
    new Dispatcher({
      repo,
      notifiers: { telegram: notifier },
      pause: async (_p, chatId, reason) => void paused.push(`${chatId}: ${reason}`),
      log: silent,
      pollMs: 10,
      retryBaseMs: 10,
      editEveryMs: 50,
      ...options,
    })
  const open = async (chats: string[]) => {
    const o = opportunity(Date.now())
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
  const rows = () => handle!.db.select().from(deliveries)
  return { repo, notifier, paused, store, make, open, rows }
}

describe('dispatcher', () => {
  test('sends each pending delivery once, with the alert text, and records the message id', async () => {
    const { notifier, make, open, rows } = await setup()
    const o = await open(['a', 'b'])
    dispatcher = make()
    await dispatcher.start()
    await until(() => notifier.sent.length === 2, 3000, 'two alerts')
    const [row] = await rows()
    expect(row).toMatchObject({ status: 'sent', messageId: '1', attempts: 1 })
    expect(notifier.sent[0]!.alert.title).toBe('BTC/USDT: buy Binance, sell Kraken, net 0.30%')
    expect(notifier.sent[0]!.alert).toEqual(
      formatAlert(
        { ...o, ...o.last, closedAtMs: null, legs: null },
        { netBps: 30, sizeQuote: 1000 },
        Date.now(),
      ),
    )
    dispatcher.wake()
    await Bun.sleep(50) // a few more passes: nothing is sent again
    expect(notifier.sent).toHaveLength(2)
  })

  test('a 429 is retried after its retry_after, then delivered once', async () => {
    const { notifier, make, open, rows } = await setup()
    notifier.failures.push(
      new NotifierError('rate-limited', 'Too Many Requests: retry after 1', 300),
    )
    await open(['a'])
    dispatcher = make()
    const started = Date.now()
    await dispatcher.start()
    await until(() => notifier.sent.length === 1, 3000, 'delivered')
    expect(notifier.sent[0]!.atMs - started).toBeGreaterThanOrEqual(300)
    expect((await rows())[0]).toMatchObject({ status: 'sent', attempts: 2 })
    expect(dispatcher.stats.retried).toBe(1)
  })

  test('transient failures are retried with backoff and, after the last try, marked failed and counted', async () => {
    const { notifier, make, open, rows } = await setup({ maxAttempts: 3 })
    for (let i = 0; i < 3; i++)
      notifier.failures.push(new NotifierError('transient', 'Bad Gateway'))
    await open(['a'])
    dispatcher = make()
    await dispatcher.start()
    await until(() => dispatcher!.stats.failed === 1, 3000, 'failed')
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
    dispatcher = make()
    await dispatcher.start()
    await until(() => paused.length === 1, 3000, 'paused')
    expect(paused[0]).toBe('a: Forbidden: bot was blocked by the user')
    expect((await rows())[0]!.status).toBe('failed')
  })

  test('the message is edited in place while it lasts and when it closes', async () => {
    const { notifier, make, open, store } = await setup()
    const o = await open(['a'])
    dispatcher = make()
    await dispatcher.start()
    await until(() => notifier.sent.length === 1, 3000, 'sent')
    await Bun.sleep(60)
    o.last = quote(45)
    o.peakNetBps = 45
    o.updatedAtMs = Date.now() + 100
    store.record({ type: 'updated', opportunity: o, atMs: o.updatedAtMs })
    await store.flush()
    await until(() => notifier.edits.length >= 1, 3000, 'edited while open')
    expect(notifier.edits[0]!.alert.footer).toContain('peak 0.45%')
    o.closedAtMs = o.openedAtMs + 42_000
    o.closeReason = 'spread fell below the threshold'
    store.record({ type: 'closed', opportunity: o, atMs: o.closedAtMs })
    await store.flush()
    await until(() => notifier.edits.some((e) => e.alert.tone === 'closed'), 3000, 'closed edit')
    const last = notifier.edits.at(-1)!
    expect(last.alert.footer).toBe('Closed after 42 s, peak 0.45%')
    expect(last.messageId).toBe('1')
    const count = notifier.edits.length
    await Bun.sleep(80)
    expect(notifier.edits).toHaveLength(count) // no more edits after the closing one
  })

  test('after a crash, pending deliveries are sent and one caught mid-send is never sent twice', async () => {
    const { notifier, make, open, repo, rows } = await setup()
    await open(['a', 'b'])
    const [first] = await rows()
    expect(await repo.claim(first!.id)).toBe(true) // the old process claimed it, then died
    dispatcher = make()
    await dispatcher.start()
    await until(() => notifier.sent.length === 1, 3000, 'the pending one sent')
    await Bun.sleep(50)
    expect(notifier.sent.map((s) => s.chatId)).toEqual(['b'])
    expect(dispatcher.stats.interrupted).toBe(1)
    expect((await rows()).find((r) => r.chatId === 'a')).toMatchObject({ status: 'failed' })
  })
})
