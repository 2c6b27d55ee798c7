/**
 * @module
 * The live dashboard: `GET /` (the page), `/dashboard/app.js` and `/dashboard/style.css`, served
 * same-origin by the API process with no build step. The three files sit beside this module and are
 * read once, when it is first imported (at start-up).
 */
import type { Hono } from 'hono'

const HTML_TYPE = 'text/html; charset=utf-8'
const JS_TYPE = 'text/javascript; charset=utf-8'
const CSS_TYPE = 'text/css; charset=utf-8'

const read = (name: string) => Bun.file(`${import.meta.dir}/${name}`).text()
const [html, appJs, styleCss] = await Promise.all([
  read('index.html'),
  read('app.js'),
  read('style.css'),
])

/** Asset URLs the page refers to; they get the page's `?token=` when it was loaded with one. */
const ASSET_URLS = ['/dashboard/app.js', '/dashboard/style.css'] as const

/**
 * The page, with `token` appended to its asset URLs: behind API_TOKEN the browser loads them with
 * the same `?token=` it loaded the page with (the page's script adds it to its API calls itself).
 */
export function pageWithToken(page: string, token: string): string {
  const query = `?token=${encodeURIComponent(token)}`
  return ASSET_URLS.reduce((out, url) => out.replaceAll(`"${url}"`, `"${url}${query}"`), page)
}

/**
 * Serves the dashboard. Mount it behind the API token, if any: the page is then opened as
 * `/?token=…`.
 *
 * @param app - the API app (`createApi`'s `mount` hook).
 * @example
 * ```ts
 * createApi({ ...deps, mount: (app) => mountDashboard(app) })
 * ```
 */
export function mountDashboard(app: Hono): void {
  const headers = (type: string) => ({ 'content-type': type, 'cache-control': 'no-cache' })
  app.get('/', (c) => {
    const token = c.req.query('token')
    const page = token === undefined || token === '' ? html : pageWithToken(html, token)
    return c.body(page, 200, headers(HTML_TYPE))
  })
  app.get('/dashboard/app.js', (c) => c.body(appJs, 200, headers(JS_TYPE)))
  app.get('/dashboard/style.css', (c) => c.body(styleCss, 200, headers(CSS_TYPE)))
}
