/**
 * @module
 * drizzle-kit configuration, used by `bun run db:generate` from the repository root (paths are
 * relative to it). drizzle-kit is pinned to 0.31: it writes `migrations/0000_<slug>.sql` plus
 * `meta/_journal.json`, the layout `runMigrations` reads. `dbCredentials` only matters to
 * `drizzle-kit migrate`/`studio` run by hand; the program itself migrates with `runMigrations`.
 */
import { defineConfig } from 'drizzle-kit'

export default defineConfig({
  dialect: 'turso',
  schema: './src/db/schema.ts',
  out: './migrations',
  dbCredentials: { url: 'file:data/arbwatch.db' },
  strict: true,
  verbose: true,
})
