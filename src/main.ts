/**
 * @module
 * The composition root: config → logger → database → venue feeds (sharded connections and their
 * book sync) and the universe that decides their markets → detector → store, fan-out and dispatcher → chat bots → HTTP server. It only builds and wires;
 * the rules live in the modules. The only reader of `process.env`.
 */
import { Dispatcher } from './alerts/dispatch.ts'
import { backtest } from './alerts/backtest.ts'
import { Fanout } from './alerts/fanout.ts'
import type { Notifier, Platform } from './alerts/notifier.ts'
import { createApi } from './api/app.ts'
import { createIngestApi } from './api/ingest.ts'
import { summarizeVenues } from './api/status.ts'
import { mountDashboard } from './api/dashboard/dashboard.ts'
import { Books } from './book/books.ts'
import { BookPublisher } from './bus/book-publisher.ts'
import { BookMirror } from './bus/mirror.ts'
import { publishOpportunities } from './bus/opportunities.ts'
import { StreamPublisher } from './bus/publisher.ts'
import { busClient, redactUrl } from './bus/redis.ts'
import { ChatCore } from './chat/commands.ts'
import { createDiscord, type DiscordBot } from './chat/discord.ts'
import { createTelegram, type TelegramBot } from './chat/telegram.ts'
import { ConfigError, parseConfig, type Config } from './config.ts'
import { ChatRepo } from './db/chats.ts'
import { openDb, runMigrations, type DbHandle } from './db/client.ts'
import { Store } from './db/store.ts'
import { Detector, marketsToWatch } from './detector/detector.ts'
import { explain } from './detector/explain.ts'
import type { Connection } from './venues/connection.ts'
import { VenueFeed } from './venues/feed.ts'
import { UniverseWatcher } from './universe/watcher.ts'
import { venueById, venueName } from './venues/index.ts'
import { loadTransferFacts, saveTransferFacts, saveTransferOutcome } from './db/transfers.ts'
import { transferCheck, transferSummary } from './transfers/check.ts'
import { TransferFacts } from './transfers/facts.ts'
import { TransferRefresher } from './transfers/refresher.ts'
import { createLogger, type Logger } from './log.ts'
import type { VenueId } from './types.ts'
import { createMetrics } from './metrics.ts'
import { runUntilSignal } from './run.ts'

export interface App {
  readonly config: Config
  readonly books: Books
  readonly detector: Detector
  readonly store: Store
  readonly db: DbHandle
  readonly core: ChatCore
  readonly dispatcher: Dispatcher
  readonly telegram: TelegramBot | undefined
  readonly discord: DiscordBot | undefined
  readonly universe: UniverseWatcher
  /** Each venue's deposit and withdrawal facts, and what refreshes them. */
  readonly transfers: TransferRefresher
  readonly transferFacts: TransferFacts
  /** Every venue's connections (shards), as they are now (none on a core: see `mirror`). */
  readonly connections: readonly Connection[]
  /** `ROLE=core`: the books rebuilt from the bus, and each venue stream's state. */
  readonly mirror: BookMirror | undefined
  /** With `BUS_URL`: what writes the opportunities stream. */
  readonly publisher: StreamPublisher | undefined
  readonly port: number
  stop(): Promise<void>
}

/** An ingest shard (`ROLE=ingest`): its venues' books, and what publishes them. */
export interface IngestApp {
  readonly config: Config
  readonly books: Books
  readonly universe: UniverseWatcher
  readonly connections: readonly Connection[]
  readonly publisher: StreamPublisher
  readonly bookPublisher: BookPublisher
  readonly port: number
  stop(): Promise<void>
}

/** Starts what `ROLE` says from an environment (the process entry point). */
export async function startProcess(
  env: Record<string, string | undefined>,
  log?: Logger,
): Promise<App | IngestApp> {
  const config = parseConfig(env)
  return config.role === 'ingest' ? startIngest(config, log) : startWith(config, env, log)
}

/**
 * Starts everything from an environment (`ROLE=all`, or `core` with `BUS_URL`); resolves once the
 * HTTP server listens. An ingest shard starts with `startIngest` (or `startProcess`).
 */
export async function startApp(
  env: Record<string, string | undefined>,
  log?: Logger,
): Promise<App> {
  const config = parseConfig(env)
  if (config.role === 'ingest') {
    throw new ConfigError(['ROLE=ingest: this entry point starts ROLE=all or core'])
  }
  return startWith(config, env, log)
}

async function startWith(
  config: Config,
  env: Record<string, string | undefined>,
  log?: Logger,
): Promise<App> {
  const logger = log ?? createLogger(config.logLevel)
  const role = config.role
  const db = await openDb({ url: config.databaseUrl, authToken: config.databaseAuthToken })
  try {
    await runMigrations(db.db)
  } catch (err) {
    db.close()
    throw err
  }
  const repo = new ChatRepo(db.db)
  const store = new Store({ db: db.db, log: logger })
  store.start()

  let metrics: ReturnType<typeof createMetrics> | undefined
  const books = new Books()
  const { feeds, universe } = feedsAndUniverse(config, config.exchanges, books, logger, {
    onFrameApplied: (seconds) => metrics?.bookUpdate.observe(seconds),
    // A core keeps no venue connection: the lists only decide the markets (the books come from
    // the bus), for /subscribe and for the transfer facts.
    keeps: () => role !== 'core',
  })
  const feedConnections = (): Connection[] => feeds.flatMap((f) => f.connections)
  const connections = () => mirror?.sources ?? feedConnections()
  // ROLE=core: every venue's books, rebuilt from the ingest shards' streams.
  const bus = config.bus
  const mirror =
    role === 'core' && bus !== undefined
      ? new BookMirror({
          client: busClient(bus.url),
          books,
          venues: config.exchanges,
          prefix: bus.prefix,
          group: bus.group,
          consumer: bus.consumer,
          silentMs: silentMsFor(config.maxQuoteAgeMs),
          joinBackMs: bus.snapshotMs + 5_000,
          log: logger,
        })
      : undefined
  const publisher =
    bus === undefined
      ? undefined
      : new StreamPublisher({
          client: busClient(bus.url),
          maxLen: bus.maxLen,
          maxBuffered: bus.maxBuffered,
          log: logger,
        })
  // Whether the coins of a cross-venue route can move: each venue's deposit and withdrawal facts,
  // kept with their ages (and in the database across restarts), refreshed within its REST budget.
  const transferFacts = new TransferFacts()
  const saved = await loadTransferFacts(db.db)
  transferFacts.restore(saved.facts, saved.outcomes)
  const transfers = new TransferRefresher({
    sources: feeds.map((f) => ({
      venue: f.venue,
      restUrl: config.endpoints[f.venue.id]!.restUrl,
      budget: f.budget,
      credentials: config.credentials[f.venue.id],
    })),
    facts: transferFacts,
    assets: () => [...new Set(universe.markets.flatMap((p) => p.split('/')))],
    // Between the store's own transactions (one connection, one transaction at a time).
    persist: (venue, facts, outcome) =>
      store.exclusive(async () => {
        if (facts !== undefined) await saveTransferFacts(db.db, venue, facts)
        await saveTransferOutcome(db.db, venue, outcome)
      }),
  })
  transfers.events.on((e) => {
    if (e.type === 'failed') logger.warn({ venue: e.venue }, `transfer facts: ${e.error}`)
    if (e.type === 'needs-key')
      logger.info(
        `${venueName(e.venue)} transfer status needs ${e.envVar}: its routes stay unknown`,
      )
  })
  const detector = new Detector({
    books,
    venues: config.exchanges,
    symbols: config.universe === 'auto' ? undefined : config.symbols,
    quotes: config.quotes,
    triangles: config.triangles,
    feeBps: config.feeBps,
    sizeQuote: config.tradeSize,
    minSpreadBps: config.minSpreadBps,
    hysteresisBps: config.hysteresisBps,
    maxSpreadBps: config.maxSpreadBps,
    maxQuoteAgeMs: config.maxQuoteAgeMs,
    onEvaluated: (seconds) => metrics?.detector.observe(seconds),
    transferOf: transferCheck({
      facts: transferFacts,
      venueName,
      maxAgeMs: config.transferMaxAgeMs,
    }),
  })
  const liveDetector = detector
  // Changed facts re-check the open routes of those assets (their alerts are edited).
  transferFacts.events.on((e) => {
    if (e.type === 'updated' && e.assets.length > 0) {
      for (const asset of e.assets) detector.recheckTransfers(asset)
    } else detector.recheckTransfers()
  })

  const core = new ChatCore({
    repo,
    symbols: () => universe.markets,
    defaultThresholdBps: config.minSpreadBps,
    defaultSizeQuote: config.tradeSize,
    allowedChats: config.allowedChats,
    log: logger,
    status: {
      venues: () => summarizeVenues(connections(), books),
      spreads: (size) => liveDetector.spreads(size),
      explain: async (id) => {
        const r = await store.getOpportunity(id)
        return r === undefined ? undefined : explain(r)
      },
      backtest: async (thresholdBps, sizeQuote) => {
        const now = Date.now()
        const rows = await store.opportunitiesSince(now - 7 * 86_400_000)
        return backtest(rows, thresholdBps, sizeQuote, now)
      },
      transfers: transferSummary(
        transferFacts,
        config.exchanges,
        venueName,
        config.transferMaxAgeMs,
      ),
    },
  })
  await core.load()

  const fanout = new Fanout({
    chats: () => core.chats(),
    defaultThresholdBps: config.minSpreadBps,
    defaultSizeQuote: config.tradeSize,
    allowedChats: config.allowedChats,
    cooldownMs: config.alertCooldownS * 1000,
    repo,
  })
  // Cooldowns still running when the last process stopped (kept with its alerts).
  await fanout.load()
  // Every event is stored; an opening also writes one delivery per matching chat, in the same
  // transaction as the opportunity (each with its detector pass, so related openings are grouped).
  detector.subscribe((event) => {
    if (event.type !== 'opened') return store.record(event)
    const o = event.opportunity
    store.record(
      event,
      fanout.deliveries(
        o,
        event.atMs,
        (size) => liveDetector.quoteAt(o, size)?.netBps,
        event.pass,
        (thresholdBps) => liveDetector.maxSizeAt(o, thresholdBps),
      ),
    )
  })
  detector.subscribe((event) => {
    metrics?.onOpportunity(event)
    if (event.type === 'updated') return
    const o = event.opportunity
    logger.info(
      {
        id: o.id,
        netBps: Number(o.last.netBps.toFixed(2)),
        anomaly: o.anomaly,
        reason: o.closeReason,
      },
      `${o.anomaly ? 'anomaly' : 'opportunity'} ${event.type}: ${o.symbol} buy ${o.buyVenue} sell ${o.sellVenue}`,
    )
  })

  const pause = (platform: Platform, chatId: string, reason: string) =>
    core.pause(platform, chatId, reason)
  const telegram = config.telegram
    ? createTelegram({
        token: config.telegram.token,
        apiRoot: config.telegram.apiRoot,
        webhookUrl: config.telegram.webhookUrl,
        core,
        log: logger,
      })
    : undefined
  const discord = config.discord
    ? createDiscord({
        token: config.discord.token,
        apiUrl: config.discord.apiUrl,
        guildId: config.discord.guildId,
        core,
        log: logger,
        onForbidden: (channelId, reason) =>
          void pause('discord', channelId, reason).catch(() => {}),
      })
    : undefined
  const notifiers: Partial<Record<Platform, Notifier>> = {}
  if (telegram) notifiers.telegram = telegram.notifier
  if (discord) notifiers.discord = discord.notifier
  const dispatcher = new Dispatcher({
    repo,
    notifiers,
    pause,
    log: logger,
    transferModeOf: (platform, chatId) => core.chat(platform, chatId)?.transferMode,
    digestOf: (platform, chatId) => {
      const chat = core.chat(platform, chatId)
      return chat && { periodMs: chat.digestMs, minLifetimeMs: chat.minLifetimeMs }
    },
    alertContext: { feeBps: config.feeBps, publicUrl: config.publicUrl },
  })
  store.events.on((e) => e.type === 'deliveries-written' && dispatcher.wake())
  // Every opened, updated and closed opportunity on the bus, for downstream consumers.
  const unpublish =
    publisher === undefined || bus === undefined
      ? undefined
      : publishOpportunities((l) => detector.subscribe(l), publisher, bus.prefix)
  const budgets = () => feeds.map((f) => [f.venue.id, f.budget.stats] as const)
  metrics = createMetrics({
    connections,
    budgets,
    books,
    store,
    dispatcher,
    repo,
    bus: bus === undefined ? undefined : { publisher, mirror },
  })
  detector.resume(await store.openOpportunities())
  detector.start()

  const api = createApi({
    connections,
    budgets,
    books,
    detector,
    store,
    log: logger,
    sizeQuote: config.tradeSize,
    transfers: transferFacts,
    apiToken: config.apiToken,
    readinessProblems: () => (mirror?.down ? ['Redis does not answer the core’s reads'] : []),
    busStatus:
      bus === undefined
        ? undefined
        : () => ({
            role,
            url: redactUrl(bus.url),
            reading: mirror === undefined ? undefined : { down: mirror.down, ...mirror.stats },
            lags: mirror?.lags(),
            writing: publisher && {
              down: publisher.down,
              buffered: publisher.buffered,
              streams: Object.fromEntries(publisher.streamStats()),
            },
          }),
    // Behind Fly's proxy every socket is the proxy's; it sets Fly-Client-IP (clients cannot).
    clientIpHeader: env.FLY_APP_NAME ? 'fly-client-ip' : undefined,
    mount(app) {
      mountDashboard(app, { books })
      app.get('/metrics', async (c) =>
        c.text(await metrics!.render(), 200, { 'content-type': metrics!.registry.contentType }),
      )
    },
    mountPublic(app) {
      // Telegram authenticates its webhook with the secret header, not the API token.
      if (telegram?.handleWebhook && telegram.webhookPath) {
        const handle = telegram.handleWebhook
        app.post(telegram.webhookPath, (c) => handle(c.req.raw))
      }
    },
  })
  // The event stream stays open for hours; idle streams get a ping every 8 s.
  let server: ReturnType<typeof Bun.serve>
  try {
    server = listen(config, api.fetch)
  } catch (err) {
    // Started by now: the store's writer and the detector (no feed, universe, transfer refresher,
    // dispatcher or bot yet). Stop them and close the database, then say why in one line.
    liveDetector.stop()
    await store.stop().catch(() => {})
    db.close()
    throw err
  }
  if (mirror !== undefined) await mirror.start()
  else for (const f of feeds) f.start()
  // The instrument lists are read in the background; each venue's books follow its first answer.
  // Transfer facts are asked for the assets the universe watches: first once it has decided, then
  // again for every venue when it changes (a new listing's coin).
  universe.events.on((e) => {
    if (e.type !== 'changed') return
    if (!transfers.running) transfers.start()
    else if (e.added.length > 0) for (const f of feeds) transfers.refresh(f.venue.id)
  })
  void universe.start()
  await dispatcher.start()
  // A bot's start settles late (it retries while its API is unreachable): once stop() has begun,
  // it is not reported as started, nor as failed.
  let botsStopping = false
  for (const [name, bot] of [
    ['telegram', telegram],
    ['discord', discord],
  ] as const) {
    bot?.start().then(
      (started: boolean | void) => {
        if (!botsStopping && started !== false) logger.info(`${name} bot started`)
      },
      (err: unknown) => {
        if (!botsStopping)
          logger.error({ err }, `${name} bot could not start; alerts to ${name} stay pending`)
      },
    )
  }
  logger.info(
    {
      role,
      exchanges: config.exchanges,
      symbols: config.universe === 'auto' ? 'auto' : config.symbols,
      bus: bus === undefined ? undefined : redactUrl(bus.url),
      port: server.port,
      telegram: !!telegram,
      discord: !!discord,
    },
    `arbwatch listening on http://${config.host}:${server.port}`,
  )
  let stopped: Promise<void> | undefined
  return {
    config,
    books,
    detector,
    store,
    db,
    core,
    dispatcher,
    telegram,
    discord,
    universe,
    transfers,
    transferFacts,
    get connections() {
      return feedConnections()
    },
    mirror,
    publisher,
    port: server.port!,
    stop() {
      stopped ??= (async () => {
        // Stop taking commands; stop the detector before the feeds, so what is open stays open
        // for the next start to resume (the feeds going down would close it as stale); flush,
        // and let the dispatcher finish the pass it is in.
        botsStopping = true
        await Promise.allSettled([telegram?.stop(), discord?.stop()])
        liveDetector.stop()
        unpublish?.()
        await universe.stop()
        await transfers.stop()
        await mirror?.stop()
        await Promise.all(feeds.map((f) => f.stop()))
        await publisher?.stop()
        await store.stop()
        await dispatcher.stop()
        await server.stop(true)
        db.close()
      })()
      return stopped
    },
  }
}

/**
 * An ingest shard: the books of `EXCHANGES`, kept as one process keeps them, published to the bus.
 * The universe is decided over `UNIVERSE_EXCHANGES` (every venue of the deployment), so each shard
 * watches the markets one process would.
 */
export async function startIngest(config: Config, log?: Logger): Promise<IngestApp> {
  const logger = log ?? createLogger(config.logLevel)
  const bus = config.bus!
  const kept = new Set(config.exchanges)
  let metrics: ReturnType<typeof createMetrics> | undefined
  const books = new Books()
  const { feeds, universe } = feedsAndUniverse(config, config.universeExchanges, books, logger, {
    onFrameApplied: (seconds) => metrics?.bookUpdate.observe(seconds),
    keeps: (venue) => kept.has(venue),
  })
  const ownFeeds = feeds.filter((f) => kept.has(f.venue.id))
  const connections = (): Connection[] => ownFeeds.flatMap((f) => f.connections)
  const client = busClient(bus.url)
  const publisher = new StreamPublisher({
    client,
    maxLen: bus.maxLen,
    maxBuffered: bus.maxBuffered,
    log: logger,
  })
  const bookPublisher = new BookPublisher({
    books,
    venues: config.exchanges,
    publisher,
    prefix: bus.prefix,
    snapshotMs: bus.snapshotMs,
    depthOf: (venue) => venueById(venue)!.sync.maxDepth,
    connections,
  })
  const budgets = () => ownFeeds.map((f) => [f.venue.id, f.budget.stats] as const)
  metrics = createMetrics({ connections, budgets, books, bus: { publisher } })
  const api = createIngestApi({
    connections,
    budgets,
    books,
    publisher,
    log: logger,
    apiToken: config.apiToken,
    mount(app) {
      app.get('/metrics', async (c) =>
        c.text(await metrics!.render(), 200, { 'content-type': metrics!.registry.contentType }),
      )
    },
  })
  const server = listen(config, api.fetch)
  bookPublisher.start()
  for (const f of ownFeeds) f.start()
  void universe.start()
  logger.info(
    { role: 'ingest', exchanges: config.exchanges, bus: redactUrl(bus.url), port: server.port },
    `arbwatch ingest shard (${config.exchanges.join(', ')}) listening on http://${config.host}:${server.port}`,
  )
  let stopped: Promise<void> | undefined
  return {
    config,
    books,
    universe,
    get connections() {
      return connections()
    },
    publisher,
    bookPublisher,
    port: server.port!,
    stop() {
      stopped ??= (async () => {
        // The feeds going down announce their books invalid; that goes out before the end.
        await universe.stop()
        await Promise.all(ownFeeds.map((f) => f.stop()))
        bookPublisher.stop()
        await publisher.stop()
        client.close()
        await server.stop(true)
      })()
      return stopped
    },
  }
}

/**
 * One feed per venue into `books`, and the universe that decides their markets; `keeps` says
 * which venues' books this process keeps (the others only lend their instrument lists).
 */
function feedsAndUniverse(
  config: Config,
  venues: readonly VenueId[],
  books: Books,
  logger: Logger,
  o: { onFrameApplied: (seconds: number) => void; keeps: (venue: VenueId) => boolean },
): { feeds: VenueFeed[]; universe: UniverseWatcher } {
  const feeds = venues.map(
    (id) =>
      new VenueFeed({
        venue: venueById(id)!,
        wsUrl: config.endpoints[id]!.wsUrl,
        restUrl: config.endpoints[id]!.restUrl,
        books,
        log: logger,
        sync: { onFrameApplied: o.onFrameApplied },
      }),
  )
  const universe = new UniverseWatcher({
    feeds,
    rules: {
      symbols: config.universe === 'auto' ? 'auto' : config.symbols,
      minVenues: config.minVenues,
      quotes: config.quotes,
      exclude: config.exclude,
      maxMarkets: config.maxMarkets,
      extra: marketsToWatch([], config.triangles),
    },
    refreshMs: config.universeRefreshS * 1000,
    log: logger,
    keeps: o.keeps,
  })
  return { feeds, universe }
}

/** A core's books go stale this long after their shard's last word (heartbeats come every 0.5 s). */
export const silentMsFor = (maxQuoteAgeMs: number): number =>
  Math.max(1_000, Math.min(3_000, Math.floor(maxQuoteAgeMs / 2)))

/**
 * The HTTP server. A `listen` failure the user can fix (the port taken, a bad address) becomes an
 * error named `ListenError`: one line and exit code 2 (run.ts).
 */
function listen(config: Config, fetch: (req: Request) => Response | Promise<Response>) {
  try {
    // The event stream stays open for hours; idle streams get a ping every 8 s.
    return Bun.serve({ hostname: config.host, port: config.port, fetch, idleTimeout: 30 })
  } catch (err) {
    const code = (err as { code?: unknown } | null)?.code
    const why =
      code === 'EADDRINUSE'
        ? 'the port is already in use (set PORT)'
        : code === 'EACCES'
          ? 'permission denied (ports below 1024 need privileges; set PORT)'
          : code === 'EADDRNOTAVAIL'
            ? 'no network interface has that address (set HOST)'
            : code === 'EINVAL'
              ? 'not a valid address (set HOST)'
              : undefined
    if (why === undefined) throw err
    throw Object.assign(
      new Error(`cannot listen on ${config.host}:${config.port}: ${why}`, { cause: err }),
      { name: 'ListenError', code },
    )
  }
}

if (import.meta.main) await runUntilSignal(() => startProcess(process.env))
