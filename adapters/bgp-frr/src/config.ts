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

const absPath = z.string().regex(/^\/[^\0\n\r]*$/, 'must be an absolute path');
const asn = z.number().int().min(1).max(4294967295);

export const frrConfigSchema = z
  .object({
    /** The AS of FRR's `router bgp` (ft adds its network statements there). */
    asn,
    /** AS under which ft tags its announcements (large communities); default: the policy's `asn`, else `asn` here. */
    tagAsn: asn.optional(),
    /** Tag on ft's `ip route ... Null0` statics, so ft and operators can tell them apart from their own. */
    staticTag: z.number().int().min(1).max(4294967295).default(666),
    /** ft's per-rule route-maps are named <prefix>-<16 hex digits of the rule id>. */
    routeMapPrefix: z
      .string()
      .regex(/^[A-Za-z][A-Za-z0-9_]{0,31}$/, 'letters, digits and _ only')
      .default('FT_RTBH'),
    nextHop4: z
      .string()
      .refine((s) => isAddress(s, 4), 'must be an IPv4 address')
      .default('192.0.2.1'),
    nextHop6: z
      .string()
      .refine((s) => isAddress(s, 6), 'must be an IPv6 address in canonical form')
      .default('100::1'),
    vtysh: absPath.default('/usr/bin/vtysh'),
    /** Directory of FRR's vty sockets when not the default (vtysh --vty_socket). */
    vtySocket: absPath.optional(),
    /** FRR pathspace (vtysh -N), for FRR instances started with -N. */
    pathspace: z
      .string()
      .regex(/^[A-Za-z0-9_-]{1,32}$/)
      .optional(),
    /** BGP neighbors health() requires (default: all). */
    peers: z.array(z.string().refine((s) => isAddress(s, 4) || isAddress(s, 6), 'must be an IP address')).default([]),
    /** Write the running config to disk after each change (`write memory`), so an FRR restart keeps ft's routes. */
    persist: z.boolean().default(false),
    /** How often ft checks that FRR still announces every live rule (and re-announces after an FRR restart). */
    resyncIntervalMs: z.number().int().min(0).max(3_600_000).default(5000),
    timeoutMs: z.number().int().min(100).max(120000).default(10000),
  })
  .strict();

export type FrrConfig = z.output<typeof frrConfigSchema>;
