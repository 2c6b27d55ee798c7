/**
 * @module
 * The API's one error class and the handler that turns errors into JSON (never a stack trace).
 */
import type { Context } from 'hono'
import { HTTPException } from 'hono/http-exception'
import type { ContentfulStatusCode } from 'hono/utils/http-status'
import { databaseUnavailable } from '../db/client.ts'
import type { Logger } from '../log.ts'

export class ApiError extends HTTPException {
  override name = 'ApiError'
  constructor(status: ContentfulStatusCode, message: string) {
    super(status, { message })
  }
}

export const onError = (log: Logger) =>
  function onError(err: Error, c: Context): Response {
    if (err instanceof HTTPException) {
      return c.json({ error: err.message }, err.status as ContentfulStatusCode)
    }
    // A database that times out, is unreachable, read-only or full: a 503 that says so.
    const unavailable = databaseUnavailable(err)
    if (unavailable !== undefined) return c.json({ error: unavailable }, 503)
    log.error({ err }, 'unhandled API error')
    return c.json({ error: 'internal error' }, 500)
  }
