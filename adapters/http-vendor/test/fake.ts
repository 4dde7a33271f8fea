// Test harness for vendor fakes: a node:http server on a free loopback port that records every request and
// hands it to the fake's router. Shared by the vendor adapter tests in adapters/*/test.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Secret, type PluginContext } from '@ft/sdk';
import { createJsonLogger } from '../../../core/log/logger.js';

export interface Recorded {
  method: string;
  path: string;
  url: URL;
  headers: IncomingMessage['headers'];
  body: string;
}

export interface Reply {
  status: number;
  body?: unknown;
  headers?: Record<string, string>;
}

export type Router = (req: Recorded) => Reply | Promise<Reply>;

export class FakeServer {
  readonly requests: Recorded[] = [];
  #server: Server;
  port = 0;
  /** Queue of canned answers taken before the router (to inject 429/5xx/pending on a given call). */
  readonly inject: (Reply | ((req: Recorded) => Reply | undefined))[] = [];

  constructor(readonly route: Router) {
    this.#server = createServer((req, res) => void this.#handle(req, res));
  }

  async start(): Promise<this> {
    await new Promise<void>((r) => this.#server.listen(0, '127.0.0.1', r));
    this.port = (this.#server.address() as AddressInfo).port;
    return this;
  }

  get base(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  async stop(): Promise<void> {
    this.#server.closeAllConnections();
    await new Promise<void>((r) => this.#server.close(() => r()));
  }

  count(method: string, pathPrefix: string): number {
    return this.requests.filter((r) => r.method === method && r.path.startsWith(pathPrefix)).length;
  }

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const url = new URL(req.url ?? '/', 'http://fake');
    const rec: Recorded = {
      method: req.method ?? 'GET',
      path: url.pathname,
      url,
      headers: req.headers,
      body: Buffer.concat(chunks).toString('utf8'),
    };
    this.requests.push(rec);
    let reply: Reply | undefined;
    while (this.inject.length > 0 && reply === undefined) {
      const next = this.inject[0]!;
      if (typeof next === 'function') {
        reply = next(rec);
        if (reply !== undefined) this.inject.shift();
        else break;
      } else {
        reply = this.inject.shift() as Reply;
      }
    }
    if (reply === undefined) {
      try {
        reply = await this.route(rec);
      } catch (err) {
        reply = { status: 500, body: { error: `fake crashed: ${(err as Error).message}` } };
      }
    }
    const text =
      reply.body === undefined ? '' : typeof reply.body === 'string' ? reply.body : JSON.stringify(reply.body);
    res.writeHead(reply.status, { ...(text !== '' ? { 'content-type': 'application/json' } : {}), ...reply.headers });
    res.end(text);
  }
}

export function json(req: Recorded): any {
  return req.body === '' ? undefined : JSON.parse(req.body);
}

/** A plugin context whose logs are captured (to assert no secret leaks) and whose credentials come from a map. */
export function capturedContext(
  name: string,
  secrets: Record<string, string>,
): { ctx: PluginContext; logs: () => string; cleanup: () => void; stateDir: string } {
  const lines: string[] = [];
  const destination = new Writable({
    write(chunk, _enc, cb) {
      lines.push(String(chunk));
      cb();
    },
  });
  const logger = createJsonLogger({ destination, level: 'debug' });
  const stateDir = mkdtempSync(join(tmpdir(), `ft-${name}-`));
  const ctx: PluginContext = {
    name,
    logger,
    stateDir,
    signal: new AbortController().signal,
    secret(ref: string) {
      const v = secrets[ref];
      if (v === undefined) throw new Error(`the credential ${ref} is not set in the environment`);
      return new Secret(v, ref);
    },
  };
  return {
    ctx,
    logs: () => lines.join(''),
    cleanup: () => rmSync(stateDir, { recursive: true, force: true }),
    stateDir,
  };
}
