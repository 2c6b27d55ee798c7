/**
 * @module
 * A typed event stream: components announce what happened as a union on `type`, listeners
 * subscribe, and tests `await` the next matching event instead of polling.
 */

/** The event types of a union, each narrowed to its own member. */
export type EventOf<E extends { type: string }, T extends E['type']> = Extract<E, { type: T }>

/**
 * One component's events. Listeners run synchronously in the order they subscribed; a listener
 * that throws does not stop the others (the error goes to `onListenerError`).
 *
 * @example
 * ```ts
 * const events = new Emitter<{ type: 'up' } | { type: 'down'; reason: string }>()
 * const off = events.on((e) => console.log(e.type))
 * const down = await events.next('down')
 * ```
 */
export class Emitter<E extends { type: string }> {
  readonly #listeners: ((e: E) => void)[] = []

  constructor(readonly onListenerError: (err: unknown) => void = defaultListenerError) {}

  /** Subscribes; returns the function that unsubscribes. */
  on(listener: (e: E) => void): () => void {
    this.#listeners.push(listener)
    return () => {
      const i = this.#listeners.indexOf(listener)
      if (i !== -1) this.#listeners.splice(i, 1)
    }
  }

  emit(event: E): void {
    const listeners = this.#listeners
    for (let i = 0; i < listeners.length; i++) {
      try {
        listeners[i]!(event)
      } catch (err) {
        this.onListenerError(err)
      }
    }
  }

  /** Resolves with the next event of this type (that `where` accepts); rejects after `timeoutMs`. */
  next<T extends E['type']>(
    type: T,
    where: (e: EventOf<E, T>) => boolean = () => true,
    timeoutMs = 5000,
  ): Promise<EventOf<E, T>> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        off()
        reject(new Error(`timed out after ${timeoutMs} ms waiting for a '${type}' event`))
      }, timeoutMs)
      const off = this.on((e) => {
        if (e.type !== type || !where(e as EventOf<E, T>)) return
        clearTimeout(timer)
        off()
        resolve(e as EventOf<E, T>)
      })
    })
  }
}

function defaultListenerError(err: unknown): void {
  console.error('event listener failed:', err)
}
