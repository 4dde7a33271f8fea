import { readFile } from 'node:fs/promises';
import { LineCounter, isCollection, isMap, isPair, isScalar, parseDocument, visit, type Document } from 'yaml';
import type { Registry } from '../plugin-host/registry.js';
import { buildPolicy } from './build.js';
import { checkAlertChannels } from './alerts.js';
import { checkExportSinks } from './export.js';
import { PolicyError, formatPath, type PolicyIssue } from './errors.js';
import { positionOf } from './positions.js';
import { policySchema } from './schema.js';
import type { HostStepName } from '@ft/sdk';
import type { ActionInstance, HostStep, Policy } from './types.js';
import { closest, describeIssues, type Located } from './zod-issues.js';

/** Reads and validates a policy file. Throws PolicyError with every problem found, each with file:line:column. */
export async function loadPolicy(path: string, registry?: Registry): Promise<Policy> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    const reason = (err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (err as Error).message;
    throw new PolicyError([{ file: path, line: 0, column: 0, path: '', message: `cannot read the policy: ${reason}` }]);
  }
  return parsePolicy(text, path, registry);
}

/**
 * Validates policy text. Adapter options are checked with the configSchema each action kind's plugin declares
 * when a registry is given; without one (pure tests) they are kept as written and marked unvalidated.
 */
export function parsePolicy(text: string, file: string, registry?: Registry): Policy {
  try {
    return parse(text, file, registry);
  } catch (err) {
    // Recursion anywhere (the YAML composer, a schema walk) on input nested past the stack: a clear error, not a
    // stack trace. tooDeep catches what is merely absurd long before this.
    if (err instanceof RangeError)
      throw new PolicyError([{ file, line: 1, column: 1, path: '', message: TOO_DEEP_TO_READ }]);
    throw err;
  }
}

/** No policy key is nested more than a handful of levels; this leaves room for adapter options. */
export const MAX_POLICY_DEPTH = 32;
const TOO_DEEP_TO_READ = `YAML nested too deeply to read: a policy is at most ${MAX_POLICY_DEPTH} levels deep`;
/** Every problem is reported at once, up to this many (50,000 unknown keys are not 50,000 useful lines). */
export const MAX_REPORTED_ISSUES = 1000;

function parse(text: string, file: string, registry?: Registry): Policy {
  const counter = new LineCounter();
  // Duplicate keys are checked below in one pass: the yaml library's own check scans the map for every key.
  const doc = parseDocument(text, { lineCounter: counter, prettyErrors: false, uniqueKeys: false, strict: true });
  const at = (l: Located): PolicyIssue => {
    const pos = positionOf(doc, counter, l.path, l.atKey);
    return { file, line: pos.line, column: pos.column, path: formatPath(l.path), message: l.message };
  };
  if (doc.errors.length > 0) {
    throw new PolicyError(
      doc.errors.map((e) => {
        const pos = counter.linePos(e.pos[0]);
        const message = /call stack/i.test(e.message) ? TOO_DEEP_TO_READ : `YAML: ${e.message.split('\n')[0]}`;
        return { file, line: pos.line, column: pos.col, path: '', message };
      }),
    );
  }
  const structural = [...duplicateKeys(doc, counter), ...tooDeep(doc, counter)];
  if (structural.length > 0) throw new PolicyError(capIssues(structural.map((i) => ({ file, ...i }))));
  let raw: unknown;
  try {
    raw = doc.toJS({ maxAliasCount: 100 });
  } catch (err) {
    // Aliases are resolved here: an unknown anchor or an alias bomb. Point at the first alias.
    let at: { line: number; col: number } = { line: 1, col: 1 };
    visit(doc, {
      Alias(_, node) {
        if (node.range) at = counter.linePos(node.range[0]);
        return visit.BREAK;
      },
    });
    throw new PolicyError([
      { file, line: at.line, column: at.col, path: '', message: `YAML: ${(err as Error).message}` },
    ]);
  }
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
    throw new PolicyError([
      { file, line: 1, column: 1, path: '', message: 'a policy is a YAML map starting with `version: 1`' },
    ]);
  }
  const parsed = policySchema.safeParse(raw, { reportInput: true });
  if (!parsed.success)
    throw new PolicyError(capIssues(sortIssues(describeIssues(parsed.error.issues, policySchema).map(at))));

  const { policy, issues } = buildPolicy(parsed.data, file);
  if (registry)
    issues.push(
      ...checkAdapters(policy, registry),
      ...checkAlertChannels(policy.alerts, registry),
      ...checkExportSinks(policy.export, registry),
    );
  else for (const inst of allInstances(policy)) inst.validated = false;
  if (issues.length > 0) throw new PolicyError(capIssues(sortIssues(issues.map(at))));
  if (registry) policy.warnings.push(...adapterWarnings(policy, registry));
  return policy;
}

export function allInstances(policy: Policy): ActionInstance[] {
  return [
    ...policy.speakers.values(),
    ...policy.scrubbers.values(),
    ...policy.filters.values(),
    ...policy.nodeActions.values(),
  ];
}

const CAPABILITY_NEEDED = {
  speaker: ['flowspec', 'rtbh'],
  scrubber: ['divert'],
  filter: ['host-filter'],
  node: ['host-filter', 'shape'],
} as const;

/**
 * Each instance's options go through its adapter's configSchema; the paths of its issues are the policy's own,
 * since the options sit beside `adapter` in the YAML. Role and reach must agree: a speaker that only touches
 * this host, or an on-node action that would send something off the box, is an error.
 */
function checkAdapters(policy: Policy, registry: Registry): Located[] {
  const issues: Located[] = [];
  for (const inst of allInstances(policy)) {
    const path = [...inst.source];
    const implicit = path[0] === 'onNode';
    const adapterPath = implicit ? path : [...path, 'adapter'];
    const entry = registry.action(inst.adapter);
    if (!entry) {
      const hint = closest(inst.adapter, [...registry.actions.keys()]);
      // A near-miss of an installed kind is a typo; anything else may be a plugin this machine lacks (warned).
      if (hint && hint !== inst.adapter)
        issues.push({
          path: adapterPath,
          atKey: implicit,
          message: `no installed action kind "${inst.adapter}": did you mean "${hint}"?`,
        });
      continue;
    }
    const f = entry.factory;
    const role = inst.source[0] === 'filters' ? 'filter' : inst.role;
    const wantReach = role === 'node' ? 'host' : 'network';
    if (f.reach !== wantReach) {
      issues.push({
        path: adapterPath,
        atKey: implicit,
        message:
          role === 'node'
            ? `"${inst.adapter}" sends rules off this box (reach: network): use it as a speaker, scrubber or filter, not on-node${f.capabilities.includes('host-filter') ? " (a block-rule API goes under `filters`, named in a level's `via` with `do: { block }`)" : ''}`
            : `"${inst.adapter}" only changes this host (reach: host): use it in onNode/nodeActions, not as a ${role}`,
      });
    }
    const needed = CAPABILITY_NEEDED[role] as readonly string[];
    if (f.reach === wantReach && !f.capabilities.some((c) => needed.includes(c))) {
      const hint =
        role === 'scrubber' && f.capabilities.includes('host-filter')
          ? ": a block-rule API goes under `filters`, named in a level's `via` with `do: { block }`"
          : '';
      issues.push({
        path: adapterPath,
        atKey: implicit,
        message: `"${inst.adapter}" provides ${f.capabilities.join(', ') || 'nothing'}, not ${needed.join(' or ')}${hint}`,
      });
    }
    // `pop` is ft's key (the fleet routes by it); adapters that also want it declare it in their schema.
    const shape = (f.configSchema as { shape?: Record<string, unknown> }).shape;
    const input = { ...inst.options };
    if (inst.pop !== undefined && shape && 'pop' in shape) input.pop = inst.pop;
    // ft's ownership tag is written under our own AS unless the adapter is told otherwise.
    if (shape && 'tagAsn' in shape && input.tagAsn === undefined && policy.asn !== undefined) input.tagAsn = policy.asn;
    const r = f.configSchema.safeParse(input, { reportInput: true });
    if (r.success) {
      inst.options = (r.data ?? {}) as Record<string, unknown>;
      inst.validated = true;
    } else issues.push(...describeIssues(r.error.issues, f.configSchema, path));
  }
  for (const det of policy.detectors.values()) {
    const entry = registry.detector(det.kind);
    if (!entry) {
      const hint = closest(det.kind, [...registry.detectors.keys()]);
      if (hint && hint !== det.kind)
        issues.push({
          path: [...det.source, 'detector'],
          message: `no installed detector kind "${det.kind}": did you mean "${hint}"?`,
        });
      continue;
    }
    const r = entry.factory.configSchema.safeParse(det.options, { reportInput: true });
    if (r.success) {
      det.options = (r.data ?? {}) as Record<string, unknown>;
      det.validated = true;
    } else issues.push(...describeIssues(r.error.issues, entry.factory.configSchema, [...det.source]));
  }
  // Levels route FlowSpec/RTBH only to speakers that can carry them.
  for (const l of policy.escalation) {
    l.via.forEach((v, i) => {
      const inst = policy.speakers.get(v);
      const f = inst && registry.action(inst.adapter)?.factory;
      if (!f) return;
      for (const kind of ['flowspec', 'rtbh'] as const) {
        if (l.do[kind] && !f.capabilities.includes(kind)) {
          issues.push({
            path: ['escalation', l.index, 'via', i],
            message: `speaker "${v}" (${inst.adapter}) cannot carry ${kind === 'flowspec' ? 'FlowSpec' : 'RTBH'}`,
          });
        }
      }
      // Large communities on RTBH: only where the kind says it carries them (rtbhLargeCommunities).
      const large = (l.do.rtbh?.communities ?? []).filter((c) => c.split(':').length === 3);
      if (large.length > 0 && f.features?.rtbhLargeCommunities === false) {
        issues.push({
          path: ['escalation', l.index, 'do', 'rtbh', 'community'],
          message: `speaker "${v}" (${inst.adapter}) cannot carry large communities on RTBH (capability rtbhLargeCommunities): ${large.join(', ')}; use standard a:b communities`,
        });
      }
    });
  }
  issues.push(...hostStepIssues(policy, registry));
  return issues;
}

const STEP_NAME: Record<HostStep['type'], HostStepName> = {
  'syn-cookies': 'synCookies',
  hashlimit: 'hashlimit',
  'rate-limit': 'rateLimit',
  connlimit: 'connlimit',
  'drop-udp-source-ports': 'dropUdpSourcePorts',
  'drop-top-sources': 'dropTopSources',
  shape: 'shape',
};

/** On-node steps go only to kinds that declare them (features.hostSteps): ipset blocks sources, tc shapes. */
function hostStepIssues(policy: Policy, registry: Registry): Located[] {
  const issues: Located[] = [];
  for (const rule of policy.onNode) {
    for (const entry of rule.do) {
      const inst = policy.nodeActions.get(entry.via);
      const can = inst && registry.action(inst.adapter)?.factory.features?.hostSteps;
      if (!inst || !can) continue;
      for (const step of entry.steps) {
        const name = STEP_NAME[step.type];
        if (can.includes(name)) continue;
        issues.push({
          path: ['onNode', rule.index, 'do', entry.index, entry.via, name],
          atKey: true,
          message: `"${entry.via}" (${inst.adapter}) cannot do ${name} (capability hostSteps: ${can.join(', ') || 'none'})`,
        });
      }
    }
  }
  return issues;
}

/**
 * Two instances of this policy on one device (same gobgpd, same BIRD socket) share one owner tag, so each would
 * list the other's routes as its own and reconcile would withdraw them as orphans. The device is what the kind's
 * `features.endpoint` says for the instance's options.
 */
function sharedEndpoints(policy: Policy, registry: Registry): string[] {
  const byEndpoint = new Map<string, ActionInstance[]>();
  for (const inst of allInstances(policy)) {
    const f = registry.action(inst.adapter)?.factory;
    if (!inst.validated || !f?.features?.endpoint) continue;
    let endpoint: string | undefined;
    try {
      endpoint = f.features.endpoint(inst.options);
    } catch {
      continue;
    }
    if (endpoint === undefined) continue;
    const list = byEndpoint.get(endpoint) ?? [];
    list.push(inst);
    byEndpoint.set(endpoint, list);
  }
  return [...byEndpoint]
    .filter(([, list]) => list.length > 1)
    .map(
      ([endpoint, list]) =>
        `${list.map((i) => formatPath(i.source)).join(' and ')} are one device (${endpoint}): each would take the other's routes for its own and withdraw them; name it once and list it in every level's \`via\``,
    );
}

function adapterWarnings(policy: Policy, registry: Registry): string[] {
  const detectors = [...policy.detectors.values()]
    .filter((d) => !registry.detector(d.kind))
    .map(
      (d) => `${formatPath(d.source)}: detector kind "${d.kind}" is not installed here: its options are not validated`,
    );
  return detectors.concat(
    sharedEndpoints(policy, registry),
    allInstances(policy)
      .filter((i) => !registry.action(i.adapter))
      .map(
        (i) =>
          `${formatPath(i.source)}: action kind "${i.adapter}" is not installed here: its options are not validated and preview cannot show its exact commands`,
      ),
  );
}

function sortIssues(issues: PolicyIssue[]): PolicyIssue[] {
  return issues.sort((a, b) => a.line - b.line || a.column - b.column || a.path.localeCompare(b.path));
}

type Placed = Omit<PolicyIssue, 'file'>;

/** Keys written twice in one map (YAML 1.2 forbids it), found in one pass over each map. */
function duplicateKeys(doc: Document, counter: LineCounter): Placed[] {
  const out: Placed[] = [];
  visit(doc, {
    Map(_, map) {
      const seen = new Set<string>();
      for (const pair of map.items) {
        if (!isPair(pair)) continue;
        const key = pair.key;
        const text = isScalar(key) ? `s:${String(key.value)}` : `c:${String(key)}`;
        if (!seen.has(text)) {
          seen.add(text);
          continue;
        }
        const pos = counter.linePos((key as { range?: [number, number, number] } | null)?.range?.[0] ?? 0);
        out.push({ line: pos.line, column: pos.col, path: '', message: 'YAML: Map keys must be unique' });
      }
    },
  });
  return out;
}

/** The first node nested deeper than MAX_POLICY_DEPTH, found without recursion (the input may be 800 deep). */
function tooDeep(doc: Document, counter: LineCounter): Placed[] {
  const stack: { node: unknown; depth: number }[] = [{ node: doc.contents, depth: 0 }];
  while (stack.length > 0) {
    const { node, depth } = stack.pop() as { node: unknown; depth: number };
    if (!isCollection(node)) continue;
    if (depth >= MAX_POLICY_DEPTH) {
      const pos = counter.linePos(node.range?.[0] ?? 0);
      return [
        {
          line: pos.line,
          column: pos.col,
          path: '',
          message: `nested more than ${MAX_POLICY_DEPTH} levels deep: no policy key is (check the indentation or the brackets)`,
        },
      ];
    }
    for (const item of node.items as unknown[]) {
      if (isPair(item)) {
        stack.push({ node: item.value, depth: depth + 1 });
        if (isMap(node) && isCollection(item.key)) stack.push({ node: item.key, depth: depth + 1 });
      } else stack.push({ node: item, depth: depth + 1 });
    }
  }
  return [];
}

function capIssues<T extends PolicyIssue>(issues: T[]): T[] {
  if (issues.length <= MAX_REPORTED_ISSUES) return issues;
  const shown = issues.slice(0, MAX_REPORTED_ISSUES);
  const rest = issues.length - MAX_REPORTED_ISSUES;
  const last = shown[shown.length - 1] as T;
  shown.push({
    ...last,
    path: '',
    message: `and ${rest} more problem${rest === 1 ? '' : 's'} like the ones above (the first ${MAX_REPORTED_ISSUES} are listed)`,
  });
  return shown;
}
