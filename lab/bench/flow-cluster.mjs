#!/usr/bin/env node
// Does Node's cluster module spread one UDP socket over processes on this machine, and does it raise what is
// received? N cluster workers bind the same port with exclusive: false (the primary owns the socket, every worker
// recvmsg()s on the same fd) and only count datagrams; the replay process sends as fast as it can for SECONDS.
// argv: CORPUS_FILE [WORKERS=1,2] [SECONDS=4]. Prints, per worker count, what each worker received and its CPU.
// Not run by `npm run bench` (docs/flows.md quotes its result): it measures Node and the kernel, not ft.
import cluster from 'node:cluster';
import { spawn } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { join } from 'node:path';

if (cluster.isPrimary) {
  const [corpus, counts = '1,2', seconds = '4'] = process.argv.slice(2);
  const here = import.meta.dirname;
  for (const n of counts.split(',').map(Number)) {
    const probe = createSocket('udp4');
    await new Promise((r) => probe.bind(0, '127.0.0.1', r));
    const port = probe.address().port;
    probe.close();
    cluster.setupPrimary({ args: [String(port)] });
    const workers = Array.from({ length: n }, () => cluster.fork());
    await Promise.all(workers.map((w) => new Promise((r) => w.once('listening', r))));
    const sent = await new Promise((resolve, reject) => {
      const c = spawn(process.execPath, [join(here, 'flow-replay.mjs'), corpus, String(port), '0', seconds], {
        stdio: ['ignore', 'pipe', 'inherit'],
      });
      let out = '';
      c.stdout.on('data', (d) => (out += d));
      c.on('exit', (code) => (code === 0 ? resolve(JSON.parse(out)) : reject(new Error(`replay exited ${code}`))));
    });
    await new Promise((r) => setTimeout(r, 300));
    const stats = await Promise.all(
      workers.map(
        (w) =>
          new Promise((r) => {
            w.once('message', r);
            w.send('stats');
          }),
      ),
    );
    const received = stats.reduce((a, s) => a + s.received, 0);
    console.log(
      JSON.stringify({
        workers: n,
        sentPerSecond: Math.round(sent.rate),
        received,
        receivedPerSecond: Math.round(received / sent.seconds),
        perWorker: stats,
      }),
    );
    for (const w of workers) w.kill();
  }
} else {
  const port = Number(process.argv[2]);
  const socket = createSocket({ type: 'udp4', recvBufferSize: 4 << 20 });
  let received = 0;
  socket.on('message', () => void received++);
  socket.bind({ port, address: '127.0.0.1', exclusive: false });
  process.on('message', () => {
    const c = process.cpuUsage();
    process.send({ received, cpuSeconds: Math.round((c.user + c.system) / 1e4) / 100 });
  });
}
