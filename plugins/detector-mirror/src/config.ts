import { prefixText } from '@ft/pcap';
import { z } from 'zod';

/** The `mirror` detector's options (docs/mirror.md has the table). */
export const mirrorConfigSchema = z
  .object({
    /** The interface the switch's SPAN/mirror session (or `tc mirred`) copies the segment's traffic to. */
    interface: z
      .string()
      .regex(/^[A-Za-z0-9_.:@-]{1,15}$/, 'an interface name (at most 15 characters: letters, digits, _ . : @ -)'),
    /** The segment's prefixes: every address in them is a target with its own baseline. */
    protect: z.array(prefixText).min(1),
    /** 1 in N packets is sampled (pmacctd sampling_rate); rates are scaled back by N. 1: every packet. */
    sampling: z.number().int().min(1).max(65_536).default(64),
    /** Bytes of each sampled packet sent on (headers: addresses, ports, flags, TTL). */
    snaplen: z.number().int().min(64).max(512).default(128),
    /** Window of each Sample, as the flow detector's. */
    windowMs: z.number().int().min(1000).max(60_000).default(1000),
    topN: z.number().int().min(1).max(100).default(10),
    maxTargets: z.number().int().min(1).max(1_000_000).default(20_000),
  })
  .strict();

export type MirrorConfig = z.output<typeof mirrorConfigSchema>;
export type MirrorConfigInput = z.input<typeof mirrorConfigSchema>;
