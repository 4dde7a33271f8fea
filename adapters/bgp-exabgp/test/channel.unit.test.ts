import { expect } from 'chai';
import { mkdtempSync, rmSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ExabgpChannel } from '../src/channel.js';
import { context } from './rules.js';

// The ack discipline against a scripted bridge: ExaBGP cannot be made to ack late on demand, so these cases
// (stale acks after a reconnect, a missing ack) are played by hand over the real unix socket.
describe('bgp-exabgp channel: one command in flight, acks after a reconnect', () => {
  let dir: string;
  let channel: ExabgpChannel;
  const bridges: Socket[] = [];

  /** Connects like the bridge does and returns a reader of the lines ft sends. */
  async function bridge(): Promise<{ sock: Socket; next(): Promise<string> }> {
    const sock = connect(join(dir, 'ft.sock'));
    bridges.push(sock);
    await new Promise((r) => sock.once('connect', r));
    const lines: string[] = [];
    const waiters: ((l: string) => void)[] = [];
    let buf = '';
    sock.setEncoding('utf8');
    sock.on('data', (d: string) => {
      buf += d;
      let nl;
      while ((nl = buf.indexOf('\n')) !== -1) {
        const l = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        const w = waiters.shift();
        if (w) w(l);
        else lines.push(l);
      }
    });
    return {
      sock,
      next: () => (lines.length ? Promise.resolve(lines.shift() as string) : new Promise((r) => waiters.push(r))),
    };
  }

  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'ft-exa-chan-'));
    channel = new ExabgpChannel(join(dir, 'ft.sock'), context('t', dir).logger, 400);
    await channel.listen();
  });

  afterEach(async () => {
    for (const b of bridges.splice(0)) b.destroy();
    await channel.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('drops acks that arrive before the sync barrier, then credits acks to the right command', async () => {
    const b = await bridge();
    const connected = new Promise((r) => channel.once('connected', r));
    b.sock.write('#ft-bridge hello pid=1 exabgp=42\n');
    expect(await b.next()).to.equal('reset');
    expect(await b.next()).to.equal('version');
    // A late ack of a command sent on the previous link arrives first: it must not count.
    b.sock.write('done\nexabgp 4.2.21\ndone\n');
    expect(await connected).to.equal(42);

    const first = channel.send('announce route 203.0.113.1/32 next-hop 192.0.2.1');
    expect(await b.next()).to.equal('announce route 203.0.113.1/32 next-hop 192.0.2.1');
    const second = channel.send('show adj-rib out extensive');
    b.sock.write('error\n');
    expect(await first).to.deep.equal({ ok: false, output: [] });
    // Only now, with the first acked, does the second go out.
    expect(await b.next()).to.equal('show adj-rib out extensive');
    b.sock.write('neighbor 192.0.2.2 up\nneighbor 192.0.2.2 local-ip 192.0.2.1 ipv4 unicast 203.0.113.1/32\ndone\n');
    expect(await second).to.deep.equal({
      ok: true,
      output: ['neighbor 192.0.2.2 local-ip 192.0.2.1 ipv4 unicast 203.0.113.1/32'],
    });
  });

  it('a command without an ack fails after the timeout and the link is dropped for a clean restart', async () => {
    const b = await bridge();
    const connected = new Promise((r) => channel.once('connected', r));
    b.sock.write('#ft-bridge hello pid=1 exabgp=7\n');
    await b.next();
    await b.next();
    b.sock.write('exabgp 4.2.21\ndone\n');
    await connected;
    const closed = new Promise((r) => b.sock.once('close', r));
    const err = await channel.send('announce route 203.0.113.2/32 next-hop 192.0.2.1').then(
      () => undefined,
      (e: Error) => e,
    );
    expect(err?.message).to.match(/no ack from ExaBGP within 400 ms/);
    await closed;
    expect(channel.connected).to.equal(false);
    // Without a bridge, a command fails with a message that says what to check.
    const err2 = await channel.send('show neighbor summary').then(
      () => undefined,
      (e: Error) => e,
    );
    expect(err2?.message).to.match(/is exabgp running with the ft process/);
  });
});
