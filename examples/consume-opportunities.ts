// Reads arbwatch's opportunities stream with a consumer group of its own: BUS_URL=redis://… bun examples/consume-opportunities.ts
import { RedisClient } from 'bun'
const redis = new RedisClient(process.env.BUS_URL), stream = 'arbwatch:opportunities', group = 'my-app'
await redis.send('XGROUP', ['CREATE', stream, group, '0', 'MKSTREAM']).catch(() => {}) // already there
while (true) {
  const read = await redis.send('XREADGROUP', ['GROUP', group, 'me', 'BLOCK', '5000', 'STREAMS', stream, '>'])
  for (const [id, fields] of read?.[stream] ?? []) {
    for (const e of JSON.parse(fields[fields.indexOf('m') + 1])) console.log(e.type, e.opportunity.id, e.opportunity.netBps)
    await redis.send('XACK', [stream, group, id]) // done with it: a restart resumes after it
  }
}
