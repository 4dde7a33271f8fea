import { parentPort, workerData } from 'node:worker_threads';
import { CollectorShard, type ShardOptions } from './shard.js';

// One receive worker: its own SO_REUSEPORT sockets and its own Collector, driven by the detector's messages.
const shard = new CollectorShard(workerData as ShardOptions);

type Request = { id: number; type: 'start' | 'flush' | 'status' | 'stop' };

parentPort?.on('message', (msg: Request) => {
  const reply = (body: object) => parentPort?.postMessage({ id: msg.id, ...body });
  switch (msg.type) {
    case 'start':
      shard.start().then(
        (bound) => reply({ bound }),
        (err: Error) => reply({ error: err.message }),
      );
      break;
    case 'flush':
      reply({ partials: shard.flush() });
      break;
    case 'status':
      reply({ status: shard.status() });
      break;
    case 'stop':
      void shard.stop().then(() => reply({}));
      break;
  }
});
