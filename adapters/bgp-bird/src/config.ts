import { z } from 'zod';
import { Prefix } from '@ft/sdk';

function isAddress(text: string, family: 4 | 6): boolean {
  if (text.includes('/')) return false;
  try {
    const p = Prefix.parse(text);
    return p.isHost && p.family === family && p.address === text;
  } catch {
    return false;
  }
}

/** A BIRD symbol (table or protocol name): it is written into BIRD's config, so nothing but a plain identifier. */
const symbol = z.string().regex(/^[A-Za-z_][A-Za-z0-9_]{0,63}$/, 'must be a BIRD identifier (letters, digits, _)');
const absPath = z.string().regex(/^\/[^\0\n\r"]*$/, 'must be an absolute path');

export const birdConfigSchema = z
  .object({
    /** BIRD's control socket (birdc -s). */
    socket: absPath.default('/run/bird/bird.ctl'),
    /** The file ft owns and rewrites; bird.conf must `include` it (create it empty before BIRD first starts). */
    includeFile: absPath,
    /** AS under which ft tags its announcements (large communities). The policy fills in its own `asn`; 64512
     *  only when the policy has none. */
    tagAsn: z.number().int().min(1).max(4294967295).default(64512),
    /** Tables ft's static protocols feed; your BGP channels export from them. */
    tables: z
      .object({
        flow4: symbol.default('flowtab4'),
        flow6: symbol.default('flowtab6'),
        ipv4: symbol.default('master4'),
        ipv6: symbol.default('master6'),
      })
      .default({ flow4: 'flowtab4', flow6: 'flowtab6', ipv4: 'master4', ipv6: 'master6' }),
    /** ft's static protocols are named <prefix>_flow4, <prefix>_flow6, <prefix>_rtbh4, <prefix>_rtbh6. */
    protocolPrefix: symbol.default('ft'),
    /** BGP protocols health() reports on (default: every BGP protocol BIRD runs). */
    bgpProtocols: z.array(symbol).default([]),
    nextHop4: z
      .string()
      .refine((s) => isAddress(s, 4), 'must be an IPv4 address')
      .default('192.0.2.1'),
    nextHop6: z
      .string()
      .refine((s) => isAddress(s, 6), 'must be an IPv6 address in canonical form')
      .default('100::1'),
    birdc: absPath.default('/usr/sbin/birdc'),
    /** How long one birdc call, and the wait for a route to show up in BIRD's table, may take. */
    timeoutMs: z.number().int().min(100).max(120000).default(5000),
  })
  .strict();

export type BirdConfig = z.output<typeof birdConfigSchema>;
