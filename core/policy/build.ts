import { Prefix, PrefixError, PrefixSet, type Vector } from '@ft/sdk';
import {
  DEFAULT_DETECTION,
  type AggregateLimits,
  type DetectionSettings,
  type HttpLimits,
} from '../model/detection.js';
import type { RawHostStep, RawPolicy, RawTrigger } from './schema.js';
import type {
  ActionInstance,
  EscalationLevel,
  HostGroup,
  HostStep,
  LevelActions,
  OnNodeRule,
  Policy,
  ScrubberInstance,
  TargetOverride,
  Trigger,
} from './types.js';
import { policyPrefix } from './fields.js';
import { alertWarnings, buildAlerts } from './alerts.js';
import { buildExport } from './export.js';
import type { Located } from './zod-issues.js';
import { closest } from './zod-issues.js';

export const BLACKHOLE_COMMUNITY = '65535:666';

/**
 * Turns the parsed document into a Policy and checks what a schema cannot: references between sections, level
 * order, targets inside protected space. Every problem is collected; the caller decides whether to throw.
 */
export function buildPolicy(raw: RawPolicy, file: string): { policy: Policy; issues: Located[] } {
  const issues: Located[] = [];
  const fail = (path: PropertyKey[], message: string, atKey = false) => void issues.push({ path, message, atKey });

  const defaults = {
    ttlSeconds: raw.defaults.ttl,
    maxRules: raw.defaults.maxRules,
    rpki: raw.defaults.rpki,
    cooldownSeconds: raw.defaults.cooldown,
    minPrefixLength: raw.defaults.minPrefixLength,
  };

  const protect = raw.protect;
  const neverTarget = raw.neverTarget;
  for (const [i, other] of overlappingPairs(protect))
    fail(
      ['protect', i],
      `${protect[i]} overlaps protect[${other}] (${protect[other]}): list each protected prefix once`,
    );
  const protectSet = new PrefixSet(protect);

  const speakers = instances(raw.speakers, 'speaker', 'speakers');
  const filters = instances(raw.filters, 'scrubber', 'filters');
  const nodeActions = instances(raw.nodeActions, 'node', 'nodeActions');
  const scrubbers = new Map<string, ScrubberInstance>();
  for (const [name, s] of Object.entries(raw.scrubbers)) {
    const { adapter, pop, originAs, divertLength, ...options } = s as Record<string, unknown> & typeof s;
    const origin = originAs ?? raw.asn;
    if (origin === undefined)
      fail(
        ['scrubbers', name],
        'needs originAs (or a policy-wide asn): the AS that will originate the diverted prefix',
      );
    scrubbers.set(name, {
      name,
      role: 'scrubber',
      adapter,
      ...(pop ? { pop } : {}),
      options,
      validated: false,
      source: ['scrubbers', name],
      originAs: origin ?? 0,
      divertLength: divertLength ?? { v4: 24, v6: 48 },
    });
  }
  for (const [name] of scrubbers)
    if (speakers.has(name)) fail(['scrubbers', name], `"${name}" is also a speaker: names must be unique`, true);
  for (const [name] of filters) {
    if (speakers.has(name) || scrubbers.has(name))
      fail(['filters', name], `"${name}" is also a speaker or scrubber: names must be unique`, true);
  }
  for (const [name] of nodeActions) {
    if (speakers.has(name) || scrubbers.has(name) || filters.has(name)) {
      fail(['nodeActions', name], `"${name}" is also a speaker, scrubber or filter: names must be unique`, true);
    }
  }

  const escalation: EscalationLevel[] = raw.escalation.map((l, index) => {
    const path = ['escalation', index];
    const prev = raw.escalation[index - 1];
    if (prev && l.level <= prev.level)
      fail([...path, 'level'], `levels must increase down the list: level ${l.level} follows level ${prev.level}`);
    const actions: LevelActions = {};
    if (l.do.flowspec) {
      const f = l.do.flowspec;
      actions.flowspec =
        f.then === 'rate-limit'
          ? { then: 'rate-limit', bitsPerSecond: f.rate }
          : f.then === 'redirect'
            ? { then: 'redirect', routeTarget: f.routeTarget }
            : f.then === 'mark'
              ? { then: 'mark', dscp: f.dscp }
              : { then: 'discard' };
      if (f.then === 'rate-limit' && f.rate <= 0)
        fail([...path, 'do', 'flowspec', 'rate'], 'a rate limit of 0 is a discard: write `then: discard`');
    }
    if (l.do.rtbh) {
      const extra = (l.do.rtbh.community ?? []).filter((c) => c !== BLACKHOLE_COMMUNITY);
      actions.rtbh = {
        communities: [BLACKHOLE_COMMUNITY, ...new Set(extra)],
        noExport: l.do.rtbh.noExport,
        wholePrefix: l.do.rtbh.wholePrefix,
      };
      if (l.do.rtbh.nextHop !== undefined) {
        const hop = hostAddress(l.do.rtbh.nextHop);
        if (typeof hop === 'string') actions.rtbh.nextHop = hop;
        else fail([...path, 'do', 'rtbh', 'nextHop'], hop.error);
      }
    }
    if (l.do.scrub) {
      actions.scrub = { provider: l.do.scrub.provider };
      if (!scrubbers.has(l.do.scrub.provider)) {
        fail(
          [...path, 'do', 'scrub', 'provider'],
          unknownName('scrubber', l.do.scrub.provider, [...scrubbers.keys()], 'scrubbers'),
        );
      }
    }
    if (l.do.block) actions.block = { sources: l.do.block.sources, count: l.do.block.count };
    if (!actions.flowspec && !actions.rtbh && !actions.scrub && !actions.block)
      fail([...path, 'do'], 'a level must do something: flowspec, rtbh, scrub or block');
    // `via` names speakers (FlowSpec/RTBH) and filters (block): each kind of rule goes only where it belongs.
    const via: string[] = [];
    const viaFilters: string[] = [];
    const announces = Boolean(actions.flowspec || actions.rtbh);
    let unknown = 0;
    (l.via ?? []).forEach((v, i) => {
      if (speakers.has(v)) via.push(v);
      else if (filters.has(v)) viaFilters.push(v);
      else {
        unknown++;
        const [what, known, section] =
          !announces && actions.block
            ? ['filter', [...filters.keys()], 'filters']
            : filters.size > 0
              ? ['speaker or filter', [...speakers.keys(), ...filters.keys()], 'speakers, filters']
              : ['speaker', [...speakers.keys()], 'speakers'];
        fail([...path, 'via', i], unknownName(what, v, known, section));
      }
    });
    if (announces && via.length === 0 && unknown === 0) {
      fail(
        [...path, 'via'],
        'FlowSpec and RTBH need `via`: the speakers that announce them (nothing leaves the box unless the policy says so)',
      );
    }
    if (actions.block && viaFilters.length === 0 && unknown === 0) {
      fail(
        [...path, 'via'],
        'block needs `via`: the filters (from `filters`) that carry it (nothing leaves the box unless the policy says so)',
      );
    }
    if (!announces && via.length > 0)
      fail([...path, 'via'], 'only FlowSpec and RTBH go via speakers; a scrub level uses its provider');
    if (!actions.block && viaFilters.length > 0)
      fail([...path, 'via'], 'filters carry only `do: { block }`: this level blocks nothing');
    if (!hasRate(l.when))
      fail([...path, 'when'], 'a level needs a bps or pps threshold, so escalation follows attack volume');
    const level: EscalationLevel = {
      level: l.level,
      when: trigger(l.when),
      do: actions,
      via: [...new Set(via)],
      filters: [...new Set(viaFilters)],
      index,
    };
    if (l.name !== undefined) level.name = l.name;
    if (l.ttl !== undefined) level.ttlSeconds = l.ttl;
    return level;
  });
  const levelNumbers = new Set(escalation.map((l) => l.level));

  const onNode: OnNodeRule[] = raw.onNode.map((r, index) => {
    const steps = r.do.flatMap((entry, j) => {
      const keys = Object.keys(entry);
      if (keys.length !== 1) {
        fail(
          ['onNode', index, 'do', j],
          `each item names one on-node action, e.g. "- nft: { dropUdpSourcePorts: auto }" (got ${keys.length === 0 ? 'none' : keys.join(', ')})`,
        );
        return [];
      }
      const via = keys[0] as string;
      if (!nodeActions.has(via)) {
        // A bare kind ("nft") is an instance of that kind with default options.
        if (speakers.has(via) || scrubbers.has(via) || filters.has(via)) {
          fail(
            ['onNode', index, 'do', j, via],
            `"${via}" is a speaker, scrubber or filter: on-node rules use host actions (an off-box block goes in an escalation level: \`do: { block }\`)`,
            true,
          );
        } else if (!/^[a-z][a-z0-9-]{0,62}$/.test(via))
          fail(['onNode', index, 'do', j, via], `"${via}" is neither a nodeActions entry nor an action kind`, true);
        else
          nodeActions.set(via, {
            name: via,
            role: 'node',
            adapter: via,
            options: {},
            validated: false,
            source: ['onNode', index, 'do', j, via],
          });
      }
      return [{ via, steps: hostSteps(entry[via] as RawHostStep, ['onNode', index, 'do', j, via], fail), index: j }];
    });
    const rule: OnNodeRule = { index, when: trigger(r.when), do: steps };
    if (r.ttl !== undefined) rule.ttlSeconds = r.ttl;
    return rule;
  });

  const targets: TargetOverride[] = raw.targets.map((t, index) => {
    const p = t.prefix;
    if (!protectSet.containing(p))
      fail(['targets', index, 'prefix'], `${p} is outside every protected prefix: add it to protect or fix the prefix`);
    const when = new Map<number, Trigger>();
    for (const [k, v] of Object.entries(t.when ?? {})) {
      const n = Number(k);
      if (!levelNumbers.has(n)) fail(['targets', index, 'when', k], `there is no escalation level ${n}`, true);
      if (!hasRate(v)) fail(['targets', index, 'when', k], 'needs a bps or pps threshold');
      when.set(n, trigger(v));
    }
    const o: TargetOverride = { name: t.name ?? p.toString(), prefix: p, when, index };
    if (t.tenant !== undefined) o.tenant = t.tenant;
    if (t.maxLevel !== undefined) o.maxLevel = t.maxLevel;
    if (t.ttl !== undefined) o.ttlSeconds = t.ttl;
    return o;
  });
  const firstTarget = new Map<string, number>();
  targets.forEach((t, i) => {
    const j = firstTarget.get(t.prefix.toString());
    if (j !== undefined) fail(['targets', i, 'prefix'], `${t.prefix} is already targets[${j}]`);
    else firstTarget.set(t.prefix.toString(), i);
  });

  // A diversion announces the covering prefix of the attacked host (divertLength); it must lie inside protect and
  // be no shorter than minPrefixLength, or every plan at that level is refused by the rails.
  for (const l of escalation) {
    const s = l.do.scrub && scrubbers.get(l.do.scrub.provider);
    if (!s) continue;
    const explicit = (raw.scrubbers[s.name] as { divertLength?: unknown }).divertLength !== undefined;
    const at = explicit ? ['scrubbers', s.name, 'divertLength'] : ['escalation', l.index, 'do', 'scrub', 'provider'];
    for (const fam of [4, 6] as const) {
      const len = fam === 4 ? s.divertLength.v4 : s.divertLength.v6;
      const min = fam === 4 ? defaults.minPrefixLength.v4 : defaults.minPrefixLength.v6;
      const key = fam === 4 ? 'v4' : 'v6';
      if (len < min) {
        fail(
          at,
          `scrubber "${s.name}" diverts IPv${fam} /${len}, shorter than minPrefixLength.${key} /${min}: every diversion would be refused`,
        );
        continue;
      }
      const i = protect.findIndex((p) => p.family === fam && p.length > len);
      if (i < 0) continue;
      const p = protect[i] as Prefix;
      fail(
        at,
        `scrubber "${s.name}" diverts the /${len} around an attacked host, but protect[${i}] is ${p}: ${Prefix.covering(p, len)} is outside protect, so diversion at level ${l.level} would always be refused; set divertLength.${key} to ${p.length} or more, or protect the whole /${len}`,
      );
    }
  }

  const usesNetwork = escalation.some((l) => l.do.flowspec || l.do.rtbh || l.do.scrub);
  if (usesNetwork && raw.asn === undefined && defaults.rpki !== 'off') {
    fail(
      ['asn'],
      'required when escalation announces anything and rpki is not off: our origin AS, which RPKI validates',
    );
  }

  const warnings: string[] = [];
  const used = new Set(
    escalation.flatMap((l) => [...l.via, ...l.filters, ...(l.do.scrub ? [l.do.scrub.provider] : [])]),
  );
  for (const name of [...speakers.keys(), ...scrubbers.keys(), ...filters.keys()]) {
    const section = speakers.has(name) ? 'speakers' : scrubbers.has(name) ? 'scrubbers' : 'filters';
    if (!used.has(name)) warnings.push(`${section}.${name} is not used by any escalation level`);
  }
  for (const l of escalation) {
    const f = l.do.flowspec;
    if (f?.then === 'rate-limit' && l.when.bps && f.bitsPerSecond >= l.when.bps.value) {
      warnings.push(
        `escalation[${l.index}]: the rate limit (${f.bitsPerSecond / 1e6}Mbps) is not below the level's own trigger (bps ${l.when.bps.text}): an attack just over the trigger passes the limit untouched`,
      );
    }
  }

  const groups: HostGroup[] = Object.entries(raw.groups).map(([name, g]) => {
    const prefixes = g.prefixes;
    prefixes.forEach((p, i) => {
      if (!protectSet.containing(p))
        fail(
          ['groups', name, 'prefixes', i],
          `${p} is outside every protected prefix: add it to protect or fix the prefix`,
        );
    });
    for (const [i, other] of overlappingPairs(prefixes))
      fail(
        ['groups', name, 'prefixes', i],
        `${prefixes[i]} overlaps prefixes[${other}] (${prefixes[other]}) of the same group`,
      );
    return { name, prefixes };
  });

  const tenants = new Map(Object.entries(raw.tenants ?? {}));
  const owner = {
    tenants: [...new Set([raw.tenant, ...tenants.keys(), ...targets.flatMap((t) => (t.tenant ? [t.tenant] : []))])],
    installId: raw.installId ?? '',
  };
  for (const inst of [...speakers.values(), ...scrubbers.values(), ...filters.values(), ...nodeActions.values()])
    inst.owner = owner;
  const policy: Policy = {
    file,
    version: 1,
    tenant: raw.tenant,
    mode: raw.mode,
    ...(raw.asn !== undefined ? { asn: raw.asn } : {}),
    owner,
    defaults,
    protect,
    neverTarget,
    detection: detection(raw),
    groups,
    detectors: new Map(
      Object.entries(raw.detectors).map(([name, d]) => {
        const { detector: kind, ...options } = d;
        return [name, { name, kind, options, validated: false, source: ['detectors', name] }];
      }),
    ),
    tenants,
    targets,
    speakers,
    scrubbers,
    filters,
    nodeActions,
    escalation,
    onNode,
    atCap: raw.atCap,
    rollback: { collateralDrop: raw.rollback?.collateralDrop ?? 0.9 },
    onShutdown: raw.onShutdown,
    alerts: buildAlerts(raw.alerts, issues),
    events: {
      retainBytes: raw.events?.retain ?? 256 * 2 ** 20,
      retainDays: (raw.events?.retainFor ?? 90 * 86400) / 86400,
      segmentBytes: raw.events?.segment ?? 8 * 2 ** 20,
      fleetMaxLen: raw.events?.fleetMaxLen ?? 100_000,
    },
    export: buildExport(raw.export, issues),
    warnings,
  };
  warnings.push(...alertWarnings(policy.alerts));
  return { policy, issues };
}

function instances(
  section: Record<string, Record<string, unknown>>,
  role: 'speaker' | 'scrubber' | 'node',
  key: string,
): Map<string, ActionInstance> {
  const out = new Map<string, ActionInstance>();
  for (const [name, s] of Object.entries(section)) {
    const { adapter, pop, ...options } = s;
    out.set(name, {
      name,
      role,
      adapter: adapter as string,
      ...(pop ? { pop: pop as string } : {}),
      options,
      validated: false,
      source: [key, name],
    });
  }
  return out;
}

function unknownName(what: string, name: string, known: string[], section: string): string {
  const hint = closest(name, known);
  if (hint) return `no ${what} named "${name}": did you mean "${hint}"?`;
  return known.length
    ? `no ${what} named "${name}" (${section}: ${known.join(', ')})`
    : `no ${what} named "${name}": \`${section}\` is empty`;
}

function hasRate(t: RawTrigger): boolean {
  return t.bps !== undefined || t.pps !== undefined;
}

export function trigger(t: RawTrigger): Trigger {
  const out: Trigger = {};
  if (t.bps) out.bps = t.bps;
  if (t.pps) out.pps = t.pps;
  if (t.family) out.family = t.family;
  if (t.vector) out.vector = t.vector as Vector[];
  if (t.severity) out.severity = t.severity;
  return out;
}

function hostSteps(s: RawHostStep, path: PropertyKey[], fail: (p: PropertyKey[], m: string) => void): HostStep[] {
  const steps: HostStep[] = [];
  if (s.synCookies) steps.push({ type: 'syn-cookies' });
  if (s.hashlimit !== undefined) {
    steps.push({
      type: 'hashlimit',
      packetsPerSecond: s.hashlimit,
      burst: s.burst ?? Math.max(1, Math.round(s.hashlimit)),
      per: s.per ?? 'source',
    });
  }
  if (s.rateLimit !== undefined)
    steps.push({
      type: 'rate-limit',
      packetsPerSecond: s.rateLimit,
      burst: s.burst ?? Math.max(1, Math.round(s.rateLimit)),
    });
  if (s.connlimit !== undefined) steps.push({ type: 'connlimit', maxConnections: s.connlimit });
  if (s.dropUdpSourcePorts !== undefined)
    steps.push({
      type: 'drop-udp-source-ports',
      ports: s.dropUdpSourcePorts === 'auto' ? 'auto' : [...new Set(s.dropUdpSourcePorts)].sort((a, b) => a - b),
    });
  if (s.dropTopSources !== undefined) steps.push({ type: 'drop-top-sources', count: s.dropTopSources });
  if (s.shape !== undefined) steps.push({ type: 'shape', bitsPerSecond: s.shape });
  if (steps.length === 0)
    fail(
      path,
      'names no step: use synCookies, hashlimit, rateLimit, connlimit, dropUdpSourcePorts, dropTopSources or shape',
    );
  if ((s.burst !== undefined || s.per !== undefined) && s.hashlimit === undefined && s.rateLimit === undefined) {
    fail(path, '`burst` and `per` go with hashlimit or rateLimit');
  }
  return steps;
}

function detection(raw: RawPolicy): DetectionSettings {
  const d = raw.detection;
  const base = DEFAULT_DETECTION;
  const out: DetectionSettings = {
    baseline: { ...base.baseline, ...definedOnly(d?.baseline ?? {}) },
    floor: definedOnly(d?.floor ?? {}),
    groups: Object.entries(raw.groups).map(([name, g]) => ({
      name,
      members: g.prefixes,
      ...aggregateLimits(g.detection ?? {}),
    })),
    overrides: [],
    tickMs: d?.tick !== undefined ? d.tick * 1000 : base.tickMs,
    windowMs: d?.window !== undefined ? d.window * 1000 : base.windowMs,
    resolveRatio: d?.resolve?.ratio ?? base.resolveRatio,
    resolveAfterMs: d?.resolve?.after !== undefined ? d.resolve.after * 1000 : base.resolveAfterMs,
    severity: { ...base.severity, ...definedOnly(d?.severity ?? {}) },
  };
  if (d?.static) out.static = definedOnly(d.static);
  if (d?.aggregate) out.aggregate = aggregateLimits(d.aggregate);
  // Always set, even empty: a policy's packet floor/static must never judge an HTTP site's requests/s.
  out.http = httpLimits(d?.http ?? {});
  for (const t of raw.targets) {
    if (!t.detection) continue;
    const o: DetectionSettings['overrides'][number] = { prefix: t.prefix };
    if (t.detection.floor) o.floor = definedOnly(t.detection.floor);
    if (t.detection.static) o.static = definedOnly(t.detection.static);
    if (t.detection.http) o.http = httpLimits(t.detection.http);
    if (t.detection.factor !== undefined) o.factor = t.detection.factor;
    if (t.detection.aggregate) o.aggregate = aggregateLimits(t.detection.aggregate);
    out.overrides.push(o);
  }
  return out;
}

function aggregateLimits(a: {
  floor?: { pps?: number | undefined; bps?: number | undefined } | undefined;
  static?: { pps?: number | undefined; bps?: number | undefined } | undefined;
  factor?: number | undefined;
}): AggregateLimits {
  const out: AggregateLimits = {};
  if (a.floor) out.floor = definedOnly(a.floor);
  if (a.static) out.static = definedOnly(a.static);
  if (a.factor !== undefined) out.factor = a.factor;
  return out;
}

function httpLimits(h: {
  floor?: { rps?: number | undefined } | undefined;
  static?: { rps?: number | undefined } | undefined;
}): HttpLimits {
  const out: HttpLimits = {};
  if (h.floor?.rps !== undefined) out.floor = { rps: h.floor.rps };
  if (h.static?.rps !== undefined) out.static = { rps: h.static.rps };
  return out;
}

function definedOnly<T extends object>(o: T): { [K in keyof T]-?: Exclude<T[K], undefined> } {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as never;
}

function hostAddress(text: string): string | { error: string } {
  const expected = { error: `expected an IPv4 or IPv6 address like 192.0.2.1, got "${text}"` };
  try {
    const p = policyPrefix(text);
    return p.isHost && !text.includes('/') ? p.address : expected;
  } catch (err) {
    return err instanceof PrefixError && /IPv4-compatible/.test(err.message) ? { error: err.message } : expected;
  }
}

/**
 * Pairs [i, j] of entries that overlap (j the one it overlaps), in one sort and one sweep instead of comparing
 * every pair: in address order, the prefixes inside a prefix follow it directly, so each entry only needs the
 * last one not inside another. The later entry in the file is reported, naming the earlier.
 */
function overlappingPairs(prefixes: readonly Prefix[]): [number, number][] {
  const order = prefixes
    .map((_, i) => i)
    .sort((a, b) => (prefixes[a] as Prefix).compare(prefixes[b] as Prefix) || a - b);
  const out: [number, number][] = [];
  let cover: number | undefined;
  for (const i of order) {
    if (cover !== undefined && (prefixes[cover] as Prefix).contains(prefixes[i] as Prefix))
      out.push(i > cover ? [i, cover] : [cover, i]);
    else cover = i;
  }
  // One report per entry (a wide entry listed last covers many earlier ones: name the first).
  const byEntry = new Map<number, number>();
  for (const [i, j] of out) if (!byEntry.has(i) || j < (byEntry.get(i) as number)) byEntry.set(i, j);
  return [...byEntry].sort((a, b) => a[0] - b[0]);
}
