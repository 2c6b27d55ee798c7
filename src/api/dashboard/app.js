// arbwatch live dashboard: a plain ES module, no dependencies, no build step.
// Live data comes from the server-sent events of /api/stream (venues, opportunities); the route
// table, the chart and the trend arrows come from polling /api/spreads, which searches, sorts and
// pages on the server (there may be thousands of routes); badges' latencies are refreshed from
// /api/status (a summary per venue). Everything is rendered with DOM calls and textContent, never
// HTML.

const TOKEN = new URLSearchParams(location.search).get('token') ?? ''
const SPREADS_EVERY_MS = 2000
const STATUS_EVERY_MS = 5000
const HISTORY_MS = 60 * 60 * 1000
const MIN_CHART_SPAN_MS = 2 * 60 * 1000
/** A gap longer than this between chart points breaks the line (the page was away). */
const CHART_GAP_MS = 15_000
const FEED_MAX = 50
/** A connected venue silent for this long is shown as stale. */
const SILENT_STALE_MS = 30_000
const RETRY_MIN_MS = 1000
const RETRY_MAX_MS = 15_000
/** Net changes smaller than this (bps) count as flat for the trend arrow. */
const TREND_EPSILON_BPS = 0.005
const SERIES_COLOURS = 6
/** Routes per page of the table. */
const PAGE_SIZE = 20
/** Markets in the calculator's answer (the best ones). */
const CALC_ROWS = 20
/** Most markets whose chart history is kept (the top ones of the last hour). */
const HISTORY_MAX_SERIES = 24
/** Stored opportunities read per page for the chart's last hour, and most pages read. */
const HISTORY_PAGE = 500
const HISTORY_MAX_PAGES = 10
const SEARCH_DEBOUNCE_MS = 250
/** The depth panel's poll, and how many samples of it each venue's line keeps (15 min). */
const DEPTH_EVERY_MS = 2000
const DEPTH_HISTORY_MAX = 450

const state = {
  /** venue → the latest status (from `venue` events and /api/status). */
  venues: new Map(),
  /** id → open opportunity, as the stream sends it. */
  open: new Map(),
  /** key (`id:opened` / `id:closed`) → alert log entry. */
  feed: new Map(),
  /** route key → previous net, bps (null when there was none), for the trend arrow. */
  prevNet: new Map(),
  /** route key → last trend: 'up' | 'down' | 'flat'. */
  trend: new Map(),
  /**
   * symbol → [{ t, net, id?, key? }] of the best net, bps, at the default size, oldest first (top
   * markets): polled while the page is open, and the stored opportunities of the last hour (`id`
   * is the opportunity's, `key` names the point so that the server's and the stream's are one).
   */
  history: new Map(),
  /** What the route table shows: search words, sort column and order, page. */
  view: { q: '', sort: 'net', order: 'desc', page: 1 },
  /** Bumped whenever `view` changes, so an answer to an older view is not drawn. */
  viewSeq: 0,
  /** The markets charted: the top ones by best net at the last poll. */
  chartSymbols: [],
  /** Server clock minus this browser's, from `hello`. */
  skewMs: 0,
  /** symbol → colour index for the chart. */
  colours: new Map(),
  /**
   * The depth panel: the markets it can show (plain `BASE/QUOTE` ones seen in the routes), the one
   * picked in its select ('' follows the top open opportunity), and per market, venue → samples
   * [{ t, near, wide }] of the depth within ±0.5 % and ±2 % (bid + ask), oldest first.
   */
  depth: { markets: new Set(), picked: '', shown: '', history: new Map() },
}

// ---------------------------------------------------------------------------------------------
// Small helpers

const byId = (id) => document.getElementById(id)
const serverNow = () => Date.now() + state.skewMs

/** `h('td', { class: 'num' }, 'text', child)`: an element; strings become text nodes. */
function h(tag, props = {}, ...children) {
  const el = document.createElement(tag)
  for (const [key, value] of Object.entries(props)) {
    if (value === undefined || value === null || value === false) continue
    if (key === 'class') el.className = value
    else if (key === 'data') Object.assign(el.dataset, value)
    else el.setAttribute(key, value === true ? '' : String(value))
  }
  el.append(...children.flat().filter((c) => c !== undefined && c !== null && c !== false))
  return el
}

const SVG_NS = 'http://www.w3.org/2000/svg'
function s(tag, attrs = {}, text) {
  const el = document.createElementNS(SVG_NS, tag)
  for (const [key, value] of Object.entries(attrs)) el.setAttribute(key, String(value))
  if (text !== undefined) el.textContent = text
  return el
}

/** An API path with the page's token, if it was opened with one. */
function apiUrl(path, params = {}) {
  const query = new URLSearchParams(params)
  if (TOKEN) query.set('token', TOKEN)
  const text = query.toString()
  return text ? `${path}?${text}` : path
}

class ApiError extends Error {
  constructor(status, message) {
    super(message)
    this.name = 'ApiError'
    this.status = status
  }
}

/** GETs JSON; a non-2xx answer throws ApiError with the API's `error` message. */
async function getJson(path, params) {
  const res = await fetch(apiUrl(path, params), {
    headers: { accept: 'application/json' },
    cache: 'no-store',
  })
  const body = await res.json().catch(() => null)
  if (!res.ok) throw new ApiError(res.status, body?.error ?? `HTTP ${res.status}`)
  return body
}

const isNum = (x) => typeof x === 'number' && Number.isFinite(x)
/**
 * A spread for people: the API's bps as a signed percentage with two decimals, as the alerts and
 * /threshold give it (81.234 bps → `+0.81%`; one that rounds to nothing is `0.00%`).
 */
function fmtPct(bps) {
  if (!isNum(bps)) return '—'
  const text = (bps / 100).toFixed(2)
  if (Number(text) === 0) return '0.00%'
  return `${bps > 0 ? '+' : ''}${text}%`
}
const fmtTime = (ms) => new Date(ms).toLocaleTimeString([], { hour12: false })
function fmtAmount(x, digits = 2) {
  if (!isNum(x)) return '—'
  const big = Math.abs(x) >= 10_000
  return x.toLocaleString(undefined, {
    minimumFractionDigits: big ? 0 : digits,
    maximumFractionDigits: big ? 0 : digits,
  })
}
/** A size in the quote currency: no decimals it does not have (`500`, `0.25`, `12,500`). */
const fmtSize = (x) => (isNum(x) ? x.toLocaleString(undefined, { maximumFractionDigits: 8 }) : '—')
/** A venue's exchange-to-receive latency (how old its data is on arrival), not its uptime. */
function fmtLatency(ms) {
  if (!isNum(ms)) return '—'
  if (Math.abs(ms) < 1000) return `${Math.round(ms)} ms`
  if (Math.abs(ms) < 60_000) return `${(ms / 1000).toFixed(1)} s`
  return ms > 0 ? '> 1 min' : '< -1 min'
}
function fmtDuration(ms) {
  const total = Math.max(0, Math.round(ms / 1000))
  if (total < 60) return `${total} s`
  const m = Math.floor(total / 60)
  if (m < 60) return `${m} m ${total % 60} s`
  return `${Math.floor(m / 60)} h ${m % 60} m`
}
/**
 * The currency profits are in: a market's quote (`BTC/USDT` → USDT), a cross-quote route's first
 * quote (`BTC/USDT>BTC/USD` → USDT), a cycle's start (`USDT>BTC>ETH>USDT` → USDT).
 */
function quoteOf(symbol) {
  const first = String(symbol ?? '').split('>')[0] ?? ''
  return first.includes('/') ? (first.split('/')[1] ?? '') : first
}
/** A route in a few words: `binance → kraken`, `binance (triangle)`, `binance → kraken (via USD)`. */
function routeOf(o) {
  if (o.kind === 'triangle') return `${o.buyVenue} (triangle)`
  if (o.kind === 'cross-quote') {
    const sold = String(o.symbol).split('>')[1]
    return `${o.buyVenue} → ${o.sellVenue}${sold ? ` (sold as ${sold})` : ''}`
  }
  return `${o.buyVenue} → ${o.sellVenue}`
}
/**
 * A route's legs, each with its venue: a leg's own, else (a triangle, all on one venue) the buy
 * venue. Empty for a route without legs (cross).
 */
function legsOf(o) {
  if (!Array.isArray(o.legs)) return []
  return o.legs.map((leg) => ({
    side: leg.side === 'sell' ? 'sell' : 'buy',
    market: String(leg.market ?? ''),
    venue: typeof leg.venue === 'string' ? leg.venue : o.kind === 'triangle' ? o.buyVenue : '',
  }))
}
function renderLegs(o) {
  const legs = legsOf(o)
  if (legs.length === 0) return null
  return h(
    'ol',
    { class: 'legs' },
    legs.map((leg) =>
      h(
        'li',
        { class: `leg ${leg.side}`, data: { venue: leg.venue } },
        `${leg.side} ${leg.market}`,
        leg.venue ? h('span', { class: 'leg-venue' }, ` @ ${leg.venue}`) : null,
      ),
    ),
  )
}
/** A row's identity across polls (the trend arrow). */
const routeKey = (r) => `${r.kind}|${r.symbol}|${r.buyVenue}|${r.sellVenue}`
const signClass = (x) => (!isNum(x) ? '' : x > 0 ? 'pos' : x < 0 ? 'neg' : '')
/** The sign class of a spread as fmtPct shows it (one that reads `0.00%` is neither). */
const pctClass = (bps) => (isNum(bps) ? signClass(Number((bps / 100).toFixed(2))) : '')
const usableNet = (r) => r.fresh && isNum(r.netBps)

// ---------------------------------------------------------------------------------------------
// Connection banner

let connTimer = 0
function setConn(kind, detail = '') {
  const el = byId('conn')
  clearTimeout(connTimer)
  const text = {
    connecting: 'connecting…',
    live: 'live',
    back: 'back online',
    lost: `lost the server${detail}`,
    auth: 'needs the API token: open this page as /?token=…',
  }[kind]
  el.dataset.state = kind
  el.textContent = text
  document.body.classList.toggle('offline', kind === 'lost' || kind === 'auth')
  if (kind === 'back') connTimer = setTimeout(() => setConn('live'), 4000)
}

// ---------------------------------------------------------------------------------------------
// Venues

/** A venue's books by state (the status summary's counts). */
function bookCounts(v) {
  const b = v.books ?? {}
  const n = (x) => (isNum(x) ? x : 0)
  return { total: n(b.total), live: n(b.live), syncing: n(b.syncing), stale: n(b.stale) }
}

function venueView(v) {
  const books = bookCounts(v)
  if (v.state === 'down') return { label: 'down', tone: 'bad' }
  if (v.state === 'connecting') {
    return { label: v.reconnects > 0 ? 'reconnecting' : 'connecting', tone: 'warn' }
  }
  // Some of its connections are down or reconnecting (each carries a share of its markets).
  if (v.state === 'partial') return { label: 'partial', tone: 'warn' }
  if (books.stale > 0 || (v.lastMessageAgeMs ?? 0) > SILENT_STALE_MS) {
    return { label: 'stale', tone: 'bad' }
  }
  if (books.syncing > 0) return { label: 'syncing', tone: 'warn' }
  return { label: 'connected', tone: 'ok' }
}

/** The badge's tooltip: books, connections, latency, traffic and the REST budget. */
function venueTitle(v) {
  const books = bookCounts(v)
  const c = v.connections
  const rest = v.rest
  return [
    `${books.live}/${books.total} books live`,
    books.syncing > 0 ? `${books.syncing} syncing` : '',
    books.stale > 0 ? `${books.stale} stale` : '',
    c && c.total > 1 ? `${c.connected}/${c.total} connections up` : '',
    isNum(v.latencyMs) ? `last exchange-to-receive latency ${fmtLatency(v.latencyMs)}` : '',
    isNum(v.lastMessageAgeMs) ? `last message ${fmtDuration(v.lastMessageAgeMs)} ago` : '',
    `${v.messagesPerSec ?? 0} msg/s`,
    rest ? `REST ${rest.requests} requests, peak weight ${rest.peakWeight}` : '',
    rest && rest.throttled + rest.banned > 0 ? `${rest.throttled}×429, ${rest.banned}×418` : '',
    rest && isNum(rest.pausedUntilMs) ? `REST paused until ${fmtTime(rest.pausedUntilMs)}` : '',
  ]
    .filter(Boolean)
    .join(' · ')
}

/** Latency colour bands, ms: good below the first, fair below the second, poor above. */
const EXCHANGE_LATENCY_MS = [250, 1000]
const DECISION_LATENCY_MS = [5, 50]

/** A latency's tone for its band (a clock ahead of ours gives a negative one: its size counts). */
function latencyTone(ms, [good, fair]) {
  if (!isNum(ms)) return 'muted'
  const size = Math.abs(ms)
  return size < good ? 'ok' : size < fair ? 'warn' : 'bad'
}

/** Frame-to-decision is measured in whole ms: 0 reads `<1 ms`. */
const fmtDecision = (ms) => (isNum(ms) && ms < 1 ? '<1 ms' : fmtLatency(ms))

/**
 * `p50 12 ms · p99 40 ms`, each figure coloured by its band; the last figure seen when the
 * server has no window yet (`12 ms`).
 */
function latencyFigures(p, lastMs, bands, fmt) {
  const figure = (label, ms) =>
    h('span', { class: `lat ${latencyTone(ms, bands)}`, data: { ms: isNum(ms) ? ms : '' } }, [
      label ? `${label} ` : '',
      fmt(ms),
    ])
  if (!p) return [figure('', lastMs)]
  return [figure('p50', p.p50Ms), ' · ', figure('p99', p.p99Ms)]
}

function renderVenues() {
  const items = [...state.venues.entries()].map(([venue, v]) => {
    const { label, tone } = venueView(v)
    const lat = v.latencies ?? {}
    const window = isNum(lat.windowMs)
      ? ` over the last ${fmtDuration(lat.windowMs).replace(/ 0 s$/, '')}`
      : ''
    const samples = (p) => `${p.samples} sample${p.samples === 1 ? '' : 's'}`
    const exchange = lat.exchangeToReceive
    const decision = lat.frameToDecision
    return h(
      'li',
      {
        class: `venue ${tone}`,
        data: { venue, state: label },
        title: venueTitle(v),
      },
      h('span', { class: 'dot', 'aria-hidden': 'true' }),
      h('span', { class: 'venue-name' }, venue),
      h(
        'span',
        { class: 'venue-info' },
        h('span', { class: 'venue-state' }, label),
        ' · ',
        h(
          'span',
          {
            class: 'venue-latency',
            title: exchange
              ? `exchange-to-receive latency, p50 / p99${window} (${samples(exchange)})`
              : 'exchange-to-receive latency (the last one seen)',
          },
          'latency ',
          latencyFigures(exchange, v.latencyMs, EXCHANGE_LATENCY_MS, fmtLatency),
        ),
        decision
          ? h(
              'span',
              {
                class: 'venue-decision',
                title: `internal frame-to-decision latency (frame received → detector evaluated), p50 / p99${window} (${samples(decision)})`,
              },
              ' · decision ',
              latencyFigures(decision, null, DECISION_LATENCY_MS, fmtDecision),
            )
          : null,
      ),
    )
  })
  byId('venues').replaceChildren(...items)
  renderSummary()
  renderScanning()
}

function mergeVenue(venue, status) {
  state.venues.set(venue, { ...state.venues.get(venue), ...status })
}

/**
 * Why nothing is being scanned, when no venue has a connection up: each venue's state and its
 * errors by kind, most frequent first (`binance down (socket ×3)`); null while one is up.
 */
function nothingConnected() {
  const venues = [...state.venues.entries()]
  if (venues.length === 0) return null
  if (venues.some(([, v]) => v.state === 'connected' || v.state === 'partial')) return null
  const parts = venues.map(([venue, v]) => {
    const errors = Object.entries(v.errors ?? {})
      .filter(([, n]) => isNum(n) && n > 0)
      .sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))
      .map(([kind, n]) => `${kind} ×${n}`)
    return `${venue} ${venueView(v).label}${errors.length > 0 ? ` (${errors.join(', ')})` : ''}`
  })
  return `No venue is connected: ${parts.join(', ')}`
}

/** The banner shown while nothing is open: scanning, or why nothing can be. */
function renderScanning() {
  const why = nothingConnected()
  byId('scanning').dataset.state = why === null ? 'scanning' : 'down'
  byId('scanning-text').textContent = why ?? 'Scanning…'
}

// ---------------------------------------------------------------------------------------------
// Open opportunities and the alert log

function renderOpen() {
  const open = [...state.open.values()].sort((a, b) => b.last.netBps - a.last.netBps)
  const real = open.filter((o) => !o.anomaly)
  byId('scanning').hidden = real.length > 0
  renderScanning()
  byId('open').replaceChildren(
    ...open.map((o) => {
      const ccy = quoteOf(o.symbol)
      return h(
        'li',
        { class: `opp${o.anomaly ? ' anomaly' : ''}`, data: { id: o.id, symbol: o.symbol } },
        h(
          'div',
          { class: 'opp-head' },
          h('strong', {}, o.symbol),
          o.anomaly ? h('span', { class: 'tag warn' }, 'anomaly') : null,
          transferBadge(o.transfer),
          h('span', { class: `opp-net ${pctClass(o.last.netBps)}` }, fmtPct(o.last.netBps)),
        ),
        h('div', { class: 'opp-route' }, routeOf(o)),
        renderLegs(o),
        h(
          'div',
          { class: 'opp-meta' },
          `profit ${fmtAmount(o.last.profitQuote)} ${ccy} on ${fmtSize(o.last.sizeQuote)}`,
          ` · max ${fmtAmount(o.last.maxSizeQuote, 0)} ${ccy}`,
          ` · peak ${fmtPct(o.peakNetBps)}`,
          ' · open ',
          h('span', { data: { since: o.openedAtMs } }, fmtDuration(serverNow() - o.openedAtMs)),
        ),
      )
    }),
  )
  renderSummary()
}

/** Whether a route's coins can move, as a badge whose title says why (none for triangles). */
function transferBadge(t) {
  if (!t) return null
  const cls = t.status === 'transferable' ? 'ok' : t.status === 'blocked' ? 'warn' : 'muted'
  const ages = t.factsAtMs ? ` (facts ${fmtDuration(Date.now() - t.factsAtMs)} old)` : ''
  return h(
    'span',
    { class: `tag transfer ${cls}`, title: `${t.line}${ages}`, data: { transfer: t.status } },
    t.status,
  )
}

/** An alert log entry from a stream event. */
function entryFromEvent(type, o, atMs) {
  const quote = type === 'opened' ? o.open : o.last
  return {
    key: `${o.id}:${type}`,
    id: o.id,
    type,
    atMs: type === 'closed' ? (o.closedAtMs ?? atMs) : o.openedAtMs,
    symbol: o.symbol,
    route: routeOf(o),
    anomaly: o.anomaly,
    netBps: quote.netBps,
    profitQuote: quote.profitQuote,
    sizeQuote: quote.sizeQuote,
    peakNetBps: type === 'closed' ? o.peakNetBps : null,
    durationMs: type === 'closed' ? (o.closedAtMs ?? atMs) - o.openedAtMs : null,
    reason: type === 'closed' ? o.closeReason : null,
    transfer: o.transfer ?? null,
  }
}

/** Alert log entries from a stored opportunity (`/api/opportunities`). */
function entriesFromRecord(r) {
  const base = {
    id: r.id,
    symbol: r.symbol,
    route: routeOf(r),
    anomaly: r.anomaly,
    sizeQuote: r.sizeQuote,
    transfer: r.transfer ?? null,
  }
  const out = [
    {
      ...base,
      key: `${r.id}:opened`,
      type: 'opened',
      atMs: r.openedAtMs,
      netBps: r.netBpsOpen,
      profitQuote: null,
      peakNetBps: null,
      durationMs: null,
      reason: null,
    },
  ]
  if (r.closedAtMs !== null) {
    out.push({
      ...base,
      key: `${r.id}:closed`,
      type: 'closed',
      atMs: r.closedAtMs,
      netBps: r.netBps,
      profitQuote: r.profitQuote,
      peakNetBps: r.peakNetBps,
      durationMs: r.closedAtMs - r.openedAtMs,
      reason: r.closeReason,
    })
  }
  return out
}

function addFeed(entries) {
  for (const e of entries) state.feed.set(e.key, e)
  const sorted = [...state.feed.values()].sort((a, b) => b.atMs - a.atMs)
  for (const e of sorted.slice(FEED_MAX)) state.feed.delete(e.key)
}

function renderFeed() {
  const entries = [...state.feed.values()].sort((a, b) => b.atMs - a.atMs)
  if (entries.length === 0) {
    byId('feed').replaceChildren(h('li', { class: 'empty' }, 'No opportunities yet.'))
    return
  }
  byId('feed').replaceChildren(
    ...entries.map((e) => {
      const ccy = quoteOf(e.symbol)
      const details = []
      if (e.type === 'opened' && isNum(e.profitQuote)) {
        details.push(`profit ${fmtAmount(e.profitQuote)} ${ccy} on ${fmtSize(e.sizeQuote)}`)
      }
      if (e.type === 'closed') {
        details.push(`after ${fmtDuration(e.durationMs)}`, `peak ${fmtPct(e.peakNetBps)}`)
        if (e.reason) details.push(e.reason)
      }
      return h(
        'li',
        {
          class: `feed-item ${e.type}${e.anomaly ? ' anomaly' : ''}`,
          data: { type: e.type, symbol: e.symbol, id: e.id },
          tabindex: '0',
          title: 'Show how its net was computed and who was alerted',
        },
        h(
          'div',
          { class: 'feed-line' },
          h('time', { datetime: new Date(e.atMs).toISOString() }, fmtTime(e.atMs)),
          h(
            'span',
            { class: `tag ${e.anomaly ? 'warn' : e.type === 'opened' ? 'ok' : 'muted'}` },
            e.anomaly ? `anomaly ${e.type}` : e.type,
          ),
          h('strong', {}, e.symbol),
          transferBadge(e.transfer),
          h('span', { class: `feed-net ${pctClass(e.netBps)}` }, fmtPct(e.netBps)),
        ),
        h('div', { class: 'feed-detail' }, [e.route, ...details].join(' · ')),
      )
    }),
  )
}

/**
 * The opportunity page behind an alert-log row: the arithmetic of its opening net (the book
 * levels it walked, the fees) and the chats it was alerted to, from `/explain`.
 */
async function showDetail(id) {
  const dialog = byId('detail')
  const body = byId('detail-body')
  byId('detail-title').textContent = id
  body.replaceChildren(h('p', {}, 'Loading…'))
  if (!dialog.open) dialog.showModal()
  try {
    const r = await getJson(`/api/opportunities/${encodeURIComponent(id)}/explain`)
    const chats =
      r.alerted.length === 0
        ? 'Alerted: no chat'
        : `Alerted: ${r.alerted.map((d) => `${d.platform} ${d.chatId} (${d.status})`).join(', ')}`
    body.replaceChildren(
      h('pre', { class: 'explain' }, r.lines.join('\n')),
      h('p', { class: 'alerted', data: { count: String(r.alerted.length) } }, chats),
    )
  } catch (err) {
    body.replaceChildren(h('p', { class: 'error' }, String(err?.message ?? err)))
  }
}

function onFeedClick(ev) {
  const li = ev.target.closest?.('li[data-id]')
  if (li && (ev.type === 'click' || ev.key === 'Enter')) void showDetail(li.dataset.id)
}

async function loadFeed() {
  try {
    const { items } = await getJson('/api/opportunities', { limit: 20, anomalies: 'true' })
    addFeed(items.flatMap(entriesFromRecord))
    renderFeed()
  } catch (err) {
    reportError(err)
  }
}

// ---------------------------------------------------------------------------------------------
// The stream

let stream = null
let retryMs = RETRY_MIN_MS
let lostServer = false
let helloCount = 0

function connectStream() {
  stream = new EventSource(apiUrl('/api/stream'))
  stream.addEventListener('open', () => {
    retryMs = RETRY_MIN_MS
    setConn(lostServer ? 'back' : 'live')
    lostServer = false
  })
  stream.addEventListener('hello', (ev) => {
    const hello = JSON.parse(ev.data)
    state.skewMs = hello.atMs - Date.now()
    state.open = new Map(hello.open.map((o) => [o.id, o]))
    addFeed(hello.open.map((o) => entryFromEvent('opened', o, hello.atMs)))
    for (const o of hello.open) addOpportunity(o)
    renderOpen()
    renderFeed()
    // The chart's last hour (again after a reconnect: what happened while away).
    void loadHistory()
    // After a reconnect, catch up on what opened and closed meanwhile.
    if (helloCount++ > 0) {
      void loadFeed()
      void refreshSpreads()
    }
  })
  stream.addEventListener('venue', (ev) => {
    const { venue, ...status } = JSON.parse(ev.data)
    mergeVenue(venue, status)
    renderVenues()
  })
  stream.addEventListener('opportunity', (ev) => {
    const { type, atMs, opportunity: o } = JSON.parse(ev.data)
    if (type === 'closed') state.open.delete(o.id)
    else state.open.set(o.id, o)
    if (type !== 'updated') {
      addFeed([entryFromEvent(type, o, atMs)])
      renderFeed()
      addOpportunity(o)
    }
    renderOpen()
    refreshSpreadsSoon()
  })
  stream.addEventListener('error', () => {
    // Take over from EventSource's own retry, so the delay is ours and a refused stream (a 401
    // or 503 closes it for good) is retried too.
    stream.close()
    lostServer = true
    setConn('lost', ` · retrying in ${Math.round(retryMs / 1000)} s`)
    setTimeout(connectStream, retryMs)
    retryMs = Math.min(retryMs * 2, RETRY_MAX_MS)
    void refreshStatus()
  })
}

// ---------------------------------------------------------------------------------------------
// Routes: the table (searched, sorted and paged by the API), the trend arrows and the chart

let spreadsTimer = 0
let spreadsBusy = false
let spreadsAgain = false

/** The table's query: the view, one page of PAGE_SIZE routes. */
function tableParams() {
  const { q, sort, order, page } = state.view
  const params = { sort, order, page, limit: PAGE_SIZE }
  if (q.trim() !== '') params.q = q.trim()
  return params
}

async function refreshSpreads() {
  clearTimeout(spreadsTimer)
  if (spreadsBusy) {
    spreadsAgain = true
    return
  }
  spreadsBusy = true
  const seq = state.viewSeq
  try {
    // The page the table shows, and each top market's best route for the chart.
    const [table, top] = await Promise.all([
      getJson('/api/spreads', tableParams()),
      getJson('/api/spreads', { group: 'symbol', sort: 'net', limit: SERIES_COLOURS }),
    ])
    onChart(top.spreads, Date.now())
    if (seq === state.viewSeq) onTable(table, Date.now())
    else spreadsAgain = true
    byId('spreads').classList.remove('stale')
  } catch (err) {
    byId('spreads').classList.add('stale')
    reportError(err)
  } finally {
    spreadsBusy = false
    spreadsTimer = setTimeout(refreshSpreads, spreadsAgain ? 0 : SPREADS_EVERY_MS)
    spreadsAgain = false
  }
}

function refreshSpreadsSoon() {
  clearTimeout(spreadsTimer)
  spreadsTimer = setTimeout(refreshSpreads, 50)
}

/** Changes what the table shows and asks for it at once. */
function setView(change) {
  Object.assign(state.view, change)
  state.viewSeq++
  renderSortHeaders()
  if (spreadsBusy) spreadsAgain = true
  else refreshSpreadsSoon()
}

function onTable(body, nowMs) {
  const { spreads: rows, total, sizeQuote } = body
  noteMarkets(rows)
  const pages = Math.max(1, Math.ceil(total / PAGE_SIZE))
  if (state.view.page > pages) {
    // The routes shrank under the page being shown: go to the last one.
    setView({ page: pages })
    return
  }
  const seen = new Map()
  for (const row of rows) {
    const key = routeKey(row)
    const net = usableNet(row) ? row.netBps : null
    const prev = state.prevNet.get(key)
    let trend = 'flat'
    if (isNum(net) && isNum(prev) && Math.abs(net - prev) > TREND_EPSILON_BPS) {
      trend = net > prev ? 'up' : 'down'
    }
    state.trend.set(key, trend)
    seen.set(key, net)
  }
  // Only what is on screen is remembered (paging away and back starts the arrows afresh).
  state.prevNet = seen
  for (const key of state.trend.keys()) if (!seen.has(key)) state.trend.delete(key)
  renderSpreads(rows)
  renderPager(total, pages)
  // Which view the rows are of (`net:desc:1:btc`), for whoever waits for a view to be drawn.
  const { sort, order, page, q } = state.view
  byId('spreads-body').dataset.view = `${sort}:${order}:${page}:${q.trim()}`
  byId('spreads-note').textContent =
    `Net after taker fees at ${fmtSize(sizeQuote)} of the quote currency · updated ${fmtTime(nowMs)}`
}

/** Adds a point to a market's history in time order; a point whose key is there already is not. */
function addPoint(symbol, point) {
  const points = state.history.get(symbol) ?? []
  if (point.key !== undefined && points.some((p) => p.key === point.key)) return
  let i = points.length
  while (i > 0 && points[i - 1].t > point.t) i--
  points.splice(i, 0, point)
  state.history.set(symbol, points)
}

/** Drops what is older than the hour; keeps the HISTORY_MAX_SERIES markets updated last. */
function trimHistory(nowMs) {
  for (const [symbol, points] of state.history) {
    while (points.length > 0 && points[0].t < nowMs - HISTORY_MS) points.shift()
    if (points.length === 0) state.history.delete(symbol)
  }
  if (state.history.size > HISTORY_MAX_SERIES) {
    const oldest = [...state.history].sort((a, b) => a[1].at(-1).t - b[1].at(-1).t)
    for (const [symbol] of oldest.slice(0, state.history.size - HISTORY_MAX_SERIES)) {
      state.history.delete(symbol)
    }
  }
}

/**
 * An opportunity's points on its market's line, at this browser's clock: its net when it opened,
 * and when it closed (or last changed, while open). The line joins them (it was open between).
 */
function opportunityPoints(o) {
  const at = (serverMs) => serverMs - state.skewMs
  const points = [{ t: at(o.openedAtMs), net: o.netBpsOpen, id: o.id, key: `${o.id}:open` }]
  if (isNum(o.closedAtMs)) {
    points.push({ t: at(o.closedAtMs), net: o.netBps, id: o.id, key: `${o.id}:close` })
  } else if (isNum(o.updatedAtMs) && o.updatedAtMs > o.openedAtMs) {
    points.push({ t: at(o.updatedAtMs), net: o.netBps, id: o.id, key: `${o.id}:last` })
  }
  return points.filter((p) => isNum(p.net))
}

function addOpportunity(o) {
  if (o.anomaly) return
  for (const p of opportunityPoints(o)) addPoint(o.symbol, p)
}

/**
 * The chart's last hour from the server: the stored opportunities opened in it (anomalies
 * aside), so a page just opened does not start empty. Read after `hello`, whose clock it uses.
 */
async function loadHistory() {
  try {
    const since = Math.floor(serverNow() - HISTORY_MS)
    let cursor = null
    for (let page = 0; page < HISTORY_MAX_PAGES; page++) {
      const params = { since, anomalies: 'false', limit: HISTORY_PAGE }
      if (cursor) params.cursor = cursor
      const body = await getJson('/api/opportunities', params)
      for (const o of body.items) addOpportunity(o)
      cursor = body.nextCursor
      if (!cursor) break
    }
    trimHistory(Date.now())
    if (state.chartSymbols.length === 0) setChartSymbols(historySymbols())
    renderChart()
  } catch (err) {
    reportError(err)
  }
}

/** Before the first poll: the markets of the history, the ones updated last first. */
function historySymbols() {
  return [...state.history]
    .sort((a, b) => b[1].at(-1).t - a[1].at(-1).t)
    .slice(0, SERIES_COLOURS)
    .map(([symbol]) => symbol)
}

/** Chart history: each top market's best net now; at most HISTORY_MAX_SERIES markets are kept. */
function onChart(rows, nowMs) {
  noteMarkets(rows)
  for (const row of rows)
    addPoint(row.symbol, { t: nowMs, net: usableNet(row) ? row.netBps : null })
  trimHistory(nowMs)
  setChartSymbols(rows.map((r) => r.symbol))
  renderChart()
}

/** The markets charted; one charted again keeps its colour, a new one takes one not in use. */
function setChartSymbols(symbols) {
  state.chartSymbols = symbols
  const colours = new Map()
  const used = new Set()
  for (const symbol of state.chartSymbols) {
    const colour = state.colours.get(symbol)
    if (colour === undefined || used.has(colour)) continue
    colours.set(symbol, colour)
    used.add(colour)
  }
  for (const symbol of state.chartSymbols) {
    if (colours.has(symbol)) continue
    let colour = 0
    while (used.has(colour) && colour < SERIES_COLOURS - 1) colour++
    colours.set(symbol, colour)
    used.add(colour)
  }
  state.colours = colours
}

const ARROWS = { up: '▲', down: '▼', flat: '→' }

/** Why a row has no usable net spread, in a few words. */
function whyNoNet(row) {
  if (!row.fresh) return 'stale'
  if (row.depth !== 'ok') return row.depth === 'empty-book' ? 'empty book' : 'too thin'
  return ''
}

function renderSpreads(rows) {
  const body = byId('spreads-body')
  if (rows.length === 0) {
    const text = state.view.q.trim() ? 'No route matches the search.' : 'No routes yet.'
    body.replaceChildren(h('tr', { class: 'placeholder' }, h('td', { colspan: 4 }, text)))
    return
  }
  body.replaceChildren(
    ...rows.map((row) => {
      const key = routeKey(row)
      const usable = usableNet(row)
      const open = row.openId !== null && row.openId !== undefined
      const trend = state.trend.get(key) ?? 'flat'
      const why = usable ? '' : whyNoNet(row)
      return h(
        'tr',
        { class: open ? 'open' : undefined, data: { symbol: row.symbol, key, kind: row.kind } },
        h(
          'th',
          { scope: 'row' },
          row.symbol,
          row.kind !== 'cross' ? h('span', { class: 'tag muted' }, row.kind) : null,
          open ? h('span', { class: 'tag ok' }, 'open') : null,
          h('div', { class: 'route' }, routeOf(row)),
          renderLegs(row),
        ),
        h('td', { class: `num gross ${pctClass(row.grossBps)}` }, fmtPct(row.grossBps)),
        h(
          'td',
          { class: `num net ${usable ? pctClass(row.netBps) : 'muted'}` },
          usable ? fmtPct(row.netBps) : why || '—',
        ),
        h(
          'td',
          { class: `trend ${usable ? trend : 'flat'}`, title: `net ${trend} since the last poll` },
          usable ? ARROWS[trend] : '',
        ),
      )
    }),
  )
}

function renderPager(total, pages) {
  const { page } = state.view
  byId('spreads-prev').disabled = page <= 1
  byId('spreads-next').disabled = page >= pages
  byId('spreads-page').textContent =
    total === 0
      ? '0 routes'
      : `Page ${page} of ${pages} · ${total.toLocaleString()} route${total === 1 ? '' : 's'}`
}

/** The first click on a column sorts it its natural way (figures high first, names A-Z). */
function renderSortHeaders() {
  for (const th of document.querySelectorAll('#spreads th[data-sort]')) {
    const active = th.dataset.sort === state.view.sort
    th.setAttribute(
      'aria-sort',
      active ? (state.view.order === 'asc' ? 'ascending' : 'descending') : 'none',
    )
  }
}

function onSortClick(ev) {
  const th = ev.target.closest('th[data-sort]')
  if (!th) return
  const sort = th.dataset.sort
  const natural = sort === 'symbol' ? 'asc' : 'desc'
  const order = sort === state.view.sort ? (state.view.order === 'asc' ? 'desc' : 'asc') : natural
  setView({ sort, order, page: 1 })
}

let searchTimer = 0
function onSearchInput() {
  clearTimeout(searchTimer)
  searchTimer = setTimeout(() => {
    const q = byId('spreads-q').value
    if (q !== state.view.q) setView({ q, page: 1 })
  }, SEARCH_DEBOUNCE_MS)
}

/** Round tick values (1, 2, 2.5, 5 × 10^k apart) spanning [lo, hi]. */
function ticks(lo, hi, count) {
  const raw = (hi - lo) / count
  const mag = 10 ** Math.floor(Math.log10(raw))
  const step = [1, 2, 2.5, 5, 10].map((m) => m * mag).find((x) => x >= raw) ?? raw
  const out = []
  for (let v = Math.ceil(lo / step) * step; v <= hi + step * 1e-9; v += step)
    out.push(+v.toFixed(10))
  return out
}

let chartWidth = 0

function renderChart() {
  const box = byId('chart')
  // The markets at the top now, with what the last hour held of them.
  const series = (state.chartSymbols ?? [])
    .map((symbol) => [symbol, state.history.get(symbol) ?? []])
    .filter(([, pts]) => pts.some((p) => isNum(p.net)))
  const legend = byId('legend')
  if (series.length === 0) {
    box.replaceChildren(h('p', { class: 'empty' }, 'Collecting spreads…'))
    legend.replaceChildren()
    return
  }
  const width = Math.max(260, Math.round(box.clientWidth))
  chartWidth = width
  const height = width < 480 ? 170 : 220
  const pad = { l: 42, r: 10, t: 10, b: 22 }
  const t1 = Date.now()
  let t0 = Math.max(t1 - HISTORY_MS, Math.min(...series.map(([, pts]) => pts[0].t)))
  if (t1 - t0 < MIN_CHART_SPAN_MS) t0 = t1 - MIN_CHART_SPAN_MS
  // Drawn in % (the API's bps / 100), as every spread on the page reads.
  const pct = (bps) => bps / 100
  const values = series.flatMap(([, pts]) => pts.map((p) => p.net).filter(isNum)).map(pct)
  let lo = Math.min(0, ...values)
  let hi = Math.max(0, ...values)
  if (hi - lo < 0.01) {
    lo -= 0.005
    hi += 0.005
  }
  const margin = (hi - lo) * 0.08
  lo -= margin
  hi += margin
  const x = (t) => pad.l + ((t - t0) / (t1 - t0)) * (width - pad.l - pad.r)
  const y = (v) => pad.t + ((hi - v) / (hi - lo)) * (height - pad.t - pad.b)

  const svg = s('svg', {
    viewBox: `0 0 ${width} ${height}`,
    width,
    height,
    role: 'img',
    'aria-label': 'Best net spread per symbol over time, in percent',
  })
  for (const v of ticks(lo, hi, 4)) {
    svg.append(
      s('line', {
        x1: pad.l,
        x2: width - pad.r,
        y1: y(v),
        y2: y(v),
        class: v === 0 ? 'zero' : 'gridline',
      }),
      s('text', { x: pad.l - 6, y: y(v) + 4, class: 'axis', 'text-anchor': 'end' }, String(v)),
    )
  }
  const xTicks = [t0, (t0 + t1) / 2, t1]
  xTicks.forEach((t, i) => {
    const anchor = i === 0 ? 'start' : i === xTicks.length - 1 ? 'end' : 'middle'
    const label = fmtTime(t).slice(0, 5)
    svg.append(s('text', { x: x(t), y: height - 6, class: 'axis', 'text-anchor': anchor }, label))
  })
  for (const [symbol, pts] of series) {
    const colour = state.colours.get(symbol) ?? 0
    // Runs of points close enough in time (or of one opportunity) are lines; a lone one is a dot.
    const runs = []
    let prev = null
    for (const p of pts) {
      if (p.t < t0 || !isNum(p.net)) {
        prev = null
        continue
      }
      const joined =
        prev !== null && (p.t - prev.t <= CHART_GAP_MS || (p.id !== undefined && p.id === prev.id))
      if (joined) runs.at(-1).push(p)
      else runs.push([p])
      prev = p
    }
    const drawn = runs.flat()
    let d = ''
    for (const run of runs.filter((r) => r.length > 1)) {
      run.forEach((p, i) => {
        d += `${i === 0 ? 'M' : 'L'}${x(p.t).toFixed(1)},${y(pct(p.net)).toFixed(1)}`
      })
    }
    svg.append(
      s('path', {
        d,
        class: `series c${colour}`,
        'data-symbol': symbol,
        'data-points': drawn.length,
        'data-first': drawn.length > 0 ? Math.round(drawn[0].t) : '',
      }),
    )
    const last = pts.at(-1)
    for (const [p] of runs.filter((r) => r.length === 1 && r[0] !== last)) {
      const cy = y(pct(p.net))
      svg.append(s('circle', { cx: x(p.t), cy, r: 2.5, class: `pt c${colour}` }))
    }
    if (last && isNum(last.net)) {
      const cy = y(pct(last.net))
      svg.append(s('circle', { cx: x(last.t), cy, r: 2.5, class: `end c${colour}` }))
    }
  }
  box.replaceChildren(svg)
  legend.replaceChildren(
    ...series.map(([symbol, pts]) => {
      const last = pts.at(-1)?.net
      return h(
        'li',
        {},
        h('span', { class: `swatch c${state.colours.get(symbol) ?? 0}`, 'aria-hidden': 'true' }),
        `${symbol} `,
        h('span', { class: pctClass(last) }, fmtPct(last)),
      )
    }),
  )
}

// ---------------------------------------------------------------------------------------------
// Depth: per venue, the imbalance within ±0.5 % as a bar and the depth within ±0.5 % / ±2 %

const PLAIN_MARKET = /^[^>/]+\/[^>/]+$/

/** Adds the plain markets of these route rows to the depth panel's select. */
function noteMarkets(rows) {
  const known = state.depth.markets
  const before = known.size
  for (const r of rows) if (PLAIN_MARKET.test(String(r.symbol))) known.add(String(r.symbol))
  if (known.size !== before) renderDepthSelect()
}

function renderDepthSelect() {
  const select = byId('depth-symbol')
  const auto = h('option', { value: '' }, 'Top opportunity')
  const options = [...state.depth.markets].sort().map((m) => h('option', { value: m }, m))
  select.replaceChildren(auto, ...options)
  select.value = state.depth.picked
}

/** The market shown: the one picked, else the best open opportunity's, else the first known. */
function depthSymbol() {
  if (state.depth.picked) return state.depth.picked
  const best = [...state.open.values()]
    .filter((o) => !o.anomaly && PLAIN_MARKET.test(String(o.symbol)))
    .sort((a, b) => (b.netBps ?? -Infinity) - (a.netBps ?? -Infinity))[0]
  if (best) return String(best.symbol)
  return [...state.depth.markets].sort()[0] ?? ''
}

let depthTimer = 0

async function refreshDepth() {
  clearTimeout(depthTimer)
  const symbol = depthSymbol()
  try {
    if (symbol) {
      const body = await getJson('/dashboard/depth', { symbol })
      if (symbol === depthSymbol()) {
        addDepthSamples(body, Date.now())
        renderDepth(body)
      }
    } else {
      byId('depth').replaceChildren(h('p', { class: 'empty' }, 'Waiting for markets…'))
    }
  } catch (err) {
    reportError(err)
  } finally {
    depthTimer = setTimeout(refreshDepth, DEPTH_EVERY_MS)
  }
}

const sumOf = (a, b) => (isNum(a) && isNum(b) ? a + b : null)

function addDepthSamples(body, nowMs) {
  let market = state.depth.history.get(body.symbol)
  if (!market) state.depth.history.set(body.symbol, (market = new Map()))
  for (const v of body.venues) {
    let pts = market.get(v.venue)
    if (!pts) market.set(v.venue, (pts = []))
    pts.push({ t: nowMs, near: sumOf(v.bidNear, v.askNear), wide: sumOf(v.bidWide, v.askWide) })
    if (pts.length > DEPTH_HISTORY_MAX) pts.splice(0, pts.length - DEPTH_HISTORY_MAX)
  }
}

/** A small line of a venue's depth over the samples kept: ±2 % (solid) and ±0.5 % (dashed). */
function depthSpark(pts) {
  const width = 160
  const height = 32
  const values = pts.flatMap((p) => [p.near, p.wide]).filter(isNum)
  const hi = Math.max(...values, 0) || 1
  const x = (i) => (pts.length < 2 ? width : (i / (pts.length - 1)) * width)
  const y = (v) => 2 + (1 - v / hi) * (height - 4)
  const line = (key) => {
    let d = ''
    let pen = 'M'
    pts.forEach((p, i) => {
      if (!isNum(p[key])) {
        pen = 'M'
        return
      }
      d += `${pen}${x(i).toFixed(1)},${y(p[key]).toFixed(1)}`
      pen = 'L'
    })
    return d
  }
  const svg = s('svg', {
    class: 'depth-spark',
    viewBox: `0 0 ${width} ${height}`,
    width,
    height,
    role: 'img',
    'aria-label': 'Depth within ±2 % (solid) and ±0.5 % (dashed) over time',
    'data-points': pts.length,
  })
  svg.append(
    s('path', { d: line('wide'), class: 'wide' }),
    s('path', { d: line('near'), class: 'near' }),
  )
  return svg
}

function renderDepth(body) {
  state.depth.shown = body.symbol
  const ccy = quoteOf(body.symbol)
  const market = state.depth.history.get(body.symbol) ?? new Map()
  byId('depth-note').textContent =
    `${body.symbol}` +
    (body.source === 'top' ? ' · from the best bid and ask only' : ' · every level of the books') +
    ` · quote volume (${ccy})`
  if (body.venues.length === 0) {
    byId('depth').replaceChildren(h('p', { class: 'empty' }, `No books of ${body.symbol}.`))
    return
  }
  const figure = (cls, value) =>
    h('td', { class: `num ${cls}`, data: { value: isNum(value) ? value : '' } }, fmtAmount(value))
  const rows = body.venues.map((v) => {
    const imb = isNum(v.imbalance) ? v.imbalance : null
    const bidShare = imb === null ? 0.5 : (1 + imb) / 2
    const bid = h('span', { class: 'imb-bid' })
    const ask = h('span', { class: 'imb-ask' })
    bid.style.width = `${(bidShare * 100).toFixed(3)}%`
    ask.style.width = `${((1 - bidShare) * 100).toFixed(3)}%`
    const label =
      imb === null
        ? 'no volume within ±0.5 %'
        : `imbalance ${imb >= 0 ? '+' : ''}${(imb * 100).toFixed(1)}% (${imb >= 0 ? 'bids' : 'asks'} heavier)`
    return h(
      'li',
      { class: 'depth-venue', data: { venue: v.venue, state: v.state, imbalance: imb ?? '' } },
      h(
        'div',
        { class: 'depth-head' },
        h('strong', {}, v.venue),
        h('span', { class: 'imb-text muted' }, label),
      ),
      h(
        'div',
        {
          class: `imb${imb === null ? ' empty-bar' : ''}`,
          role: 'img',
          'aria-label': label,
          title: label,
        },
        bid,
        ask,
      ),
      h(
        'table',
        { class: 'depth-table' },
        h(
          'thead',
          {},
          h(
            'tr',
            {},
            h('th', { scope: 'col' }, ''),
            h('th', { scope: 'col', class: 'num' }, 'Bids'),
            h('th', { scope: 'col', class: 'num' }, 'Asks'),
          ),
        ),
        h(
          'tbody',
          {},
          h(
            'tr',
            { data: { band: '0.5' } },
            h('th', { scope: 'row' }, '±0.5 %'),
            figure('bid', v.bidNear),
            figure('ask', v.askNear),
          ),
          h(
            'tr',
            { data: { band: '2' } },
            h('th', { scope: 'row' }, '±2 %'),
            figure('bid', v.bidWide),
            figure('ask', v.askWide),
          ),
        ),
      ),
      depthSpark(market.get(v.venue) ?? []),
    )
  })
  const list = h('ul', { class: 'depth-list', data: { symbol: body.symbol } }, rows)
  byId('depth').replaceChildren(list)
}

function onDepthPick() {
  state.depth.picked = byId('depth-symbol').value
  void refreshDepth()
}

// ---------------------------------------------------------------------------------------------
// Status (latencies, message ages) and the footer

let statusTimer = 0

async function refreshStatus() {
  clearTimeout(statusTimer)
  try {
    const body = await getJson('/api/status')
    for (const [venue, status] of Object.entries(body.venues)) mergeVenue(venue, status)
    renderVenues()
  } catch (err) {
    reportError(err)
  } finally {
    statusTimer = setTimeout(refreshStatus, STATUS_EVERY_MS)
  }
}

function renderSummary() {
  const venues = state.venues.size
  const open = [...state.open.values()].filter((o) => !o.anomaly).length
  byId('summary').textContent = `${venues} venue${venues === 1 ? '' : 's'} · ${open} open`
}

function reportError(err) {
  if (err instanceof ApiError && err.status === 401) setConn('auth')
  else if (!(err instanceof ApiError)) console.warn('arbwatch:', err)
}

// ---------------------------------------------------------------------------------------------
// Profit calculator

function calcError(message) {
  const el = byId('calc-error')
  el.textContent = message
  el.hidden = message === ''
  byId('size').setAttribute('aria-invalid', message === '' ? 'false' : 'true')
}

async function calculate(ev) {
  ev.preventDefault()
  const raw = byId('size').value.trim()
  if (raw === '') return calcError('Enter a trade size in the quote currency, e.g. 1000.')
  if (raw.length > 30) return calcError('That size is too long to be a number.')
  const button = byId('calc').querySelector('button')
  button.disabled = true
  try {
    const body = await getJson('/api/spreads', {
      size: raw,
      group: 'symbol',
      sort: 'net',
      limit: CALC_ROWS,
    })
    calcError('')
    renderCalc(body)
  } catch (err) {
    // The API says what is wrong with the size (a 400 with `error`).
    calcError(err instanceof ApiError ? err.message : 'The server did not answer; try again.')
    byId('calc-out').replaceChildren()
    reportError(err)
  } finally {
    button.disabled = false
  }
}

function renderCalc({ sizeQuote, spreads, total }) {
  const rows = spreads.map((row) => {
    const symbol = row.symbol
    const ccy = quoteOf(symbol)
    if (!usableNet(row)) {
      return h(
        'tr',
        { data: { symbol } },
        h('th', { scope: 'row' }, symbol),
        h(
          'td',
          { colspan: 2, class: 'muted' },
          row.fresh ? `book ${whyNoNet(row)} for this size` : 'no fresh quotes',
        ),
      )
    }
    return h(
      'tr',
      { data: { symbol } },
      h('th', { scope: 'row' }, symbol, h('div', { class: 'route' }, routeOf(row))),
      h('td', { class: `num ${pctClass(row.netBps)}` }, fmtPct(row.netBps)),
      h(
        'td',
        { class: 'num' },
        h(
          'span',
          { class: `profit ${signClass(row.profitQuote)}` },
          `${fmtAmount(row.profitQuote)} ${ccy}`,
        ),
        row.maxSizeQuote > 0
          ? h(
              'div',
              { class: 'max', title: 'Largest size whose net spread still meets the threshold' },
              `max ${fmtAmount(row.maxSizeQuote, 0)} → +${fmtAmount(row.maxProfitQuote)}`,
            )
          : null,
      ),
    )
  })
  byId('calc-out').replaceChildren(
    h(
      'p',
      { class: 'note' },
      `At ${fmtSize(sizeQuote)} per trade on the current books, ${fmtTime(Date.now())}` +
        (total > spreads.length ? ` · the best ${spreads.length} of ${total} markets` : ''),
    ),
    h(
      'div',
      { class: 'table-wrap' },
      h(
        'table',
        { id: 'calc-results', class: 'spreads' },
        h(
          'thead',
          {},
          h(
            'tr',
            {},
            h('th', { scope: 'col' }, 'Best route'),
            h('th', { scope: 'col', class: 'num' }, 'Net %'),
            h('th', { scope: 'col', class: 'num' }, 'Profit'),
          ),
        ),
        h('tbody', {}, rows),
      ),
    ),
  )
}

// ---------------------------------------------------------------------------------------------
// Start

function tick() {
  const now = serverNow()
  for (const el of document.querySelectorAll('[data-since]')) {
    el.textContent = fmtDuration(now - Number(el.dataset.since))
  }
}

function start() {
  byId('api-link').href = apiUrl('/api/status')
  byId('calc').addEventListener('submit', calculate)
  byId('feed').addEventListener('click', onFeedClick)
  // An alert's link (`PUBLIC_URL/?opportunity=<id>`) opens that opportunity's page.
  const linked = new URLSearchParams(location.search).get('opportunity')
  if (linked) void showDetail(linked)
  byId('feed').addEventListener('keydown', onFeedClick)
  byId('spreads').querySelector('thead').addEventListener('click', onSortClick)
  byId('spreads-q').addEventListener('input', onSearchInput)
  byId('spreads-prev').addEventListener('click', () =>
    setView({ page: Math.max(1, state.view.page - 1) }),
  )
  byId('spreads-next').addEventListener('click', () => setView({ page: state.view.page + 1 }))
  renderSortHeaders()
  new ResizeObserver(() => {
    if (Math.round(byId('chart').clientWidth) !== chartWidth) renderChart()
  }).observe(byId('chart'))
  byId('depth-symbol').addEventListener('change', onDepthPick)
  setInterval(tick, 1000)
  connectStream()
  void loadFeed()
  void refreshSpreads()
  void refreshStatus()
  void refreshDepth()
}

start()
