import type { Socket } from 'node:dgram';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

/** The native addon (native/recv.c): recvmmsg into caller-owned buffers. */
export interface BatchRecv {
  recv(fd: number, data: Uint8Array, meta: Int32Array, slot: number, max: number): number;
}

/** Largest UDP payload: every slot holds any datagram whole. Only the pages a datagram touches become resident. */
const SLOT = 65_536;
/** Datagrams per system call. */
const BATCH = 64;
const META = 8;
/** Batches read in one turn of the event loop before yielding to timers (window close) and other sockets. */
const BATCHES_PER_TURN = 16;

let loaded: BatchRecv | null | undefined;

/**
 * The batch receive addon, or undefined when it was not built (no C compiler, not Linux) or FT_FLOW_BATCH_RECEIVE=0
 * (benchmarks compare both paths). Built, it is dist/native/recv.node; under tsx (tests) the same file, beside
 * src/.
 */
export function batchReceive(): BatchRecv | undefined {
  if (loaded === undefined) {
    loaded = null;
    if (process.env.FT_FLOW_BATCH_RECEIVE !== '0') {
      for (const rel of ['../native/recv.node', '../../dist/native/recv.node']) {
        const file = fileURLToPath(new URL(rel, import.meta.url));
        if (!existsSync(file)) continue;
        try {
          loaded = createRequire(import.meta.url)(file) as BatchRecv;
          break;
        } catch {
          // Built for another platform or broken: Node's dgram reads instead.
        }
      }
    }
  }
  return loaded ?? undefined;
}

/** The receive side of Node's UDP handle (internal: dgram has no public pause, nor its descriptor). */
export interface UdpHandle {
  fd: number;
  recvStart(): number;
  recvStop(): number;
}

/** The bound socket's handle, when this Node exposes what batch reading needs. */
export function udpHandle(socket: Socket): UdpHandle | undefined {
  const state = Object.getOwnPropertySymbols(socket).find((s) => s.description === 'state symbol');
  const handle = state
    ? (socket as unknown as Record<symbol, { handle?: Partial<UdpHandle> }>)[state]?.handle
    : undefined;
  if (
    typeof handle?.recvStart !== 'function' ||
    typeof handle.recvStop !== 'function' ||
    typeof handle.fd !== 'number' ||
    handle.fd < 0
  )
    return undefined;
  return handle as UdpHandle;
}

/**
 * Reads a socket in batches. Node's own read wakes the event loop for the first datagram of a burst (the
 * listener handles it); then Node's reading stops and recvmmsg drains the socket, up to 64 datagrams a call,
 * until it is empty. After `pauseMs` (coalesceMs) it drains again, and only when that finds nothing does Node's
 * read watch the socket again: a steady stream is read in bursts without a wake-up per datagram, and nothing is
 * allocated per datagram but the Buffer view handed on (valid until the next batch: consumers decode it
 * synchronously; the mirror copies it).
 */
export class BatchReader {
  private readonly data = Buffer.allocUnsafeSlow(SLOT * BATCH);
  private readonly meta = new Int32Array(BATCH * META);
  private draining = false;
  private stopped = false;
  private timer: NodeJS.Timeout | undefined;
  /** recvmmsg failures other than "nothing to read" (the socket then goes back to Node's reading). */
  errors = 0;

  constructor(
    private readonly handle: UdpHandle,
    private readonly native: BatchRecv,
    private readonly pauseMs: number,
    private readonly deliver: (buf: Buffer, address: number) => void,
  ) {}

  /** Node just delivered a datagram: read the rest of the burst in batches. */
  received(): void {
    if (this.draining || this.stopped) return;
    this.draining = true;
    this.handle.recvStop();
    this.drain(false);
  }

  private drain(afterPause: boolean): void {
    if (this.stopped) return;
    let total = 0;
    let n = 0;
    for (let b = 0; b < BATCHES_PER_TURN; b++) {
      n = this.native.recv(this.handle.fd, this.data, this.meta, SLOT, BATCH);
      if (n < 0) {
        this.errors++;
        n = 0;
        break;
      }
      const data = this.data;
      const meta = this.meta;
      for (let i = 0; i < n; i++) {
        const off = i * SLOT;
        this.deliver(data.subarray(off, off + meta[i * META]!), meta[i * META + 4]! >>> 0);
      }
      total += n;
      if (n < BATCH) break;
    }
    if (n === BATCH) {
      // Still more queued: go on after letting the rest of the loop run.
      setImmediate(() => this.drain(false));
    } else if (afterPause && total === 0) this.idle();
    else if (this.pauseMs > 0) this.timer = setTimeout(() => this.drain(true), this.pauseMs);
    else this.idle();
  }

  /** Nothing is coming: Node's read watches the socket again. */
  private idle(): void {
    this.timer = undefined;
    this.draining = false;
    if (!this.stopped) this.handle.recvStart();
  }

  /** Before the socket closes: no timer left to touch a closed handle. */
  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
  }
}
