// PagerDuty Events API v2 (developer.pagerduty.com "Send an Alert Event"): POST /v2/enqueue, no auth header, the
// integration key is routing_key in the body. Required: routing_key, event_action (trigger|acknowledge|resolve),
// and for trigger payload.summary (≤1024), payload.source, payload.severity (critical|error|warning|info). 202
// {"status":"success","message":"Event processed","dedup_key":…}; 400 {"status":"invalid event","message":"Event
// object is invalid","errors":[…]}; 429 and 5xx are to be retried. This fake also keeps the alerts the way PagerDuty
// does: one per dedup_key, re-triggers deduplicated, acknowledge/resolve of an unknown key dropped.
import { FakeServer, json, type Answer, type Recorded } from './http.js';

export const PD_KEY = 'R0UTINGKEY0123456789abcdefABCDEF';

export interface PdAlert {
  dedupKey: string;
  status: 'triggered' | 'acknowledged' | 'resolved';
  triggers: number;
  summary: string;
}

export function pagerdutyFake() {
  const alerts = new Map<string, PdAlert>();
  const handle = (r: Recorded): Answer => {
    const b = JSON.parse(r.body) as {
      routing_key?: string;
      event_action?: string;
      dedup_key?: string;
      payload?: Record<string, unknown>;
    };
    const errors: string[] = [];
    if (typeof b.routing_key !== 'string' || b.routing_key.length !== 32) errors.push("'routing_key' is invalid");
    if (!['trigger', 'acknowledge', 'resolve'].includes(String(b.event_action)))
      errors.push("'event_action' is invalid");
    if (b.event_action === 'trigger') {
      const p = b.payload ?? {};
      if (typeof p.summary !== 'string' || p.summary.length > 1024)
        errors.push("'payload.summary' is missing or invalid");
      if (typeof p.source !== 'string') errors.push("'payload.source' is missing");
      if (!['critical', 'error', 'warning', 'info'].includes(String(p.severity)))
        errors.push("'payload.severity' is invalid");
    } else if (!b.dedup_key) errors.push("'dedup_key' is required for acknowledge and resolve");
    if ((b.dedup_key?.length ?? 0) > 255) errors.push("'dedup_key' is too long");
    if (errors.length) return json(400, { status: 'invalid event', message: 'Event object is invalid', errors });
    const key = b.dedup_key as string;
    const a = alerts.get(key);
    if (b.event_action === 'trigger') {
      if (!a || a.status === 'resolved')
        alerts.set(key, { dedupKey: key, status: 'triggered', triggers: 1, summary: String(b.payload?.summary) });
      else a.triggers++;
    } else if (a && a.status !== 'resolved') a.status = b.event_action === 'resolve' ? 'resolved' : 'acknowledged';
    return json(202, { status: 'success', message: 'Event processed', dedup_key: key });
  };
  return Object.assign(new FakeServer('pagerduty', handle, (r) => r.method === 'POST' && r.path === '/v2/enqueue'), {
    alerts,
  });
}
