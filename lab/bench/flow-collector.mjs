#!/usr/bin/env node
// ft's flow collector as a process of its own for flow.bench.ts: the same FlowDetector `ft run` uses, from the
// built plugin (run `npx tsc -b plugins/detector-flow` first). argv: PORT WORKERS RECEIVE_BUFFER_BYTES [COALESCE_MS].
// Prints {"ready":true} once bound; each line on stdin prints the totals as one JSON line; EOF stops it.
import { createInterface } from 'node:readline';
import { flowConfigSchema } from '../../plugins/detector-flow/dist/config.js';
import { FlowDetector } from '../../plugins/detector-flow/dist/detector.js';

const [port, workers, rcvbuf, coalesceMs] = process.argv.slice(2).map(Number);
const logger = {
  debug() {},
  info() {},
  warn() {},
  error() {},
  child() {
    return logger;
  },
};
const config = flowConfigSchema.parse({
  listeners: [{ address: '127.0.0.1', port }],
  protect: ['203.0.113.0/24', '198.51.100.0/24', '2001:db8::/32'],
  workers,
  receiveBufferBytes: rcvbuf,
  ...(coalesceMs === undefined || Number.isNaN(coalesceMs) ? {} : { coalesceMs }),
});
const detector = new FlowDetector(config, { name: 'bench', logger });
let samples = 0;
await detector.start(() => void samples++);
process.stdout.write(`${JSON.stringify({ ready: true })}\n`);
const rl = createInterface({ input: process.stdin });
rl.on('line', async () => {
  const s = await detector.status();
  const m = process.memoryUsage();
  const mb = (n) => Math.round(n / 1e5) / 10;
  process.stdout.write(
    `${JSON.stringify({ datagrams: s.totals.datagrams, records: s.totals.records, errors: s.totals.decodeErrors, samples, rssMb: mb(m.rss), heapMb: mb(m.heapTotal), usedMb: mb(m.heapUsed), externalMb: mb(m.external + m.arrayBuffers) })}\n`,
  );
});
rl.on('close', async () => {
  await detector.stop();
  process.exit(0);
});
