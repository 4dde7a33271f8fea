import { createSocket, type RemoteInfo, type Socket } from 'node:dgram';
import { isIPv6 } from 'node:net';
import type { ProtocolChoice } from '../decode/index.js';
import type { FlowEngine } from './engine.js';
import { ExporterFilter, exporterKey } from './exporter-filter.js';
import { readSocketDrops } from './socket-drops.js';

export interface ListenSpec {
  protocol: ProtocolChoice;
  address: string;
  port: number;
}

export interface MirrorSpec {
  address: string;
  port: number;
}

export interface ListenerOptions {
  listeners: ListenSpec[];
  filter: ExporterFilter;
  mirrors: MirrorSpec[];
  receiveBufferBytes: number;
  engine: FlowEngine;
  /** Arrival clock (ms); tests may pin it. */
  now?: () => number;
}

export interface BoundSocket extends ListenSpec {
  receiveBufferBytes: number;
}

export interface ListenerStats {
  received: number;
  notAllowed: number;
  mirrored: number;
  mirrorErrors: number;
  socketDrops: number;
  bound: BoundSocket[];
}

/**
 * UDP sockets for flow export. Each datagram is mirrored byte for byte (from our own address: receivers see ft
 * as the exporter), then checked against the allowed exporters and handed to the engine.
 */
export class FlowListener {
  private readonly sockets: { socket: Socket; spec: ListenSpec }[] = [];
  private readonly mirrorSockets = new Map<4 | 6, Socket>();
  private readonly now: () => number;
  received = 0;
  mirrored = 0;
  mirrorErrors = 0;

  constructor(private readonly options: ListenerOptions) {
    this.now = options.now ?? Date.now;
  }

  /** Binds every listener; if one fails, those already bound are closed and the error names the address. */
  async start(): Promise<BoundSocket[]> {
    try {
      for (const spec of this.options.listeners) await this.bind(spec);
    } catch (err) {
      await this.stop();
      throw err;
    }
    return this.bound();
  }

  private bind(spec: ListenSpec): Promise<void> {
    const v6 = isIPv6(spec.address);
    const socket = createSocket({ type: v6 ? 'udp6' : 'udp4', ipv6Only: v6, recvBufferSize: this.options.receiveBufferBytes });
    return new Promise((resolve, reject) => {
      const onError = (err: NodeJS.ErrnoException) => {
        socket.close();
        reject(new Error(`cannot listen on ${v6 ? `[${spec.address}]` : spec.address}:${spec.port}/udp for ${spec.protocol}: ${err.code ?? err.message}`));
      };
      socket.once('error', onError);
      socket.bind({ address: spec.address, port: spec.port, exclusive: true }, () => {
        socket.off('error', onError);
        socket.on('error', () => {
          // A receive error on a bound UDP socket (e.g. ICMP feedback) must not stop collection.
        });
        const protocol = spec.protocol;
        socket.on('message', (msg: Buffer, rinfo: RemoteInfo) => this.onMessage(msg, rinfo, protocol));
        this.sockets.push({ socket, spec: { ...spec, port: socket.address().port } });
        resolve();
      });
    });
  }

  private onMessage(msg: Buffer, rinfo: RemoteInfo, protocol: ProtocolChoice): void {
    this.received++;
    if (this.options.mirrors.length > 0) this.mirror(msg);
    const exporter = exporterKey(rinfo.address);
    if (!this.options.filter.allows(exporter)) return;
    this.options.engine.ingest(msg, exporter, this.now(), protocol);
  }

  private mirror(msg: Buffer): void {
    for (const m of this.options.mirrors) {
      const family = isIPv6(m.address) ? 6 : 4;
      let s = this.mirrorSockets.get(family);
      if (s === undefined) {
        s = createSocket(family === 6 ? 'udp6' : 'udp4');
        s.on('error', () => this.mirrorErrors++);
        s.unref();
        this.mirrorSockets.set(family, s);
      }
      s.send(msg, m.port, m.address, (err) => {
        if (err) this.mirrorErrors++;
        else this.mirrored++;
      });
    }
  }

  bound(): BoundSocket[] {
    return this.sockets.map(({ socket, spec }) => ({ ...spec, receiveBufferBytes: safeRecvBuffer(socket) }));
  }

  async stats(): Promise<ListenerStats> {
    const ports = new Set(this.sockets.map((s) => s.spec.port));
    return {
      received: this.received, notAllowed: this.options.filter.dropped, mirrored: this.mirrored, mirrorErrors: this.mirrorErrors,
      socketDrops: ports.size > 0 ? await readSocketDrops(ports) : 0, bound: this.bound(),
    };
  }

  async stop(): Promise<void> {
    const closing = this.sockets.splice(0).map(({ socket }) => new Promise<void>((r) => socket.close(() => r())));
    for (const s of this.mirrorSockets.values()) closing.push(new Promise<void>((r) => s.close(() => r())));
    this.mirrorSockets.clear();
    await Promise.all(closing);
  }
}

function safeRecvBuffer(s: Socket): number {
  try {
    return s.getRecvBufferSize();
  } catch {
    return 0;
  }
}
