import type { Prefix } from '@ft/sdk';
import type { AnnouncementCheck, RpkiMode, RpkiVerdictProvider } from '../model/rpki.js';
import type { RpkiVerdict } from '../model/plan.js';
import type { LastKnown, RpkiSnapshot, RtrClient } from './client.js';
import { formatVrp, type Validation, type VrpTable } from './vrp-table.js';

export type Verdict = RpkiVerdict & { allowed: boolean };

/** Static data (a VRP file, a test) or a live RTR client. */
export type VerdictSource =
  | {
      table: VrpTable;
      /** Age of the data when the provider is created; it keeps ageing with `now`. Default 0. */
      dataAgeSeconds?: number;
      /** Data older than this is stale (RFC 8210's default expire: 7200 s). */
      expireSeconds?: number;
      sessionId?: number;
      serial?: number;
      now?: () => number;
    }
  | { client: Pick<RtrClient, 'snapshot'> & Partial<Pick<RtrClient, 'lastKnown'>> };

/** The RPKI check (docs/rpki.md; RFC 6811) before every BGP announcement and scrubbing diversion. */
export function createVerdictProvider(
  source: VerdictSource,
): RpkiVerdictProvider & { verdict(check: AnnouncementCheck): Verdict } {
  const snapshot = snapshotOf(source);
  return { verdict: (check) => decide(check, snapshot()) };
}

interface Data {
  fresh?: RpkiSnapshot;
  /** What was last known when there is no fresh data, so a refusal still says how old the data is. */
  last?: Omit<LastKnown, 'cache'>;
}

function snapshotOf(source: VerdictSource): () => Data {
  if ('client' in source) {
    return () => {
      const fresh = source.client.snapshot();
      if (fresh) return { fresh };
      const last = source.client.lastKnown?.();
      return last ? { last } : {};
    };
  }
  const now = source.now ?? Date.now;
  const createdAt = now();
  const initialAge = source.dataAgeSeconds ?? 0;
  const expire = source.expireSeconds ?? 7200;
  return () => {
    const age = initialAge + (now() - createdAt) / 1000;
    const ids = { sessionId: source.sessionId ?? 0, serial: source.serial ?? 0 };
    if (age >= expire) return { last: { ...ids, dataAgeSeconds: age } };
    return { fresh: { table: source.table, cache: 'file', ...ids, dataAgeSeconds: age, expireSeconds: expire } };
  };
}

const STATE: Record<Validation['state'], 'valid' | 'invalid' | 'not-found'> = {
  valid: 'valid',
  invalid: 'invalid',
  'not-found': 'not-found',
};

function describe(v: Validation): string {
  if (v.state === 'valid') return 'Valid';
  if (v.state === 'not-found') return 'NotFound';
  return `Invalid (${v.reason === 'length' ? 'length: longer than maxLength' : 'as: no VRP for this origin AS'})`;
}

/** "VRPs covering it: 203.0.113.0/24-24 AS64500" or "no VRP covers it", for reasons an operator can act on. */
function coveringText(table: VrpTable, prefix: Prefix): string {
  const vrps = table.covering(prefix);
  if (vrps.length === 0) return `no VRP covers ${prefix.toString()}`;
  const shown = vrps.slice(-5).map(formatVrp).join(', ');
  return `VRPs covering ${prefix.toString()}: ${shown}${vrps.length > 5 ? ` (and ${vrps.length - 5} more)` : ''}`;
}

function decide(check: AnnouncementCheck, data: Data): Verdict {
  const as = `AS${check.originAs}`;
  const snap = data.fresh;
  const known = data.fresh ?? data.last;
  const meta: Pick<RpkiVerdict, 'sessionId' | 'serial' | 'dataAgeSeconds'> = known
    ? { sessionId: known.sessionId, serial: known.serial, dataAgeSeconds: Math.round(known.dataAgeSeconds * 10) / 10 }
    : {};
  if (check.mode === 'off')
    return { state: 'skipped', reason: 'RPKI check is off in the policy (rpki: off)', allowed: true, ...meta };

  if (!snap) {
    const why = data.last
      ? `RPKI data is stale (last End of Data ${Math.round(data.last.dataAgeSeconds)} s ago, past its expire interval)`
      : 'no RPKI data (no RTR cache has completed an End of Data)';
    if (check.kind === 'divert')
      return { state: 'unknown', reason: `${why}: scrubbing diversion fails closed`, allowed: false, ...meta };
    if (check.mode === 'warn')
      return { state: 'unknown', reason: `${why}: announced anyway because rpki: warn`, allowed: true, ...meta };
    return { state: 'unknown', reason: `${why}: refused because rpki: enforce`, allowed: false, ...meta };
  }
  const { table } = snap;

  if (check.kind !== 'divert' && !check.covering.contains(check.announced)) {
    return {
      state: 'unknown',
      reason: `${check.announced.toString()} is not inside its covering route ${check.covering.toString()}`,
      allowed: false,
      ...meta,
    };
  }

  if (check.kind === 'divert') {
    const v = table.validate(check.announced, check.originAs);
    if (v.state === 'valid')
      return {
        state: 'valid',
        reason: `${check.announced.toString()} is strictly Valid for ${as}`,
        allowed: true,
        ...meta,
      };
    const needed = `a ROA for ${check.announced.toString()} (maxLength ≥ ${check.announced.length}) authorising ${as}`;
    return {
      state: STATE[v.state],
      reason: `missing ROA: ${check.announced.toString()} is ${describe(v)} for ${as}; diversion needs ${needed} (${coveringText(table, check.announced)})`,
      allowed: false,
      ...meta,
    };
  }

  const covering = table.validate(check.covering, check.originAs);
  const coverText = `covering route ${check.covering.toString()} is ${describe(covering)} for ${as}`;
  const coveringOk = covering.state === 'valid' || (covering.state === 'not-found' && check.mode === 'warn');
  const coveringNote =
    covering.state === 'not-found'
      ? check.mode === 'warn'
        ? ' (allowed because rpki: warn)'
        : ' (refused because rpki: enforce needs Valid)'
      : '';

  if (check.kind === 'flowspec') {
    const reason = `${coverText}${coveringNote}`;
    return {
      state: STATE[covering.state],
      reason: coveringOk ? reason : `${reason}; ${coveringText(table, check.covering)}`,
      allowed: coveringOk,
      ...meta,
    };
  }

  // RTBH: the /32 (/128) is checked loosely (a strict check calls every blackhole Invalid: length, by design of
  // maxLength); the strict state is recorded, never required. The covering route must be strictly Valid.
  const strict = table.validate(check.announced, check.originAs);
  const loose = table.validateLoose(check.announced, check.originAs);
  const hostText = `${check.announced.toString()} is loosely ${describe(loose)} for ${as} (strictly ${describe(strict)})`;
  const looseOk = loose.state === 'valid' || (loose.state === 'not-found' && check.mode === 'warn');
  const allowed = looseOk && coveringOk;
  let reason = `${hostText}; ${coverText}${coveringNote}`;
  if (!allowed) reason += `; ${coveringText(table, check.announced)}`;
  return { state: STATE[strict.state], loose: STATE[loose.state], reason, allowed, ...meta };
}

export type { RpkiMode };
