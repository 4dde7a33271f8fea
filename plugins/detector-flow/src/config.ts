import { Prefix, parseDuration } from '@ft/sdk';
import { z } from 'zod';

const address = z.string().refine(
  (s) => {
    try {
      return Prefix.parse(s).isHost && !s.includes('/');
    } catch {
      return false;
    }
  },
  { message: 'must be an IPv4 or IPv6 address (no hostname, no prefix length)' },
);

const prefix = z.string().transform((s, ctx) => {
  try {
    return Prefix.parse(s).toString();
  } catch (err) {
    ctx.addIssue({ code: 'custom', message: (err as Error).message });
    return z.NEVER;
  }
});

const port = z.number().int().min(0).max(65535);
const rate = z.number().int().min(1).max(16_777_215);

export const REFERENCE_PORTS = { sflow: 6343, netflow: 2055, ipfix: 4739 } as const;

/** The reference defaults: each port on every IPv4 and every IPv6 address, the format auto-detected per datagram. */
export const DEFAULT_LISTENERS = Object.values(REFERENCE_PORTS).flatMap((p) => [
  { protocol: 'auto' as const, address: '0.0.0.0', port: p },
  { protocol: 'auto' as const, address: '::', port: p },
]);

const duration = z.union([z.string(), z.number()]).transform((v, ctx) => {
  try {
    return parseDuration(v) * 1000;
  } catch (err) {
    ctx.addIssue({ code: 'custom', message: (err as Error).message });
    return z.NEVER;
  }
});

export const flowConfigSchema = z
  .object({
    /** Sockets to open. `protocol` forces a format (other formats on that socket are counted as errors). */
    listeners: z
      .array(
        z
          .object({
            protocol: z.enum(['auto', 'sflow', 'netflow', 'ipfix']).default('auto'),
            address,
            port,
          })
          .strict(),
      )
      .min(1)
      .default(DEFAULT_LISTENERS),
    /** Exporter addresses or prefixes allowed to feed ft; empty = any. Others are dropped and counted. */
    allowedExporters: z.array(prefix).default([]),
    /** Destinations every received datagram is copied to, byte for byte. */
    mirror: z.array(z.object({ address, port: port.min(1) }).strict()).default([]),
    sampling: z
      .object({
        /** Used when an exporter does not state its rate (NetFlow v5 sends 0; v9/IPFIX options arrive late). */
        default: rate.default(1),
        /** Per-exporter rate, by exporter address, overriding `default`. */
        exporters: z.record(address, rate).default({}),
      })
      .strict()
      .default({ default: 1, exporters: {} }),
    /**
     * Protected prefixes: only destinations inside count, and each prefix also gets an aggregate Sample. Unset:
     * the policy's `protect` when ft run starts the detector from a policy, else every destination.
     */
    protect: z.array(prefix).optional(),
    /**
     * Host groups, each counted as one aggregate Sample (`group:NAME`): name → prefixes. Unset: the policy's
     * `groups`. Their members count even outside `protect`.
     */
    groups: z.record(z.string().regex(/^[a-z0-9][a-z0-9-]{0,62}$/), z.array(prefix).min(1)).optional(),
    windowMs: z.number().int().min(100).max(60_000).default(1000),
    receiveBufferBytes: z
      .number()
      .int()
      .min(65_536)
      .max(1 << 30)
      .default(32 << 20),
    /**
     * Once a socket is drained, wait this long before reading again, so datagrams are read in bursts (0: read each
     * on arrival). Saves most of the per-datagram wake-up cost; the receive buffer must hold this many ms of traffic.
     * Unset: a tenth of the window, at most 20 ms (defaultCoalesceMs).
     */
    coalesceMs: z.number().int().min(0).max(50).optional(),
    /**
     * Receive workers (threads), each with its own SO_REUSEPORT socket per listener: the kernel hashes each
     * exporter (source address and port) to one of them. 'auto': one per core, one core left for the rest of ft.
     * 0: receive and decode on the calling thread.
     */
    workers: z.union([z.literal('auto'), z.number().int().min(0).max(64)]).default('auto'),
    /**
     * Read IPv4 sockets in batches of up to 64 datagrams with recvmmsg (a small native addon built with ft when a
     * C compiler is there): one system call and no allocation per datagram. false: Node's dgram reads each.
     */
    batchReceive: z.boolean().default(true),
    /**
     * Hosts with full per-host state (a Sample with breakdowns) per window and receive worker: the first hosts
     * seen, then the heaviest. A fixed pool; every protected prefix's totals stay exact beyond it.
     */
    maxTargets: z.number().int().min(1).max(1_000_000).default(2048),
    maxExporters: z.number().int().min(1).max(100_000).default(1024),
    maxTemplates: z.number().int().min(16).max(1_000_000).default(8192),
    /** One exporter's share of maxTemplates: beyond it, it loses its own oldest template, never another's. */
    maxTemplatesPerExporter: z.number().int().min(16).max(1_000_000).default(1024),
    /** Templates not refreshed for this long are forgotten. */
    templateExpiry: duration.default(30 * 60_000),
    topN: z.number().int().min(1).max(100).default(10),
  })
  .strict();

export type FlowConfig = z.output<typeof flowConfigSchema>;
export type FlowConfigInput = z.input<typeof flowConfigSchema>;

/**
 * The read pause when the config sets none: a tenth of the window (a datagram is counted at most that late, so
 * sub-second windows stay sharp), at most 20 ms. On the benchmark machine each wake-up costs about 150 µs of CPU;
 * at 3,200 datagrams/s a 20 ms pause halved the receive cost per datagram against 5 ms (14 → 7 µs). The default
 * 32 MiB receive buffer holds 20 ms of more than 500k datagrams/s.
 */
export function defaultCoalesceMs(windowMs: number): number {
  return Math.min(20, Math.floor(windowMs / 10));
}
