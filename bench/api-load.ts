/**
 * @module
 * A second process loading the API over loopback: `concurrency` clients alternate
 * `GET /api/status` and `GET /api/spreads` until stopped (SIGTERM) or `seconds` pass; prints one
 * JSON line with requests per second and latency p50/p99 per endpoint.
 *   bun bench/api-load.ts <http-port> [concurrency] [seconds]
 */
export {}

const [portText, concText = '8', secondsText = '30'] = process.argv.slice(2)
const base = `http://127.0.0.1:${portText}`
const paths = ['/api/status', '/api/spreads'] as const
const latencies: Record<string, number[]> = { '/api/status': [], '/api/spreads': [] }
let running = true
let errors = 0
process.on('SIGTERM', () => (running = false))
const deadline = Date.now() + Number(secondsText) * 1000
const t0 = performance.now()
await Promise.all(
  Array.from({ length: Number(concText) }, async (_, k) => {
    for (let i = k; running && Date.now() < deadline; i++) {
      const path = paths[i % 2]!
      const start = performance.now()
      try {
        const res = await fetch(base + path)
        await res.arrayBuffer()
        if (!res.ok && running) errors++
      } catch (err) {
        // A request cut short by our own stop signal is not an API error.
        if (running) errors++
        if (process.env.DEBUG_LOAD) console.error(String(err))
      }
      latencies[path]!.push(performance.now() - start)
    }
  }),
)
const seconds = (performance.now() - t0) / 1000
const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b)
  return s[Math.min(s.length - 1, Math.floor(s.length * p))] ?? null
}
const out = Object.fromEntries(
  paths.map((p) => [
    p,
    {
      requests: latencies[p]!.length,
      rps: latencies[p]!.length / seconds,
      p50Ms: pct(latencies[p]!, 0.5),
      p99Ms: pct(latencies[p]!, 0.99),
    },
  ]),
)
console.log(JSON.stringify({ seconds, errors, ...out }))
