import { z } from 'zod';
import { Prefix } from '@ft/sdk';
import { parseAddress } from './client.js';

const hostAddress = (family: 4 | 6) =>
  z.string().refine((s) => {
    try {
      const p = Prefix.parse(s);
      return p.isHost && p.family === family;
    } catch {
      return false;
    }
  }, `must be a single IPv${family} address`);

export const gobgpConfigSchema = z
  .object({
    /** gobgpd's gRPC API of this POP: host:port, [ipv6]:port or unix:///path.sock. */
    address: z
      .string()
      .default('127.0.0.1:50051')
      .refine((s) => {
        try {
          parseAddress(s);
          return true;
        } catch {
          return false;
        }
      }, 'must be host:port, [ipv6]:port or unix:///absolute/path'),
    /** POP name, for logs and `ft bgp status`. */
    pop: z.string().min(1).optional(),
    /** Directory holding GoBGP's gobgp.proto, attribute.proto, capability.proto. */
    protoDir: z.string().min(1).optional(),
    /** ASN written in ft's large-community tag. The policy fills in its own `asn`; 64512 only when it has none. */
    tagAsn: z.number().int().min(1).max(4294967295).default(64512),
    /** Discard next hop for RTBH when the rule names none (RFC 7999 receivers route it to null). */
    nextHop4: hostAddress(4).default('192.0.2.1'),
    nextHop6: hostAddress(6).default('100::1'),
    /** Neighbors whose sessions must be Established for health "ok" (default: every configured neighbor). */
    peers: z.array(z.string()).optional(),
    timeoutMs: z.number().int().min(100).max(120_000).default(5000),
    /** gRPC over TLS (gobgpd --tls); client certificate for mutual TLS. File paths. */
    tls: z
      .object({
        ca: z.string().optional(),
        cert: z.string().optional(),
        key: z.string().optional(),
        serverName: z.string().optional(),
      })
      .strict()
      .refine((t) => Boolean(t.cert) === Boolean(t.key), 'cert and key go together')
      .optional(),
    /** A credential sent as call metadata, for a gobgpd behind an authenticating gRPC proxy. */
    auth: z
      .object({
        secret: z.string().min(1),
        header: z
          .string()
          .regex(/^[a-z0-9-]+$/)
          .default('authorization'),
        scheme: z.string().default('Bearer'),
      })
      .strict()
      .optional(),
  })
  .strict();

export type GobgpConfig = z.infer<typeof gobgpConfigSchema>;
