// The answers `ft setup` needs, and the one parser per answer that both the prompts (which ask again with the
// reason) and the flags (which exit non-zero with it) go through. Prefix and AS checks are the policy's own.
import { Prefix, PrefixError } from '@ft/sdk';
import { asn as asnField } from '../policy/fields.js';

/** A bad answer: `what` names the question or flag, `reason` says why, in the policy's words. */
export class SetupInputError extends Error {
  constructor(
    readonly what: string,
    readonly reason: string,
  ) {
    super(`${what}: ${reason}`);
    this.name = 'SetupInputError';
  }
}

export type Mode = 'preview' | 'enforce';
export type SpeakerKind = 'gobgp' | 'bird' | 'frr' | 'exabgp';
export const SPEAKER_KINDS: readonly SpeakerKind[] = ['gobgp', 'bird', 'frr', 'exabgp'];

/** Where ft reaches a speaker: gobgpd's gRPC API, BIRD's control socket, FRR's vty directory, ft's ExaBGP socket. */
export interface SpeakerChoice {
  kind: SpeakerKind;
  /** gobgp: host:port, [v6]:port or unix:///path; bird: control socket; frr: vty socket directory; exabgp: ft's socket. */
  where?: string;
}

export interface AccessLog {
  path: string;
  /** A format the l7 detector knows, or undefined for `auto`. */
  format?: string;
}

/** The reference product's ladder; level 4 (scrubbing) needs a provider contract and is written commented out. */
export const LEVELS = [
  {
    level: 1,
    name: 'FlowSpec rate-limit',
    bps: 100e6,
    when: '>100Mbps',
    do: '{ flowspec: { then: rate-limit, rate: 50Mbps } }',
  },
  { level: 2, name: 'FlowSpec discard', bps: 500e6, when: '>500Mbps', do: '{ flowspec: { then: discard } }' },
  { level: 3, name: 'RTBH', bps: 2e9, when: '>2Gbps', do: '{ rtbh: { noExport: true } }' },
] as const;
export type Level = (typeof LEVELS)[number]['level'];

export interface SetupAnswers {
  protect: Prefix[];
  neverTarget: Prefix[];
  asn: number;
  speaker?: SpeakerChoice;
  accessLogs: AccessLog[];
  /** Flow exporters allowed to feed the flow detector; undefined: no flow detector; empty: any exporter. */
  flowExporters?: Prefix[];
  /** Ports the flow detector listens on. */
  flowPorts: number[];
  /** RTR caches, HOST:PORT. */
  rtr: string[];
  levels: Level[];
  mode: Mode;
}

/** Splits a list typed on one line or given as repeated flags: commas and blanks both separate. */
export function splitList(values: string | readonly string[]): string[] {
  const all = typeof values === 'string' ? [values] : values;
  return all.flatMap((v) => v.split(/[\s,]+/)).filter((v) => v.length > 0);
}

const isNone = (items: readonly string[]) => items.length === 1 && /^none$/i.test(items[0] as string);

function prefixes(what: string, text: string | readonly string[]): Prefix[] {
  const out: Prefix[] = [];
  for (const item of splitList(text)) {
    let p: Prefix;
    try {
      p = Prefix.parse(item);
    } catch (err) {
      if (err instanceof PrefixError) throw new SetupInputError(what, err.message);
      throw err;
    }
    const clash = out.find((o) => o.overlaps(p));
    if (clash) throw new SetupInputError(what, `${p.toString()} overlaps ${clash.toString()}: list each prefix once`);
    out.push(p);
  }
  return out;
}

/** `protect`: at least one prefix, host bits clear, no overlaps (the policy's own rules). */
export function parseProtect(text: string | readonly string[]): Prefix[] {
  const out = prefixes('protect', text);
  if (out.length === 0)
    throw new SetupInputError('protect', 'at least one prefix is needed, e.g. 203.0.113.0/24 or 2001:db8:100::/48');
  return out;
}

/** `neverTarget`: any number of prefixes or addresses; "none" for an empty list. */
export function parseNeverTarget(text: string | readonly string[]): Prefix[] {
  const items = splitList(text);
  return isNone(items) ? [] : prefixes('neverTarget', items);
}

/** The origin AS, checked as the policy checks `asn` (1–4294967294, not AS_TRANS). */
export function parseAsn(text: string): number {
  const r = asnField().safeParse(/^[0-9]+$/.test(text.trim()) ? Number(text.trim()) : text.trim());
  if (!r.success) throw new SetupInputError('asn', r.error.issues[0]?.message ?? 'not an AS number');
  return r.data;
}

export function parseMode(text: string): Mode {
  const m = text.trim().toLowerCase();
  if (m !== 'preview' && m !== 'enforce')
    throw new SetupInputError('mode', `expected preview or enforce, got "${text}"`);
  return m;
}

export function parseLevels(text: string | readonly string[]): Level[] {
  const items = splitList(text);
  if (isNone(items)) return [];
  const out: Level[] = [];
  for (const item of items) {
    const n = Number(item);
    const known = LEVELS.find((l) => l.level === n);
    if (!known)
      throw new SetupInputError(
        'levels',
        n === 4
          ? 'level 4 (scrubbing) needs a scrubbing provider: setup writes it commented out; see docs/cloud-adapters.md'
          : `"${item}" is not one of the levels 1 (rate-limit), 2 (discard), 3 (RTBH)`,
      );
    if (!out.includes(known.level)) out.push(known.level);
  }
  return out.sort((a, b) => a - b);
}

/**
 * A speaker as `KIND@WHERE` or a bare `KIND`: gobgp@127.0.0.1:50051, gobgp@unix:///run/gobgpd.sock,
 * bird@/run/bird/bird.ctl, frr (or frr@/var/run/frr), exabgp; "none" for no speaker (on-node rules only).
 * Only the shape is checked here: the adapter's own schema and its health check come after.
 */
export function parseSpeaker(text: string): SpeakerChoice | undefined {
  const t = text.trim();
  if (/^none$/i.test(t)) return undefined;
  const at = t.indexOf('@');
  const kind = (at < 0 ? t : t.slice(0, at)).toLowerCase();
  const where = at < 0 ? undefined : t.slice(at + 1);
  if (!SPEAKER_KINDS.includes(kind as SpeakerKind))
    throw new SetupInputError(
      'speaker',
      `"${text}" must be KIND@WHERE with KIND one of ${SPEAKER_KINDS.join(', ')} (e.g. gobgp@127.0.0.1:50051, bird@/run/bird/bird.ctl), or none`,
    );
  if (where !== undefined && where.length === 0) throw new SetupInputError('speaker', `"${text}": nothing after @`);
  if (kind === 'gobgp' && where === undefined)
    throw new SetupInputError('speaker', 'gobgp needs its API address: gobgp@HOST:PORT (gobgpd --api-hosts)');
  if (kind !== 'gobgp' && where !== undefined && !where.startsWith('/'))
    throw new SetupInputError('speaker', `${kind}@${where}: must be an absolute path`);
  return { kind: kind as SpeakerKind, ...(where !== undefined ? { where } : {}) };
}

export function formatSpeaker(s: SpeakerChoice | undefined): string {
  if (!s) return 'none';
  return s.where ? `${s.kind}@${s.where}` : s.kind;
}

/** Access logs: absolute paths, "none" for no l7 detector. */
export function parseAccessLogs(text: string | readonly string[]): AccessLog[] {
  const items = splitList(text);
  if (isNone(items)) return [];
  return items.map((path) => {
    if (!path.startsWith('/')) throw new SetupInputError('access-log', `${path}: must be an absolute path`);
    return { path };
  });
}

/** Flow exporters: addresses or prefixes allowed to send, "any" for every exporter, "none" for no flow detector. */
export function parseFlow(text: string | readonly string[]): Prefix[] | undefined {
  const items = splitList(text);
  if (isNone(items)) return undefined;
  if (items.length === 1 && /^any$/i.test(items[0] as string)) return [];
  return prefixes('flow', items);
}

export function parsePorts(what: string, text: string | readonly string[]): number[] {
  const out: number[] = [];
  for (const item of splitList(text)) {
    const n = Number(item);
    if (!Number.isInteger(n) || n < 1 || n > 65535)
      throw new SetupInputError(what, `"${item}" is not a UDP port (1-65535)`);
    if (!out.includes(n)) out.push(n);
  }
  return out;
}

/** RTR caches as HOST:PORT (the form `rpki.caches` takes); "none" for none. */
export function parseRtr(text: string | readonly string[], parse: (s: string) => unknown): string[] {
  const items = splitList(text);
  if (isNone(items)) return [];
  for (const item of items) {
    try {
      parse(item);
    } catch (err) {
      throw new SetupInputError('rtr', (err as Error).message);
    }
  }
  return items;
}

/** Warnings, not errors: the box's own public addresses outside `protect` (ft will never act for them). */
export function outsideProtect(addresses: readonly string[], protect: readonly Prefix[]): string[] {
  return addresses.filter((a) => !protect.some((p) => p.contains(Prefix.parse(a))));
}

/**
 * The address the synthetic attack is aimed at: the box's own address when it is protected and not a
 * never-target, else the first host of the first protect prefix that is not a never-target.
 */
export function previewTarget(
  protect: readonly Prefix[],
  neverTarget: readonly Prefix[],
  own: readonly string[],
): string | undefined {
  const allowed = (a: string) => {
    const p = Prefix.parse(a);
    return protect.some((q) => q.contains(p)) && !neverTarget.some((n) => n.contains(p));
  };
  for (const a of own) if (allowed(a)) return a;
  for (const p of protect) {
    const bytes = Uint8Array.from(p.bytes);
    // The network address of anything wider than a /31 (/127) is not a host: take the next one.
    if (p.length < bytes.length * 8 - 1) (bytes[bytes.length - 1] as number) |= 1;
    const first = Prefix.fromBytes(bytes, bytes.length * 8).address;
    if (allowed(first)) return first;
  }
  return undefined;
}
