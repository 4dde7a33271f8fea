import { z } from 'zod';
import { Prefix } from '@ft/sdk';

function isAddress(text: string, family: 4 | 6 | undefined): boolean {
  if (text.includes('/')) return false;
  try {
    const p = Prefix.parse(text);
    return p.isHost && (family === undefined || p.family === family) && p.address === text;
  } catch {
    return false;
  }
}

/** An address in canonical text (what the speaker will be given verbatim). */
const ip = (family: 'ipv4' | 'ipv6' | 'any') =>
  z.string().refine((s) => isAddress(s, family === 'ipv4' ? 4 : family === 'ipv6' ? 6 : undefined), {
    message: `must be an ${family === 'any' ? 'IP' : family === 'ipv4' ? 'IPv4' : 'IPv6'} address in canonical form`,
  });

export const exabgpConfigSchema = z
  .object({
    /** Unix socket ft listens on; ExaBGP's process runs the bridge pointed at it. Default: <stateDir>/exabgp.sock. */
    socket: z
      .string()
      .min(1)
      .regex(/^\/[^\0\n\r;]*$/, 'must be an absolute path')
      .optional(),
    /** AS under which ft tags its announcements (large communities). The policy fills in its own `asn`; 64512
     *  only when the policy has none. */
    tagAsn: z.number().int().min(1).max(4294967295).default(64512),
    /** Announce only to these ExaBGP neighbors, and require them for health "ok" (default: every neighbor). */
    peers: z.array(ip('any')).default([]),
    /** Discard next hops for RTBH when the rule names none (RFC 5737 / RFC 6666 discard addresses). */
    nextHop4: ip('ipv4').default('192.0.2.1'),
    nextHop6: ip('ipv6').default('100::1'),
    /** How long to wait for ExaBGP's ack of one command (and for the bridge to connect). */
    timeoutMs: z.number().int().min(100).max(120000).default(5000),
  })
  .strict();

export type ExabgpConfig = z.output<typeof exabgpConfigSchema>;
