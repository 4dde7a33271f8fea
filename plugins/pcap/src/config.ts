import { parseByteSize, parseDuration, Prefix } from '@ft/sdk';
import { z } from 'zod';

const ifaceName = z
  .string()
  .regex(/^[A-Za-z0-9_.:@-]{1,15}$/, 'an interface name (at most 15 characters: letters, digits, _ . : @ -)');

const seconds = z.union([z.string(), z.number()]).transform((v, ctx) => {
  try {
    const s = parseDuration(v);
    if (s < 1) throw new Error(`${JSON.stringify(v)} is shorter than 1 s`);
    return Math.round(s);
  } catch (err) {
    ctx.addIssue({ code: 'custom', message: (err as Error).message });
    return z.NEVER;
  }
});

const bytes = z.union([z.string(), z.number()]).transform((v, ctx) => {
  try {
    return parseByteSize(v);
  } catch (err) {
    ctx.addIssue({ code: 'custom', message: (err as Error).message });
    return z.NEVER;
  }
});

/**
 * A prefix as canonical text, not a Prefix: options are validated again when `ft run` creates a detector from the
 * policy's already-validated section, so every transform must accept its own output.
 */
export const prefixText = z.string().transform((s, ctx) => {
  try {
    return Prefix.parse(s).toString();
  } catch (err) {
    ctx.addIssue({ code: 'custom', message: (err as Error).message });
    return z.NEVER;
  }
});

/** The `pcap` detector's options (docs/pcap.md has the table). */
export const pcapConfigSchema = z
  .object({
    /** Interfaces captured: a ring each, and each incident's capture on all of them. */
    interfaces: z.array(ifaceName).min(1).max(16),
    /** Named network namespace (`ip netns`) the interfaces live in. */
    netns: z
      .string()
      .regex(/^[A-Za-z0-9_.-]{1,64}$/, 'a namespace name as `ip netns list` shows it')
      .optional(),
    /** Where captures are kept (0700); default: the state directory's pcap/. */
    dir: z.string().min(1).optional(),
    /** auto: capture when ft may (root or CAP_NET_RAW+CAP_NET_ADMIN), else run limited; on: refuse to run without; off. */
    mode: z.enum(['auto', 'on', 'off']).default('auto'),
    /** Bytes kept of each packet: headers, TTLs, flags and the start of payloads (signatures need ~64). */
    snaplen: z.number().int().min(64).max(65535).default(256),
    /** Kernel buffer per capture, MiB (dumpcap -B). */
    bufferMiB: z.number().int().min(1).max(1024).default(4),
    ring: z
      .object({
        /** Packets kept before an attack, per interface (a new ring file every `packets` packets...). */
        packets: z.number().int().min(10).max(1_000_000).default(500),
        /** ...or every `seconds`, whichever comes first. */
        seconds: seconds.default(30),
        /** Ring files kept (2: the one being written and the one before: at least `packets` packets). */
        files: z.number().int().min(2).max(16).default(2),
        /** BPF filter of the ring (default: inbound to `protect`, else every packet). */
        filter: z.string().min(1).max(4096).optional(),
        /** Only traffic to these prefixes goes into the ring (a BPF `dst net` filter). */
        protect: z.array(prefixText).default([]),
      })
      .strict()
      .default({ packets: 500, seconds: 30, files: 2, protect: [] }),
    incident: z
      .object({
        packets: z.number().int().min(1).max(10_000_000).default(10_000),
        bytes: bytes.default(50_000_000),
        duration: seconds.default(120),
      })
      .strict()
      .default({ packets: 10_000, bytes: 50_000_000, duration: 120 }),
    /** All captures together, rings and work in progress included; oldest captures are removed first. */
    quota: bytes.default(1_000_000_000),
    /** Captures older than this are removed. */
    retention: seconds.default(30 * 86_400),
    /** Hop counts the ring shows count as peacetime only after this much quiet (an attack's onset is not learnt). */
    learnDelay: seconds.default(10),
    /** IOC file (YAML/JSON), reloaded when it changes. */
    ioc: z.string().min(1).optional(),
  })
  .strict()
  .superRefine((c, ctx) => {
    if (c.ring.filter && c.ring.protect.length > 0)
      ctx.addIssue({ code: 'custom', path: ['ring'], message: 'give ring.filter or ring.protect, not both' });
    if (new Set(c.interfaces).size !== c.interfaces.length)
      ctx.addIssue({ code: 'custom', path: ['interfaces'], message: 'an interface is listed twice' });
  });

export type PcapConfig = z.output<typeof pcapConfigSchema>;
export type PcapConfigInput = z.input<typeof pcapConfigSchema>;
