#!/usr/bin/env node
// Replays a corpus of flow datagrams (file of [u16 length][bytes]...) to 127.0.0.1:PORT from SOURCE at RATE
// datagrams per second for SECONDS (RATE 0: as fast as possible), cycling through the corpus. Prints how many
// it sent as JSON. Used by flow.bench.ts; a separate process so its CPU is not the collector's.
import { createSocket } from 'node:dgram';
import { readFileSync } from 'node:fs';

const [file, portText, rateText, secondsText, source = '127.0.0.1'] = process.argv.slice(2);
const port = Number(portText);
const rate = Number(rateText);
const seconds = Number(secondsText);
const raw = readFileSync(file);
const corpus = [];
for (let o = 0; o + 2 <= raw.length;) {
  const n = raw.readUInt16BE(o);
  corpus.push(raw.subarray(o + 2, o + 2 + n));
  o += 2 + n;
}
const socket = createSocket({ type: 'udp4', sendBufferSize: 8 << 20 });
socket.bind(0, source, () => {
  socket.connect(port, '127.0.0.1', () => {
    const start = process.hrtime.bigint();
    const end = start + BigInt(Math.round(seconds * 1e9));
    let sent = 0;
    let inflight = 0;
    let i = 0;
    const onSent = () => void inflight--;
    const tick = () => {
      const now = process.hrtime.bigint();
      if (now >= end) {
        const wait = () => (inflight > 0 ? setImmediate(wait) : finish(now));
        return wait();
      }
      const due = rate > 0 ? Math.floor((Number(now - start) / 1e9) * rate) : sent + 256;
      // Bounded batches and bounded in-flight sends keep memory flat when the kernel pushes back.
      for (let k = 0; sent < due && k < 512 && inflight < 4096; k++) {
        inflight++;
        socket.send(corpus[i], onSent);
        i = i + 1 === corpus.length ? 0 : i + 1;
        sent++;
      }
      setImmediate(tick);
    };
    const finish = (now) => {
      const elapsed = Number(now - start) / 1e9;
      process.stdout.write(JSON.stringify({ sent, seconds: elapsed, rate: sent / elapsed }) + '\n');
      socket.close();
    };
    tick();
  });
});
