import { z } from 'zod';
import {
  ATTACK_FAMILIES,
  SEVERITIES,
  VECTOR_NAMES,
  Prefix,
  PrefixError,
  isIPv4Compatible,
  UnitError,
  parseBitrate,
  parseByteSize,
  parseDuration,
  parsePacketRate,
  parsePercent,
  parseRequestRate,
  ttlProblem,
} from '@ft/sdk';
import type { RateThreshold } from './types.js';

/**
 * Field schemas shared by the policy schema. Units go through @ft/sdk's strict parsers (a unit typo is an error,
 * never a zero); each field carries JSON Schema metadata so editors validate and complete the same text.
 */

const NUM = '[0-9]+(\\.[0-9]+)?';

function parsed<T>(parse: (v: string | number) => T, expected: string, json: Record<string, unknown>) {
  return z
    .unknown()
    .transform((value, ctx): T => {
      if (typeof value !== 'string' && typeof value !== 'number') {
        const message = value === undefined ? `required: expected ${expected}` : `expected ${expected}`;
        ctx.addIssue({ code: 'custom', message, input: value });
        return z.NEVER;
      }
      try {
        return parse(value);
      } catch (err) {
        if (err instanceof UnitError || err instanceof PrefixError) {
          ctx.addIssue({ code: 'custom', message: err.message, input: value });
          return z.NEVER;
        }
        throw err;
      }
    })
    .meta({ description: `${expected[0]?.toUpperCase()}${expected.slice(1)}.`, ...json });
}

export const bitrate = () =>
  parsed(parseBitrate, 'a bit rate like 100Mbps, 2Gbps or 500kbps', {
    anyOf: [
      { type: 'string', pattern: `^\\s*${NUM}\\s*([kMGT]?bps)?\\s*$` },
      { type: 'number', minimum: 0 },
    ],
  });

export const packetRate = () =>
  parsed(parsePacketRate, 'a packet rate like 50kpps or 20000pps', {
    anyOf: [
      { type: 'string', pattern: `^\\s*${NUM}\\s*([kKmMgG]?pps)?\\s*$` },
      { type: 'number', minimum: 0 },
    ],
  });

export const requestRate = () =>
  parsed(parseRequestRate, 'a request rate like 500rps or 2krps', {
    anyOf: [
      { type: 'string', pattern: `^\\s*${NUM}\\s*([kKmM]?rps)?\\s*$` },
      { type: 'number', minimum: 0 },
    ],
  });

export const duration = () =>
  parsed(parseDuration, 'a duration like 300s, 5m or 1h', {
    anyOf: [
      { type: 'string', pattern: `^\\s*${NUM}\\s*(ms|s|m|h|d)?\\s*$` },
      { type: 'number', minimum: 0 },
    ],
  });

export const byteSize = () =>
  parsed(parseByteSize, 'a size like 256MiB, 8MB or 1GiB', {
    anyOf: [
      { type: 'string', pattern: `^\\s*${NUM}\\s*([kKmMgGtT]i?[bB]|[bB])?\\s*$` },
      { type: 'number', minimum: 0 },
    ],
  });

/** A rule TTL: a duration of whole seconds between 1 s and 24 days (`ttlProblem` says why not). */
export const ttl = () =>
  duration().superRefine((seconds, ctx) => {
    const problem = ttlProblem(seconds);
    if (problem) ctx.addIssue({ code: 'custom', message: problem, input: seconds });
  });

export const percent = () =>
  parsed(parsePercent, 'a percentage like 90%', { type: 'string', pattern: `^\\s*${NUM}\\s*%\\s*$` });

export const prefix = () =>
  parsed(policyPrefix, 'an IPv4 or IPv6 prefix like 203.0.113.0/24 or 2001:db8::/32', {
    type: 'string',
  });

/**
 * A prefix as an operator writes it in a policy. "::203.0.113.10" (IPv4-compatible, deprecated by RFC 4291
 * §2.5.5.1) is the IPv6 address ::cb00:710a, whichever way it is spelled; written in a policy it is almost always
 * meant as the IPv4 host, so it is refused rather than silently protecting (or targeting) the wrong family.
 */
export function policyPrefix(v: string | number): Prefix {
  const text = String(v);
  const p = Prefix.parse(text);
  if (isIPv4Compatible(p)) {
    const b = p.bytes;
    const v4 = `${b[12]}.${b[13]}.${b[14]}.${b[15]}`;
    throw new PrefixError(
      text,
      `IPv4-compatible IPv6 addresses are deprecated (RFC 4291 §2.5.5.1) and mean the IPv6 address ${p.address}, not ${v4}: write ${v4} for the IPv4 address`,
    );
  }
  return p;
}

/** "N/s" for per-second packet limits in on-node rules (iptables hashlimit style), or a packet rate. */
export const perSecond = () =>
  parsed(
    (v) => {
      if (typeof v === 'string') {
        const m = /^\s*([0-9]+)\s*\/\s*s(ec(ond)?)?\s*$/.exec(v);
        if (m) return Number(m[1]);
      }
      return parsePacketRate(v);
    },
    'a packet rate like 200/s or 10kpps',
    { anyOf: [{ type: 'string' }, { type: 'number', minimum: 0 }] },
  );

const RATE_RE = /^\s*(>=|>)\s*(.+?)\s*$/;

function threshold(parse: (v: string | number) => number, unitExample: string) {
  const expected = `a threshold like ">${unitExample}" (">" or ">=" then a rate)`;
  return parsed(
    (v): RateThreshold => {
      const m = typeof v === 'string' ? RATE_RE.exec(v) : null;
      if (!m) throw new UnitError(String(v), expected);
      return { op: m[1] as '>' | '>=', value: parse(m[2] as string), text: `${m[1]}${(m[2] as string).trim()}` };
    },
    expected,
    { type: 'string', pattern: '^\\s*>=?\\s*[0-9]' },
  );
}

export const bpsThreshold = () => threshold(parseBitrate, '100Mbps');
export const ppsThreshold = () => threshold(parsePacketRate, '50kpps');

/** One value or a list of them, always a list after parsing. */
export function oneOrMany<T extends z.ZodType>(item: T) {
  return z.union([item, z.array(item).min(1)]).transform((v) => (Array.isArray(v) ? v : [v]) as z.output<T>[]);
}

export const family = () => z.enum(ATTACK_FAMILIES);
export const vector = () => z.enum(VECTOR_NAMES as [string, ...string[]]);
export const severity = () => z.enum(SEVERITIES);

/** Standard (asn:value) or large (a:b:c) BGP community. */
export const community = () =>
  z
    .string()
    .regex(
      /^([0-9]{1,10}:){1,2}[0-9]{1,10}$/,
      'expected a BGP community like 65535:666 or a large community like 64500:1:666',
    )
    .refine((c) => {
      const parts = c.split(':').map(Number);
      if (parts.length === 2) return parts.every((p) => p <= 0xffff);
      return parts.every((p) => p <= 0xffffffff);
    }, 'community parts out of range (16-bit each for a:b, 32-bit each for a:b:c)');

export const asn = () =>
  z
    .union([z.number().int(), z.string().regex(/^(AS|as)?[0-9]+$/, 'expected an AS number like 64500 or AS64500')])
    .transform((v) => (typeof v === 'number' ? v : Number(v.replace(/^as/i, ''))))
    .refine(
      (n) => n >= 1 && n <= 4294967294 && n !== 23456,
      'expected an AS number between 1 and 4294967294 (not AS_TRANS 23456)',
    );

/** Names of speakers, scrubbers, tenants and targets: safe in logs, argv and file names. */
export const name = () =>
  z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$/, 'expected a name of letters, digits, ".", "_" or "-"');

export const adapterKind = () =>
  z
    .string()
    .regex(/^[a-z][a-z0-9-]{0,62}$/, 'expected an action kind like gobgp or nft (lower-case letters, digits, "-")');
