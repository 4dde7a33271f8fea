import type { Incident } from '@ft/sdk';
import type { Plan } from '../model/plan.js';
import type { RuleStore } from '../state/store.js';
import { auditThroughEvents } from './audit.js';
import { IncidentEvents, type EngineIncidentEvent } from './incidents.js';
import type { EventAppender, EventLogger, EventSource } from './log.js';

export interface RunEventsOptions {
  /** The store the Runner would otherwise get. */
  store: RuleStore;
  stream: EventAppender & { source: EventSource };
  /** The detection engine: incident events come from it. */
  engine?: { on(listener: (e: EngineIncidentEvent) => void): () => void };
  cap?: (tenant: string) => number;
  popOf?: (instance: string) => string | undefined;
  logger?: EventLogger;
  now?: () => number;
  /** incident.updated at most this often per incident (default 10 s). */
  coalesceMs?: number;
}

/**
 * What `ft run` (and the in-process loop tests) put around the Runner so that everything it does is on the event
 * stream: the store whose audit trail is the stream, and the incident tracker fed by the engine and by each plan.
 * Register it before the Runner starts, so an incident's "opened" comes before anything planned for it.
 */
export function runEvents(o: RunEventsOptions) {
  const store = auditThroughEvents(o.store, o.stream, {
    ...(o.cap ? { cap: o.cap } : {}),
    ...(o.popOf ? { popOf: o.popOf } : {}),
    incidents: o.engine ? 'drop' : 'map',
  });
  const incidents = new IncidentEvents({
    events: o.stream,
    ...(o.logger ? { logger: o.logger } : {}),
    ...(o.now ? { now: o.now } : {}),
    ...(o.coalesceMs !== undefined ? { coalesceMs: o.coalesceMs } : {}),
    liveRules: async (id) =>
      (await store.rules())
        .filter((r) => r.phase === 'live' && r.incidentId === id)
        .map((r) => ({ rule: r.rule, via: r.via })),
  });
  const off = o.engine?.on((e) => incidents.onEngine(e));
  return {
    store,
    incidents,
    onPlan: (incident: Incident, plan: Plan) => void incidents.onPlan(incident, plan),
    /** Coalesced incident updates whose window passed (call every second). */
    tick: () => incidents.tick(),
    idle: () => incidents.idle(),
    close: () => off?.(),
  };
}
