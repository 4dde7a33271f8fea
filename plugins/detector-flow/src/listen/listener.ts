import { createSocket, type RemoteInfo, type Socket } from 'node:dgram';
import { isIPv6 } from 'node:net';
import type { ProtocolChoice } from '../decode/index.js';
import { ipv4Text } from '../decode/addr.js';
import { BatchReader, batchReceive, udpHandle } from './batch-receive.js';
import { ExporterFilter, exporterKey } from './exporter-filter.js';

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
  /**
   * After the socket is drained, stop reading for this long so the next datagrams are read in one wake-up
   * (0: read each as it arrives). Each wake-up of the event loop costs tens of microseconds, more than decoding
   * a datagram; the receive buffer holds what arrives meanwhile.
   */
  coalesceMs?: number;
  /**
   * Join the port's SO_REUSEPORT group (each receive worker has its own socket on the same port and the kernel
   * hashes each exporter's address and port to one of them). The caller checks first that the port is not
   * taken by anyone else (`assertFree`): sockets that all set the option would share it silently.
   */
  reusePort?: boolean;
  /**
   * Read IPv4 sockets in batches with recvmmsg (the native addon, when it was built): one system call and no
   * allocation for up to 64 datagrams, instead of Node's Buffer and address object per datagram. Default true;
   * without the addon (or false) Node's dgram reads them, with the same results.
   */
  batchReceive?: boolean;
  /** Where each allowed datagram goes. */
  deliver: (buf: Buffer, exporter: string, now: number, protocol: ProtocolChoice) => void;
  /** Arrival clock (ms); tests may pin it. */
  now?: () => number;
}

export interface BoundSocket extends ListenSpec {
  receiveBufferBytes: number;
}

/** What the listener counted (summed over receive workers by the detector). */
export interface ListenerCounts {
  received: number;
  notAllowed: number;
  mirrored: number;
  mirrorErrors: number;
}

export interface ListenerStats extends ListenerCounts {
  /** Kernel receive-queue drops on our ports (all workers' sockets). */
  socketDrops: number;
  bound: BoundSocket[];
}

/**
 * UDP sockets for flow export. Each datagram is mirrored byte for byte (from our own address: receivers see ft
 * as the exporter), then checked against the allowed exporters and handed to the engine.
 */
export class FlowListener {
  private readonly sockets: { socket: Socket; spec: ListenSpec; pacer?: { stop(): void } }[] = [];
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
    const socket = createSocket({
      type: v6 ? 'udp6' : 'udp4',
      ipv6Only: v6,
      recvBufferSize: this.options.receiveBufferBytes,
      ...(this.options.reusePort ? { reusePort: true } : {}),
    });
    return new Promise((resolve, reject) => {
      const onError = (err: NodeJS.ErrnoException) => {
        socket.close();
        reject(
          new Error(
            `cannot listen on ${v6 ? `[${spec.address}]` : spec.address}:${spec.port}/udp for ${spec.protocol}: ${err.code ?? err.message}`,
          ),
        );
      };
      socket.once('error', onError);
      socket.bind({ address: spec.address, port: spec.port, exclusive: true }, () => {
        socket.off('error', onError);
        socket.on('error', () => {
          // A receive error on a bound UDP socket (e.g. ICMP feedback) must not stop collection.
        });
        const protocol = spec.protocol;
        const pauseMs = this.options.coalesceMs ?? 0;
        const recv = !v6 && this.options.batchReceive !== false ? batchReceive() : undefined;
        const handle = recv ? udpHandle(socket) : undefined;
        let pacer: { stop(): void; received(): void } | undefined;
        if (recv && handle) {
          // Node's read wakes the loop for the first datagram of a burst; the rest are read in batches.
          const deliver = (buf: Buffer, address: number) => this.accept(buf, ipv4Text(address), protocol, true);
          pacer = new BatchReader(handle, recv, pauseMs, deliver);
        } else if (pauseMs > 0) pacer = ReadPacer.for(socket, pauseMs);
        socket.on('message', (msg: Buffer, rinfo: RemoteInfo) => {
          this.onMessage(msg, rinfo, protocol);
          pacer?.received();
        });
        this.sockets.push({ socket, spec: { ...spec, port: socket.address().port }, ...(pacer ? { pacer } : {}) });
        resolve();
      });
    });
  }

  private onMessage(msg: Buffer, rinfo: RemoteInfo, protocol: ProtocolChoice): void {
    this.accept(msg, exporterKey(rinfo.address), protocol);
  }

  /** `transient`: msg is a view into a batch buffer that the next read reuses (the mirror's send is not synchronous). */
  private accept(msg: Buffer, exporter: string, protocol: ProtocolChoice, transient = false): void {
    this.received++;
    if (this.options.mirrors.length > 0) this.mirror(transient ? Buffer.from(msg) : msg);
    if (!this.options.filter.allows(exporter)) return;
    this.options.deliver(msg, exporter, this.now(), protocol);
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

  counts(): ListenerCounts {
    return {
      received: this.received,
      notAllowed: this.options.filter.dropped,
      mirrored: this.mirrored,
      mirrorErrors: this.mirrorErrors,
    };
  }

  async stop(): Promise<void> {
    const closing = this.sockets.splice(0).map(({ socket, pacer }) => {
      pacer?.stop();
      return new Promise<void>((r) => socket.close(() => r()));
    });
    for (const s of this.mirrorSockets.values()) closing.push(new Promise<void>((r) => s.close(() => r())));
    this.mirrorSockets.clear();
    await Promise.all(closing);
  }
}

/**
 * Resolves each listener to a concrete port that nobody holds: binds it once without SO_REUSEPORT (which fails
 * when any socket, ours or another process's, has the port) and closes it again. Receive workers then bind the
 * same ports with SO_REUSEPORT; without this check a second collector started on the same port would quietly
 * take half the exporters instead of failing with EADDRINUSE.
 */
export async function claimPorts(specs: ListenSpec[]): Promise<ListenSpec[]> {
  const out: ListenSpec[] = [];
  for (const spec of specs) {
    const v6 = isIPv6(spec.address);
    const socket = createSocket({ type: v6 ? 'udp6' : 'udp4', ipv6Only: v6 });
    const port = await new Promise<number>((resolve, reject) => {
      socket.once('error', (err: NodeJS.ErrnoException) => {
        socket.close();
        reject(
          new Error(
            `cannot listen on ${v6 ? `[${spec.address}]` : spec.address}:${spec.port}/udp for ${spec.protocol}: ${err.code ?? err.message}`,
          ),
        );
      });
      socket.bind({ address: spec.address, port: spec.port, exclusive: true }, () => resolve(socket.address().port));
    });
    await new Promise<void>((r) => socket.close(() => r()));
    out.push({ ...spec, port });
  }
  return out;
}

function safeRecvBuffer(s: Socket): number {
  try {
    return s.getRecvBufferSize();
  } catch {
    return 0;
  }
}

/** The receive side of Node's UDP handle (internal: dgram has no public pause). */
interface UdpHandle {
  recvStart(): number;
  recvStop(): number;
}

/**
 * Reads a socket in bursts: while datagrams keep coming every event-loop turn it keeps reading; once a turn
 * brings none (the kernel queue is drained) it stops reading for `pauseMs`, then reads everything that queued
 * up in one wake-up. Node's dgram has no public way to pause a socket, so this uses the handle's own
 * recvStop/recvStart and is not used when they are missing (a future Node): then every datagram is read as it
 * comes, as before.
 */
export class ReadPacer {
  private seen = 0;
  private watching = false;
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;

  private constructor(
    private readonly handle: UdpHandle,
    private readonly pauseMs: number,
  ) {}

  static for(socket: Socket, pauseMs: number): ReadPacer | undefined {
    const state = Object.getOwnPropertySymbols(socket).find((s) => s.description === 'state symbol');
    const handle = state
      ? (socket as unknown as Record<symbol, { handle?: Partial<UdpHandle> }>)[state]?.handle
      : undefined;
    if (typeof handle?.recvStart !== 'function' || typeof handle.recvStop !== 'function') return undefined;
    return new ReadPacer(handle as UdpHandle, pauseMs);
  }

  received(): void {
    this.seen++;
    if (!this.watching) {
      this.watching = true;
      setImmediate(this.check);
    }
  }

  private readonly check = (): void => {
    if (this.stopped) return;
    if (this.seen > 0) {
      this.seen = 0;
      setImmediate(this.check);
      return;
    }
    this.watching = false;
    this.handle.recvStop();
    this.timer = setTimeout(this.resume, this.pauseMs);
  };

  private readonly resume = (): void => {
    this.timer = undefined;
    if (!this.stopped) this.handle.recvStart();
  };

  /** Before the socket closes: no timer left to touch a closed handle. */
  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
  }
}
