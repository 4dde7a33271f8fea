import { Prefix } from '@ft/sdk';
import { parentPort, workerData } from 'node:worker_threads';
import { Collector } from '../aggregate/collector.js';
import { collectorOptions, collectorTotals, type EngineOptions } from './engine.js';
import { WORKER_PROTOCOLS, type WorkerBatch } from './worker-engine.js';

// One shard of the collector: the same Collector the inline engine uses, fed in batches.
const collector = new Collector(collectorOptions(workerData as EngineOptions, (t) => Prefix.parse(t)));

parentPort?.on('message', (msg: { type: string; id?: number; batch?: WorkerBatch }) => {
  if (msg.type === 'batch' && msg.batch) {
    const { data, meta, exporters } = msg.batch;
    const all = Buffer.from(data);
    for (let i = 0; i < meta.length; i += 5) {
      const off = meta[i]!;
      collector.ingest(
        all.subarray(off, off + meta[i + 1]!),
        exporters[meta[i + 2]!]!,
        meta[i + 4]!,
        WORKER_PROTOCOLS[meta[i + 3]!] ?? 'auto',
      );
    }
  } else if (msg.type === 'flush') parentPort?.postMessage({ id: msg.id, partials: collector.flushPartials() });
  else if (msg.type === 'exporters') parentPort?.postMessage({ id: msg.id, exporters: collector.health() });
  else if (msg.type === 'totals') parentPort?.postMessage({ id: msg.id, totals: collectorTotals(collector) });
});
