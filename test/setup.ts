/**
 * Test preload: quiet logs, and an unhandled rejection fails the run instead of passing silently.
 */
process.env.LOG_LEVEL ??= 'silent'
process.on('unhandledRejection', (err) => {
  console.error('unhandled rejection in test:', err)
  process.exitCode = 1
})
