#!/usr/bin/env node
// ExaBGP runs this as its API process (`process ft { run node ft-exabgp-bridge.mjs SOCKET; encoder text; }`).
// It relays lines between ExaBGP (our stdout = commands to ExaBGP, our stdin = acks and events from ExaBGP) and
// ft, which listens on the unix socket SOCKET. It keeps no state: ft decides what to (re-)announce.
// ft may be down or restarting: the bridge keeps retrying, and drops ExaBGP's output meanwhile (there is nobody
// to ack to). When ExaBGP exits, our stdin closes and the bridge exits with it.
import { connect } from 'node:net';
import { createInterface } from 'node:readline';

const socketPath = process.argv[2];
if (!socketPath) {
  process.stderr.write('usage: ft-exabgp-bridge.mjs SOCKET\n');
  process.exit(2);
}
const RETRY_MS = 200;
let conn = null;

function dial() {
  const c = connect(socketPath);
  c.setEncoding('utf8');
  let pending = '';
  c.on('connect', () => {
    conn = c;
    // ppid is ExaBGP itself: a new value tells ft that ExaBGP restarted (and lost every route).
    c.write(`#ft-bridge hello pid=${process.pid} exabgp=${process.ppid}\n`);
  });
  c.on('data', (chunk) => {
    pending += chunk;
    let nl;
    while ((nl = pending.indexOf('\n')) !== -1) {
      const line = pending.slice(0, nl);
      pending = pending.slice(nl + 1);
      // ExaBGP reads whole lines from our stdout; never pass on a partial one.
      if (line.length > 0) process.stdout.write(`${line}\n`);
    }
  });
  c.on('error', () => {});
  c.on('close', () => {
    if (conn === c) conn = null;
    setTimeout(dial, RETRY_MS);
  });
}

createInterface({ input: process.stdin }).on('line', (line) => {
  if (conn) conn.write(`${line}\n`);
});
process.stdin.on('end', () => process.exit(0));
process.stdout.on('error', () => process.exit(0));
dial();
