import { EventEmitter } from 'node:events';
import { chmodSync, lstatSync, mkdirSync, unlinkSync } from 'node:fs';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { dirname } from 'node:path';
import type { PluginLogger } from '@ft/sdk';

// The unix socket ft listens on for the bridge ExaBGP runs as its API process, and the one-command-in-flight
// discipline ExaBGP needs: its acks ("done"/"error") carry no command id, so a second command sent before the
// first is acked could be credited with the wrong ack.

export interface CommandResult {
  ok: boolean;
  /** Lines ExaBGP printed before the ack (the answer of `show ...` commands). */
  output: string[];
}

interface InFlight {
  command: string;
  output: string[];
  resolve(r: CommandResult): void;
  reject(e: Error): void;
  timer: NodeJS.Timeout;
}

export class ExabgpNotConnected extends Error {
  constructor(socketPath: string, waitedMs: number) {
    super(
      `ExaBGP is not connected to ${socketPath} (waited ${waitedMs} ms): is exabgp running with the ft process ` +
        `(run node ft-exabgp-bridge.mjs ${socketPath}) and "api { processes [ ft ]; }" on its neighbors?`,
    );
    this.name = 'ExabgpNotConnected';
  }
}

/**
 * Events: 'connected' (exabgpPid: number | undefined) after the bridge says hello — a new ExaBGP or a
 * reconnect after ft restarted, either way what is live must be announced again; 'neighbor' (address, state)
 * for ExaBGP's neighbor-changes; 'disconnected'.
 */
export class ExabgpChannel extends EventEmitter {
  private server?: Server;
  private conn?: Socket;
  private helloSeen = false;
  /** Set between the bridge's hello and the end of the sync barrier; holds ExaBGP's pid. */
  private syncing?: { exabgpPid: number; sawVersion: boolean };
  private inFlight?: InFlight;
  private queue: Promise<unknown> = Promise.resolve();
  private closed = false;

  constructor(
    readonly socketPath: string,
    private readonly log: PluginLogger,
    private readonly timeoutMs: number,
  ) {
    super();
  }

  get connected(): boolean {
    return this.conn !== undefined && this.helloSeen;
  }

  /** Binds the socket (once). Refuses to steal it from another live ft process. */
  async listen(): Promise<void> {
    if (this.server || this.closed) return;
    mkdirSync(dirname(this.socketPath), { recursive: true, mode: 0o700 });
    if (await this.someoneListening()) throw new Error(`another process already listens on ${this.socketPath}`);
    try {
      if (lstatSync(this.socketPath).isSocket()) unlinkSync(this.socketPath);
    } catch {
      // absent: nothing to clean
    }
    const server = createServer((sock) => this.accept(sock));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.socketPath, () => resolve());
    });
    chmodSync(this.socketPath, 0o600);
    this.server = server;
  }

  private someoneListening(): Promise<boolean> {
    return new Promise((resolve) => {
      const probe = connect(this.socketPath);
      probe.once('connect', () => {
        probe.destroy();
        resolve(true);
      });
      probe.once('error', () => resolve(false));
    });
  }

  private accept(sock: Socket): void {
    if (this.conn) {
      // A new ExaBGP (or its restarted bridge) replaces the old link: the old one can only deliver stale acks.
      this.log.info({ socket: this.socketPath }, 'ExaBGP bridge reconnected; dropping the previous connection');
      this.dropConnection(new Error('ExaBGP bridge was replaced by a new connection'));
    }
    this.conn = sock;
    this.helloSeen = false;
    this.syncing = undefined;
    sock.setEncoding('utf8');
    let pending = '';
    sock.on('data', (chunk: string) => {
      pending += chunk;
      let nl: number;
      while ((nl = pending.indexOf('\n')) !== -1) {
        const line = pending.slice(0, nl).replace(/\r$/, '');
        pending = pending.slice(nl + 1);
        if (this.conn === sock) this.onLine(line);
      }
    });
    sock.on('error', () => {});
    sock.on('close', () => {
      if (this.conn === sock) this.dropConnection(new Error('connection to ExaBGP lost'));
    });
  }

  private dropConnection(reason: Error): void {
    const old = this.conn;
    this.conn = undefined;
    this.helloSeen = false;
    this.syncing = undefined;
    old?.destroy();
    if (this.inFlight) {
      clearTimeout(this.inFlight.timer);
      this.inFlight.reject(new Error(`${reason.message} while waiting for the ack of: ${this.inFlight.command}`));
      this.inFlight = undefined;
    }
    this.emit('disconnected');
  }

  private onLine(line: string): void {
    const hello = /^#ft-bridge hello pid=(\d+) exabgp=(\d+)/.exec(line);
    if (hello) {
      // Sync barrier before the first command: a command that timed out on the previous link may still be acked
      // now. `reset` drops ExaBGP's queued asynchronous commands for us (it sends no ack); `version` answers
      // "exabgp <version>" then "done". Acks seen before that line are stale and dropped.
      this.syncing = { exabgpPid: Number(hello[2]), sawVersion: false };
      this.conn?.write('reset\nversion\n');
      return;
    }
    if (this.syncing) {
      if (/^exabgp \d/.test(line)) {
        this.syncing.sawVersion = true;
      } else if (line === 'done' || line === 'error') {
        if (!this.syncing.sawVersion) {
          this.log.warn({ line }, 'dropped a stale ExaBGP ack from before the reconnect');
          return;
        }
        const pid = this.syncing.exabgpPid;
        this.syncing = undefined;
        this.helloSeen = true;
        this.emit('connected', pid);
        return;
      }
    }
    // neighbor-changes events; `show adj-rib` lines also start with "neighbor <ip>" but go on with "local-ip".
    const ev = /^neighbor (\S+) (connected|up|down)\b/.exec(line);
    if (ev) {
      this.emit('neighbor', ev[1], ev[2]);
      return;
    }
    if (line === 'done' || line === 'error') {
      const f = this.inFlight;
      if (!f) {
        this.log.warn({ line }, 'ExaBGP acked a command ft did not send (is another process writing to it?)');
        return;
      }
      this.inFlight = undefined;
      clearTimeout(f.timer);
      f.resolve({ ok: line === 'done', output: f.output });
      return;
    }
    if (line === '') return;
    if (this.inFlight) this.inFlight.output.push(line);
  }

  private async waitConnected(waitMs: number): Promise<void> {
    if (this.connected) return;
    const started = Date.now();
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.off('connected', onConn);
        reject(new ExabgpNotConnected(this.socketPath, Date.now() - started));
      }, waitMs);
      const onConn = () => {
        clearTimeout(timer);
        resolve();
      };
      this.once('connected', onConn);
    });
  }

  /**
   * Sends one command and resolves with its ack; commands are strictly serialised. `connectWaitMs` bounds the
   * wait for the bridge when ExaBGP is not connected (health checks want to know fast).
   */
  send(command: string, connectWaitMs = this.timeoutMs): Promise<CommandResult> {
    if (command.includes('\n') || command.includes('\r'))
      return Promise.reject(new Error('an ExaBGP command is one line'));
    const run = async (): Promise<CommandResult> => {
      if (this.closed) throw new Error('ExaBGP adapter is closed');
      await this.listen();
      await this.waitConnected(connectWaitMs);
      const sock = this.conn as Socket;
      return new Promise<CommandResult>((resolve, reject) => {
        const timer = setTimeout(() => {
          // Without an ack we no longer know which ack belongs to which command: start over on a fresh link
          // (the bridge reconnects at once and ft re-announces what is live).
          this.dropConnection(new Error(`no ack from ExaBGP within ${this.timeoutMs} ms`));
        }, this.timeoutMs);
        this.inFlight = { command, output: [], resolve, reject, timer };
        sock.write(`${command}\n`);
      });
    };
    const result = this.queue.then(run, run);
    this.queue = result.catch(() => undefined);
    return result;
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.conn) this.dropConnection(new Error('ExaBGP adapter closed'));
    const server = this.server;
    this.server = undefined;
    if (server) {
      await new Promise<void>((resolve) => server.close(() => resolve()));
      try {
        unlinkSync(this.socketPath);
      } catch {
        // already gone
      }
    }
  }
}
