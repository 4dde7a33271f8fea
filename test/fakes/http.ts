// The base of the vendor fakes: a node:http server on 127.0.0.1:0 that records every request (method, path, headers,
// raw body, when its first byte arrived) and answers through a vendor's own handler. Each vendor fake is written from
// the vendor's documented API (endpoint, auth, body, success and error answers, rate-limit hints); its file says
// which documentation it follows. Failure modes are queued per fake: the next N requests get them, then the
// vendor's success answer again.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { gunzipSync } from 'node:zlib';

export interface Recorded {
  method: string;
  path: string;
  url: URL;
  headers: IncomingMessage['headers'];
  /** The body as text (gunzipped when the request says Content-Encoding: gzip, as the vendors' intakes do). */
  body: string;
  /** The body as it came on the wire. */
  raw: Buffer;
  /** performance.now() when the request's first byte reached the server. */
  firstByteAt: number;
  /** Date.now() at the same moment. */
  wallAt: number;
}

export interface Answer {
  status: number;
  headers?: Record<string, string>;
  body?: string;
}

/** A queued misbehaviour: an answer of the vendor's own kind, or no answer at all (a hanging server). */
export type Fault = Answer | 'hang';

export type VendorHandler = (req: Recorded) => Answer;

export class FakeServer {
  readonly requests: Recorded[] = [];
  /** Requests that were answered with the vendor's success answer. */
  readonly accepted: Recorded[] = [];
  private readonly faults: Fault[] = [];
  private readonly hung: ServerResponse[] = [];
  private readonly sockets = new Set<Socket>();
  private waiters: (() => void)[] = [];
  private server!: Server;
  port = 0;

  constructor(
    readonly name: string,
    private readonly handler: VendorHandler,
    /** Paths the vendor serves; anything else is its 404 (a warm-up HEAD of / lands here). */
    private readonly serves: (req: Recorded) => boolean,
  ) {}

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** The next requests the vendor serves get these answers, in order. */
  fail(...faults: Fault[]): this {
    this.faults.push(...faults);
    return this;
  }

  async start(port = 0): Promise<this> {
    this.server = createServer((req, res) => this.onRequest(req, res));
    this.server.on('connection', (s: Socket) => {
      this.sockets.add(s);
      s.on('close', () => this.sockets.delete(s));
    });
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(port, '127.0.0.1', () => resolve());
    });
    this.port = (this.server.address() as AddressInfo).port;
    return this;
  }

  /** Resolves once `pred` holds over the recorded requests (checked at every request). */
  async until(pred: (f: this) => boolean, what = 'the fake to see the request'): Promise<void> {
    const deadline = Date.now() + 25_000;
    while (!pred(this)) {
      if (Date.now() > deadline)
        throw new Error(`${this.name}: timed out waiting for ${what} (${this.requests.length} requests)`);
      await new Promise<void>((r) => {
        this.waiters.push(r);
        setTimeout(r, 200);
      });
    }
  }

  private onRequest(req: IncomingMessage, res: ServerResponse): void {
    const firstByteAt = performance.now();
    const wallAt = Date.now();
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const url = new URL(req.url ?? '/', 'http://fake');
      const raw = Buffer.concat(chunks);
      let body: string;
      try {
        body = req.headers['content-encoding'] === 'gzip' ? gunzipSync(raw).toString('utf8') : raw.toString('utf8');
      } catch {
        res.writeHead(400, { 'content-type': 'text/plain' }).end('bad gzip body');
        return;
      }
      const r: Recorded = {
        method: req.method ?? '',
        path: url.pathname,
        url,
        headers: req.headers,
        body,
        raw,
        firstByteAt,
        wallAt,
      };
      if (!this.serves(r)) {
        res.writeHead(404, { 'content-type': 'text/plain' }).end('not found');
        return;
      }
      this.requests.push(r);
      const fault = this.faults.shift();
      if (fault === 'hang') this.hung.push(res);
      else {
        const a = fault ?? this.handler(r);
        if (!fault && a.status < 300) this.accepted.push(r);
        res.writeHead(a.status, a.headers ?? {}).end(a.body ?? '');
      }
      const w = this.waiters;
      this.waiters = [];
      for (const x of w) x();
    });
  }

  async close(): Promise<void> {
    for (const r of this.hung) r.destroy();
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((r) => this.server.close(() => r()));
  }
}

export const json = (status: number, body: unknown, headers: Record<string, string> = {}): Answer => ({
  status,
  headers: { 'content-type': 'application/json', ...headers },
  body: JSON.stringify(body),
});

export const text = (status: number, body: string, headers: Record<string, string> = {}): Answer => ({
  status,
  headers: { 'content-type': 'text/plain', ...headers },
  body,
});

export const parsed = (r: Recorded): Record<string, unknown> => JSON.parse(r.body) as Record<string, unknown>;
