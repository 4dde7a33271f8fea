// A scripted RTR cache for the branches a real cache will not take on demand (closing on v1, errors, garbage).
import { createServer, type Server, type Socket } from 'node:net';
import { FrameReader, rtrPdu } from '../../core/rpki/index.js';

export type Pdu = rtrPdu.Pdu;

/** One client connection: read the client's PDUs in order, write bytes or PDUs back. */
export class FakeConnection {
  private readonly queue: Pdu[] = [];
  private waiters: ((p: Pdu | undefined) => void)[] = [];
  private readonly reader = new FrameReader();
  closed = false;
  readonly received: Pdu[] = [];

  constructor(readonly socket: Socket) {
    socket.on('data', (d: Buffer) => {
      for (const f of this.reader.push(d).frames) {
        const r = rtrPdu.decodePdu(f);
        if (!r.ok) continue;
        this.received.push(r.pdu);
        const w = this.waiters.shift();
        if (w) w(r.pdu);
        else this.queue.push(r.pdu);
      }
    });
    socket.on('close', () => {
      this.closed = true;
      for (const w of this.waiters.splice(0)) w(undefined);
    });
    socket.on('error', () => undefined);
  }

  /** The next PDU from the client, or undefined if it closed first (or nothing came within `ms`). */
  next(ms = 5000): Promise<Pdu | undefined> {
    const p = this.queue.shift();
    if (p) return Promise.resolve(p);
    if (this.closed) return Promise.resolve(undefined);
    return new Promise((resolve) => {
      const t = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w !== done);
        resolve(undefined);
      }, ms);
      const done = (x: Pdu | undefined) => {
        clearTimeout(t);
        resolve(x);
      };
      this.waiters.push(done);
    });
  }

  send(...items: (Pdu | Uint8Array)[]): void {
    if (this.closed) return;
    this.socket.write(Buffer.concat(items.map((i) => ('type' in i ? rtrPdu.encodePdu(i) : Buffer.from(i)))));
  }

  /** Writes the bytes one at a time in separate writes, so the client sees PDUs cut at every offset. */
  async trickle(...items: Pdu[]): Promise<void> {
    const bytes = Buffer.concat(items.map((i) => rtrPdu.encodePdu(i)));
    for (const b of bytes) {
      if (this.closed) return;
      await new Promise<void>((r) => this.socket.write(Buffer.from([b]), () => r()));
    }
  }

  whenClosed(ms = 5000): Promise<boolean> {
    if (this.closed) return Promise.resolve(true);
    return new Promise((resolve) => {
      const t = setTimeout(() => resolve(false), ms);
      this.socket.once('close', () => {
        clearTimeout(t);
        resolve(true);
      });
    });
  }

  close(): void {
    this.socket.destroy();
  }
}

export class FakeCache {
  readonly connections: FakeConnection[] = [];
  private waiters: ((c: FakeConnection) => void)[] = [];
  private constructor(
    readonly server: Server,
    readonly port: number,
  ) {}

  static start(): Promise<FakeCache> {
    return new Promise((resolve, reject) => {
      const server = createServer();
      server.on('error', reject);
      server.listen(0, '127.0.0.1', () => {
        const addr = server.address();
        if (typeof addr !== 'object' || !addr) return reject(new Error('no address'));
        const cache = new FakeCache(server, addr.port);
        server.on('connection', (s) => {
          const c = new FakeConnection(s);
          cache.connections.push(c);
          const w = cache.waiters.shift();
          if (w) w(c);
        });
        resolve(cache);
      });
    });
  }

  /** The n-th connection (0-based), waiting for it if it has not come yet. */
  connection(n: number, ms = 5000): Promise<FakeConnection> {
    const have = this.connections[n];
    if (have) return Promise.resolve(have);
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`no connection #${n} within ${ms} ms`)), ms);
      const check = () => {
        const c = this.connections[n];
        if (c) {
          clearTimeout(t);
          resolve(c);
        } else this.waiters.push(check);
      };
      this.waiters.push(check);
    });
  }

  stop(): Promise<void> {
    for (const c of this.connections) c.close();
    return new Promise((r) => this.server.close(() => r()));
  }
}

const v4 = (s: string) => Uint8Array.from(s.split('.').map(Number));

/** A v1 or v0 response announcing 203.0.113.0/24-24 AS64500 (and optionally more). */
export function fullResponse(version: number, sessionId: number, serial: number, extra: Pdu[] = []): Pdu[] {
  return [
    { type: 'cache-response', version, sessionId },
    {
      type: 'prefix',
      version,
      family: 4,
      announce: true,
      prefixLength: 24,
      maxLength: 24,
      address: v4('203.0.113.0'),
      asn: 64500,
    },
    ...extra,
    version === 0
      ? { type: 'end-of-data', version, sessionId, serial }
      : { type: 'end-of-data', version, sessionId, serial, timers: { refresh: 3600, retry: 600, expire: 7200 } },
  ];
}

export function prefixPdu(
  version: number,
  announce: boolean,
  addr: string,
  len: number,
  maxLength: number,
  asn: number,
): Pdu {
  return { type: 'prefix', version, family: 4, announce, prefixLength: len, maxLength, address: v4(addr), asn };
}
