import {
  canonicalJson,
  fromReport,
  toReport,
  type EventData,
  type EventType,
  type FtEvent,
  type Rule,
  type RuleId,
} from '@ft/sdk';
import type { Reason } from '../model/plan.js';
import type { AuditQuery, AuditRecord, RuleRecord, RuleStore } from '../state/store.js';
import { ruleFacts, type RuleFacts } from './facts.js';
import { draft, readForward, type EventAppender, type EventDraft, type EventSource } from './log.js';

/**
 * The audit trail is a view of the event stream: `ft audit` and reconcile (which closes ops a crash interrupted)
 * read events and see them as the audit records they always saw. Every event type maps to a record; the op
 * events (op.started and the outcome carrying its op id) keep the two-phase start/end shape.
 */
export type AuditViewRecord = Omit<AuditRecord, 'op'> & {
  op: AuditRecord['op'] | 'replace' | EventType;
  seq?: number;
};

const iso = (ms: number) => new Date(ms).toISOString();

export function auditView(e: FtEvent): AuditViewRecord {
  const base = { at: iso(e.at), tenant: e.tenant, seq: e.seq };
  const facts = (d: Partial<RuleFacts>) => ({
    ...(d.ruleId ? { ruleId: d.ruleId as RuleId } : {}),
    ...(d.rule ? { rule: d.rule } : {}),
    ...(d.via ? { via: d.via } : {}),
    ...(d.incidentId ? { incidentId: d.incidentId } : {}),
    ...(d.plannedBy ? { plannedBy: d.plannedBy } : {}),
  });
  const end = (
    opId: string | undefined,
    op: AuditViewRecord['op'],
    d: Partial<RuleFacts>,
    rest: Partial<AuditRecord>,
  ) => ({
    ...base,
    id: opId ?? e.id,
    phase: opId ? ('end' as const) : ('event' as const),
    op,
    ...(d.ruleId ? { ruleId: d.ruleId as RuleId } : {}),
    ...(d.incidentId ? { incidentId: d.incidentId } : {}),
    ...(d.plannedBy ? { plannedBy: d.plannedBy } : {}),
    // An outcome with no start record of its own (a RuleBook event) carries the whole rule, like an event.
    ...(opId ? {} : facts(d)),
    ...rest,
  });
  switch (e.type) {
    case 'op.started': {
      const d = e.data;
      return {
        ...base,
        id: d.opId,
        phase: 'start',
        op: d.op,
        ...facts(d),
        ...(d.mode ? { mode: d.mode } : {}),
        ...(d.reason ? { reason: d.reason as Reason } : {}),
        rendered: d.rendered,
        ...(d.rpki ? { rpki: d.rpki } : {}),
        ...(d.message ? { message: d.message } : {}),
      };
    }
    case 'op.interrupted': {
      const d = e.data;
      return {
        ...base,
        id: d.opId,
        phase: 'end',
        op: d.op,
        ...(d.ruleId ? { ruleId: d.ruleId as RuleId } : {}),
        ...(d.incidentId ? { incidentId: d.incidentId } : {}),
        plannedBy: d.plannedBy ?? 'unknown',
        outcome: 'interrupted',
        message: d.message,
      };
    }
    case 'rule.added':
      return end(e.data.opId, 'add', e.data, {
        outcome: e.data.outcome,
        results: e.data.results,
        durationMs: e.data.durationMs,
        ...(e.data.message ? { message: e.data.message } : {}),
      });
    case 'rule.refreshed':
      return end(e.data.opId, 'refresh', e.data, {
        outcome: e.data.outcome,
        ...(e.data.results ? { results: e.data.results } : {}),
        ...(e.data.durationMs !== undefined ? { durationMs: e.data.durationMs } : {}),
        message: e.data.message ?? `TTL refreshed to ${iso(e.data.expiresAt)}`,
      });
    case 'rule.withdrawn':
      return end(e.data.opId, 'withdraw', e.data, {
        outcome: e.data.outcome,
        results: e.data.results,
        durationMs: e.data.durationMs,
        ...(e.data.opId ? {} : { message: e.data.message ?? e.data.reason }),
      });
    case 'rule.failed':
      return end(e.data.opId, e.data.op, e.data, {
        outcome: e.data.outcome,
        results: e.data.results,
        durationMs: e.data.durationMs,
        ...(e.data.message ? { message: e.data.message } : {}),
      });
    case 'rule.refused':
    case 'rule.at_cap':
      return {
        ...base,
        id: e.id,
        phase: 'event',
        op: 'add',
        mode: 'enforce',
        ...facts(e.data),
        ...(e.data.reason ? { reason: e.data.reason as Reason } : {}),
        ...(e.data.rendered ? { rendered: e.data.rendered } : {}),
        ...('rpki' in e.data && e.data.rpki ? { rpki: e.data.rpki } : {}),
        outcome: 'skipped',
        message: e.data.message,
      };
    case 'rule.withdraw_held':
      return {
        ...base,
        id: e.id,
        phase: 'event',
        op: 'withdraw',
        mode: 'enforce',
        ...facts(e.data),
        ...(e.data.reason ? { reason: e.data.reason as Reason } : {}),
        outcome: 'skipped',
        message: e.data.message,
      };
    case 'rule.previewed':
      return {
        ...base,
        id: e.id,
        phase: 'event',
        op: 'preview',
        mode: 'preview',
        ...facts(e.data),
        ...(e.data.reason ? { reason: e.data.reason as Reason } : {}),
        rendered: e.data.rendered,
        ...(e.data.rpki ? { rpki: e.data.rpki } : {}),
        message: e.data.message,
      };
    case 'rule.forgotten':
      return {
        ...base,
        id: e.id,
        phase: 'event',
        op: 'forget',
        ...facts(e.data),
        outcome: 'ok',
        message: e.data.message,
      };
    case 'rule.orphan_withdrawn':
      return {
        ...base,
        id: e.id,
        phase: 'event',
        op: 'reconcile',
        plannedBy: 'reconcile',
        ...(e.data.ruleId ? { ruleId: e.data.ruleId as RuleId } : {}),
        via: [e.data.adapter],
        outcome: e.data.outcome,
        results: e.data.results,
        message: e.data.message,
      };
    case 'rule.rolled_back':
      return {
        ...base,
        id: e.id,
        phase: 'event',
        op: 'alert',
        ...facts(e.data),
        plannedBy: 'lifecycle:collateral',
        message: e.data.message,
      };
    case 'incident.opened':
    case 'incident.resolved': {
      const i = e.data.incident;
      return {
        ...base,
        id: e.id,
        phase: 'event',
        op: 'incident',
        incidentId: i.id,
        incident: toReport(i),
        message: `incident ${e.type === 'incident.opened' ? 'open' : 'resolve'}: ${i.family} against ${String(i.target)}`,
      };
    }
    case 'audit.recorded': {
      const d = e.data;
      return {
        ...base,
        id: e.id,
        phase: d.phase,
        op: d.op as AuditRecord['op'],
        ...(d.outcome ? { outcome: d.outcome } : {}),
        ...(d.ruleId ? { ruleId: d.ruleId as RuleId } : {}),
        ...(d.incidentId ? { incidentId: d.incidentId } : {}),
        ...(d.plannedBy ? { plannedBy: d.plannedBy } : {}),
        ...(d.via ? { via: d.via } : {}),
        ...(d.message ? { message: d.message } : {}),
      };
    }
    default: {
      // Every other event is a row of its own: its type as the op, its facts as the detail.
      const d = e.data as Partial<RuleFacts> & { message?: string; incident?: { id: string } };
      return {
        ...base,
        id: e.id,
        phase: 'event',
        op: e.type,
        ...facts(d),
        ...(d.incident ? { incidentId: d.incident.id } : {}),
        message: d.message ?? summarize(e),
      };
    }
  }
}

/** One line for events without a message of their own. */
export function summarize(e: FtEvent): string {
  switch (e.type) {
    case 'incident.escalated':
    case 'incident.deescalated':
      return `level ${e.data.previousLevel} → ${e.data.level}: ${e.data.incident.family} against ${String(e.data.incident.target)}${e.data.reason ? ` (${e.data.reason})` : ''}`;
    case 'incident.updated':
      return `${e.data.changed.join(', ')} changed (${e.data.coalesced} updates): ${e.data.incident.family} against ${String(e.data.incident.target)}`;
    case 'rule.replaced':
      return `${e.data.replacedRuleId} (${e.data.replacedAction}) replaced by ${e.data.ruleId} (${e.data.action})`;
    case 'speaker.down':
      return `${e.data.speaker} ${e.data.status}${e.data.detail ? `: ${e.data.detail}` : ''}`;
    case 'speaker.up':
      return `${e.data.speaker} up${e.data.detail ? `: ${e.data.detail}` : ''}`;
    case 'rpki.stale':
      return e.data.detail;
    case 'rpki.fresh':
      return e.data.detail ?? 'RPKI data fresh';
    case 'rtr.down':
      return `RTR cache ${e.data.cache} down: ${e.data.error}`;
    case 'rtr.up':
      return `RTR cache ${e.data.cache} up`;
    case 'detector.silent':
      return `${e.data.detector} silent for ${Math.round(e.data.silentForMs / 1000)} s${e.data.detail ? `: ${e.data.detail}` : ''}`;
    case 'detector.resumed':
      return `${e.data.detector} delivers samples again`;
    case 'exporter.silent':
    case 'exporter.degraded':
    case 'exporter.ok':
      return `${e.data.detector}: exporter ${e.data.exporter} ${e.type.slice('exporter.'.length)}${e.data.detail ? `: ${e.data.detail}` : ''}`;
    case 'operator.action':
      return `${e.data.who} ${e.data.action}${e.data.ruleIds.length ? ` ${e.data.ruleIds.join(', ')}` : ''} (through ${e.data.through})${e.data.detail ? `: ${e.data.detail}` : ''}`;
    case 'subscriber.lost_events':
      return `subscriber ${e.data.subscriber} lost ${e.data.lost} events (${e.data.fromSeq}–${e.data.toSeq}) to retention`;
    default:
      return e.type;
  }
}

export function matchesAudit(r: AuditViewRecord, q: AuditQuery): boolean {
  const t = Date.parse(r.at);
  if (q.since && t < q.since.getTime()) return false;
  if (q.until && t > q.until.getTime()) return false;
  if (q.ruleId && r.ruleId !== q.ruleId) return false;
  if (q.incidentId && r.incidentId !== q.incidentId) return false;
  return true;
}

/**
 * The audit query over the stream (and, before it, the audit segments an older ft wrote, so an upgrade keeps its
 * history). `since` reads only the tail: events are in time order per log, so reading starts at the first segment
 * that may hold anything that new.
 */
export async function queryAuditView(
  source: EventSource,
  q: AuditQuery,
  legacy?: (q: AuditQuery) => Promise<AuditRecord[]>,
): Promise<AuditViewRecord[]> {
  const out: AuditViewRecord[] = legacy ? await legacy({ ...q, limit: undefined }) : [];
  for await (const { events } of readForward(source, q.since ? await source.seqAt(q.since.getTime()) : 1)) {
    for (const e of events) {
      const r = auditView(e);
      if (matchesAudit(r, q)) out.push(r);
    }
  }
  return q.limit !== undefined ? out.slice(Math.max(0, out.length - q.limit)) : out;
}

// ── The bridge: audit records written by today's executor/lifecycle/reconcile become typed events ─────────────

export interface BridgeOptions {
  /** The live-rule cap of a tenant (rule.at_cap names it). */
  cap?: (tenant: string) => number;
  /** POP of an action instance (fleet). */
  popOf?: (instance: string) => string | undefined;
  /** Incident records: 'map' (default) turns them into incident.opened/resolved; 'drop' when a tracker emits those. */
  incidents?: 'map' | 'drop';
}

/**
 * Turns the audit records the executor, the lifecycle and reconcile write into the typed events they describe.
 * It remembers each op's start (its rule, reason, commands) to fill in the outcome, and reads the store for what a
 * record leaves out (the new expiry). Only the wording of records written by this same code base is read.
 */
export class AuditBridge {
  private readonly starts = new Map<string, AuditRecord>();
  private readonly recentRules = new Map<string, { rule: Rule; via: string[] }>();

  constructor(
    private readonly store: Pick<RuleStore, 'rule'>,
    private readonly opts: BridgeOptions = {},
  ) {}

  private remember(rule: Rule | undefined, via: string[] | undefined): void {
    if (!rule) return;
    this.recentRules.delete(rule.id);
    this.recentRules.set(rule.id, { rule, via: via ?? [] });
    if (this.recentRules.size > 10_000) this.recentRules.delete(this.recentRules.keys().next().value as string);
  }

  private async factsFor(r: AuditRecord, start?: AuditRecord): Promise<{ facts?: RuleFacts; rec?: RuleRecord }> {
    const rec = r.ruleId ? await this.store.rule(r.ruleId) : undefined;
    const known = r.ruleId ? this.recentRules.get(r.ruleId) : undefined;
    const rule = r.rule ?? start?.rule ?? rec?.rule ?? known?.rule;
    if (!rule) return rec ? { rec } : {};
    const via = r.via ?? start?.via ?? rec?.via ?? known?.via ?? [];
    const pops = this.opts.popOf
      ? [...new Set(via.map((v) => this.opts.popOf?.(v)).filter((p): p is string => !!p))]
      : [];
    const incidentId = r.incidentId ?? start?.incidentId ?? rec?.incidentId;
    const plannedBy = r.plannedBy ?? start?.plannedBy;
    return {
      facts: ruleFacts(rule, {
        via,
        ...(pops.length ? { pops } : {}),
        ...(incidentId ? { incidentId } : {}),
        ...(plannedBy ? { plannedBy } : {}),
      }),
      ...(rec ? { rec } : {}),
    };
  }

  /**
   * Today's executor changes a route's action by adding the new rule and then withdrawing the old one (make
   * before break). When the one withdrawn shares its wire route with a live rule of the same incident that went in
   * meanwhile, that is the route's action replaced: say so.
   */
  private async replacement(w: EventData<'rule.withdrawn'>): Promise<EventDraft | undefined> {
    if (!w.incidentId) return undefined;
    for (const { rule, via } of [...this.recentRules.values()].reverse()) {
      if (rule.id === w.ruleId || !sameRoute(rule, w.rule) || !via.some((v) => w.via.includes(v))) continue;
      const rec = await this.store.rule(rule.id);
      if (rec?.phase !== 'live' || rec.incidentId !== w.incidentId) continue;
      return draft('rule.replaced', {
        ...ruleFacts(rec.rule, {
          via: rec.via,
          incidentId: w.incidentId,
          ...(w.plannedBy ? { plannedBy: w.plannedBy } : {}),
        }),
        replacedRuleId: w.ruleId,
        replacedAction: w.action,
        replacedLevel: w.level,
      });
    }
    return undefined;
  }

  async toDrafts(records: readonly AuditRecord[]): Promise<EventDraft[]> {
    const out: EventDraft[] = [];
    for (const r of records) {
      const d = await this.one(r);
      const extra =
        d?.type === 'rule.withdrawn' && d.data.outcome !== 'failed' ? await this.replacement(d.data) : undefined;
      for (const x of [d, extra])
        if (x) out.push({ ...x, at: Date.parse(r.at), ...(r.tenant ? { tenant: r.tenant } : {}) });
    }
    return out;
  }

  private async one(r: AuditRecord): Promise<EventDraft | undefined> {
    this.remember(r.rule, r.via);
    const reason = r.reason === undefined ? undefined : typeof r.reason === 'string' ? { summary: r.reason } : r.reason;
    const name = r.op as string;
    const op = name === 'add' || name === 'replace' || name === 'refresh' || name === 'withdraw' ? name : undefined;
    if (r.phase === 'start' && op) {
      this.starts.set(r.id, r);
      if (this.starts.size > 10_000) this.starts.delete(this.starts.keys().next().value as string);
      const { facts } = await this.factsFor(r);
      if (facts)
        return draft('op.started', {
          opId: r.id,
          op,
          ...(r.mode ? { mode: r.mode } : {}),
          ...facts,
          ...(reason ? { reason } : {}),
          rendered: r.rendered ?? [],
          ...(r.rpki ? { rpki: r.rpki } : {}),
          ...(r.message ? { message: r.message } : {}),
        });
    }
    if (r.phase === 'end' && r.outcome === 'interrupted' && op)
      return draft('op.interrupted', {
        opId: r.id,
        op,
        ...(r.ruleId ? { ruleId: r.ruleId } : {}),
        ...(r.incidentId ? { incidentId: r.incidentId } : {}),
        ...(r.plannedBy ? { plannedBy: r.plannedBy } : {}),
        message: r.message ?? 'interrupted',
      });
    if (r.phase === 'end' && op) {
      const start = this.starts.get(r.id);
      this.starts.delete(r.id);
      const { facts, rec } = await this.factsFor(r, start);
      if (facts) {
        const common = { opId: r.id, ...facts, results: r.results ?? [], durationMs: r.durationMs ?? 0 };
        const outcome = r.outcome ?? 'ok';
        if (outcome === 'failed') {
          const retry = rec
            ? Math.min(...Object.values(rec.adapters).map((a) => (a.retryAt ? Date.parse(a.retryAt) : Infinity)))
            : Infinity;
          return draft('rule.failed', {
            ...common,
            op,
            outcome,
            ...(Number.isFinite(retry) ? { retryAt: retry } : {}),
          });
        }
        if (op === 'withdraw')
          return draft('rule.withdrawn', {
            ...common,
            outcome,
            reason:
              (start?.reason === undefined
                ? undefined
                : typeof start.reason === 'string'
                  ? start.reason
                  : start.reason.summary) ?? 'withdrawn',
          });
        const expiresAt = rec ? Date.parse(rec.expiresAt) : Date.parse(r.at);
        if (op === 'add' || op === 'replace' || start?.message?.startsWith('retrying'))
          return draft('rule.added', {
            ...common,
            outcome,
            expiresAt,
            ...(start?.message?.startsWith('retrying') ? { retried: true } : {}),
          });
        return draft('rule.refreshed', { ...common, outcome, expiresAt });
      }
    }
    if (r.phase === 'event') {
      const { facts, rec } = await this.factsFor(r);
      const message = r.message ?? '';
      if (r.op === 'incident' && r.incident) {
        if (this.opts.incidents === 'drop') return undefined;
        const incident = fromReport(r.incident);
        return incident.state === 'resolved' || /^incident resolve/.test(message)
          ? draft('incident.resolved', {
              incident,
              durationMs: Math.max(0, (incident.resolvedAt ?? Date.parse(r.at)) - incident.startedAt),
            })
          : draft('incident.opened', { incident });
      }
      if (facts) {
        if (r.op === 'preview') {
          const would = /would (add|refresh|withdraw)/.exec(message)?.[1] as 'add' | 'refresh' | 'withdraw' | undefined;
          return draft('rule.previewed', {
            op: would ?? 'add',
            ...facts,
            ...(reason ? { reason } : {}),
            rendered: r.rendered ?? [],
            ...(r.rpki ? { rpki: r.rpki } : {}),
            message,
          });
        }
        if (r.op === 'refresh' && r.outcome === 'ok') {
          const to = /TTL refreshed to (\S+)/.exec(message)?.[1];
          const expiresAt =
            to && !Number.isNaN(Date.parse(to)) ? Date.parse(to) : rec ? Date.parse(rec.expiresAt) : Date.parse(r.at);
          return draft('rule.refreshed', { ...facts, outcome: 'ok', expiresAt, message });
        }
        if (r.op === 'withdraw' && r.outcome === 'skipped') {
          const list = /its replacement (.*) is not installed/.exec(message)?.[1];
          return draft('rule.withdraw_held', {
            ...facts,
            replacements: list ? list.split(', ') : [],
            message,
            ...(reason ? { reason } : {}),
          });
        }
        if (r.op === 'add' && r.outcome === 'skipped') {
          const cap = /at its cap of (\d+) live rules/.exec(message);
          const extra = {
            message,
            ...(reason ? { reason } : {}),
            ...(r.rendered?.length ? { rendered: r.rendered } : {}),
          };
          if (cap) return draft('rule.at_cap', { ...facts, cap: Number(cap[1]), ...extra });
          const rail = /collateral damage/.test(message)
            ? 'collateral-suppressed'
            : /no action instance|names no action/.test(message)
              ? 'no-action'
              : 'refused';
          return draft('rule.refused', { ...facts, rail, ...extra, ...(r.rpki ? { rpki: r.rpki } : {}) });
        }
        if (r.op === 'forget') {
          const states = /adapter states: ([^)]*)\)/.exec(message)?.[1] ?? '';
          const adapterStates = Object.fromEntries(
            states
              .split(', ')
              .map((kv) => kv.split('='))
              .filter((kv): kv is [string, string] => kv.length === 2),
          );
          return draft('rule.forgotten', { ...facts, adapterStates, message });
        }
        if (r.op === 'alert') {
          const m = /fell ([\d.]+)% \(from ([\d.eE+-]+) to ([\d.eE+-]+)\).*allows \(([\d.]+)%\)/.exec(message);
          if (m)
            return draft('rule.rolled_back', {
              ...facts,
              legitBefore: Number(m[2]),
              legitAfter: Number(m[3]),
              drop: Number(m[1]) / 100,
              allowed: Number(m[4]) / 100,
              message,
            });
        }
      }
      if (r.op === 'reconcile' && r.via?.[0]) {
        const m = /^withdrew (.*) \(([^()]*)\): installed and tagged as ours/.exec(message);
        return draft('rule.orphan_withdrawn', {
          adapter: r.via[0],
          nativeId: m?.[2] ?? '',
          description: m?.[1] ?? message,
          ...(r.ruleId ? { ruleId: r.ruleId } : {}),
          outcome: r.outcome === 'ok' ? 'ok' : 'failed',
          results: r.results ?? [],
          message,
        });
      }
    }
    return draft('audit.recorded', {
      op: r.op,
      phase: r.phase,
      ...(r.outcome ? { outcome: r.outcome } : {}),
      ...(r.ruleId ? { ruleId: r.ruleId } : {}),
      ...(r.incidentId ? { incidentId: r.incidentId } : {}),
      ...(r.plannedBy ? { plannedBy: r.plannedBy } : {}),
      ...(r.via ? { via: r.via } : {}),
      ...(r.message ? { message: r.message } : {}),
    });
  }
}

/**
 * The RuleStore the Runner and Executor are given: the same store, except that its audit trail is the event
 * stream (appendAudit resolves once the events are durable, so intent is still recorded before any action is
 * touched; queryAudit reads the view). Rules, incidents and slots are untouched.
 */
export function auditThroughEvents<S extends RuleStore>(
  store: S,
  stream: EventAppender & { source: EventSource },
  opts: BridgeOptions = {},
): S {
  const bridge = new AuditBridge(store, opts);
  const legacy = (q: AuditQuery) => store.queryAudit(q).catch(() => [] as AuditRecord[]);
  return new Proxy(store, {
    get(target, prop, receiver) {
      if (prop === 'appendAudit')
        return async (records: AuditRecord[]) => {
          const drafts = await bridge.toDrafts(records);
          if (drafts.length > 0) await stream.append(drafts);
        };
      if (prop === 'queryAudit')
        return (q: AuditQuery) => queryAuditView(stream.source, q, legacy) as Promise<AuditRecord[]>;
      const v = Reflect.get(target, prop, receiver) as unknown;
      return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
    },
  });
}

/**
 * One route on the wire: FlowSpec rules with the same match (the NLRI; the action is not part of it), RTBH or
 * divert of the same prefix. (The RuleBook keys its store by this identity; this is the bridge's reading of it.)
 */
export function sameRoute(a: Rule, b: Rule): boolean {
  if (a.kind !== b.kind || a.tenant !== b.tenant) return false;
  if (a.kind === 'flowspec' && b.kind === 'flowspec') return canonicalJson(a.match) === canonicalJson(b.match);
  if (a.kind === 'divert' && b.kind === 'divert') return a.provider === b.provider && a.target.equals(b.target);
  if (a.kind === 'rtbh') return a.target.equals(b.target);
  return false;
}
