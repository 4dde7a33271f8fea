// Splunk HTTP Event Collector (Splunk docs "Format events for HTTP Event Collector", "HTTP Event Collector REST
// API endpoints" and "Troubleshoot HTTP Event Collector": the code table below): POST /services/collector/event
// with `Authorization: Splunk <token>`; the body is event objects concatenated (no array, no commas), each with
// `event` required (not blank) and optional time/host/source/sourcetype/index/fields. Success 200
// {"text":"Success","code":0}; with indexer acknowledgement on for the token, every request needs the
// X-Splunk-Request-Channel header (else 400 code 10) and the answer carries an ackId, which
// POST /services/collector/ack?channel=… {"acks":[…]} reports as {"acks":{"id":true|false}}.
// Codes: 2 token required (401), 3 invalid authorization (401), 4 invalid token (403), 1 token disabled (403),
// 5 no data (400), 6 invalid data format (400), 7 incorrect index (400), 8 internal error (500), 9 server busy (503),
// 10 data channel missing (400), 12 event field required (400), 13 event field blank (400).
import { FakeServer, json, type Answer, type Recorded } from './http.js';

export const HEC_TOKEN = '00000000-0000-4000-8000-00000000f7f7';

export interface HecEvent {
  time?: number;
  host?: string;
  source?: string;
  sourcetype?: string;
  index?: string;
  event: Record<string, unknown>;
  fields?: Record<string, unknown>;
}

/** Splits concatenated JSON objects ({…}{…}) as HEC does. */
export function splitConcatenated(body: string): unknown[] {
  const out: unknown[] = [];
  let depth = 0;
  let start = -1;
  let inStr = false;
  for (let i = 0; i < body.length; i++) {
    const c = body[i];
    if (inStr) {
      if (c === '\\') i++;
      else if (c === '"') inStr = false;
      continue;
    }
    if (c === '"') inStr = true;
    else if (c === '{') {
      if (depth === 0) start = i;
      depth++;
    } else if (c === '}') {
      depth--;
      if (depth === 0) out.push(JSON.parse(body.slice(start, i + 1)));
    }
  }
  if (depth !== 0) throw new Error('unbalanced');
  return out;
}

export class HecFake extends FakeServer {
  readonly events: HecEvent[] = [];
  ack = false;
  indexes = new Set(['main', 'netsec']);
  private nextAck = 1;
  /** ackId → the events it stands for; indexed once `index(ackId)` is called (or at once with autoIndex). */
  readonly pendingAcks = new Map<number, HecEvent[]>();
  autoIndex = true;

  constructor() {
    const me: { h?: (r: Recorded) => Answer } = {};
    super(
      'splunk-hec',
      (r) => (me.h as (r: Recorded) => Answer)(r),
      (r) => r.method === 'POST' && r.path.startsWith('/services/collector/'),
    );
    me.h = (r) => this.handleHec(r);
  }

  private handleHec(r: Recorded): Answer {
    const auth = String(r.headers.authorization ?? '');
    if (!auth) return json(401, { text: 'Token is required', code: 2 });
    if (!auth.startsWith('Splunk ')) return json(401, { text: 'Invalid authorization', code: 3 });
    if (auth.slice(7) !== HEC_TOKEN) return json(403, { text: 'Invalid token', code: 4 });
    const channel = r.headers['x-splunk-request-channel'];
    if (r.path === '/services/collector/ack') {
      if (!this.ack) return json(400, { text: 'ACK is disabled', code: 14 });
      const ids = (JSON.parse(r.body) as { acks: number[] }).acks;
      return json(200, { acks: Object.fromEntries(ids.map((id) => [String(id), this.acked(id)])) });
    }
    if (r.path !== '/services/collector/event') return json(404, { text: 'not found', code: 404 });
    if (this.ack && !channel) return json(400, { text: 'Data channel is missing', code: 10 });
    if (r.body.trim() === '') return json(400, { text: 'No data', code: 5 });
    let objs: unknown[];
    try {
      objs = splitConcatenated(r.body);
    } catch {
      return json(400, { text: 'Invalid data format', code: 6, 'invalid-event-number': 0 });
    }
    for (const [n, o] of objs.entries()) {
      const e = o as Partial<HecEvent>;
      if (!('event' in e)) return json(400, { text: 'Event field is required', code: 12, 'invalid-event-number': n });
      if ((e.event as unknown) === '' || e.event === null)
        return json(400, { text: 'Event field cannot be blank', code: 13, 'invalid-event-number': n });
      if (e.index && !this.indexes.has(e.index))
        return json(400, { text: 'Incorrect index', code: 7, 'invalid-event-number': n });
    }
    if (!this.ack) {
      this.events.push(...(objs as HecEvent[]));
      return json(200, { text: 'Success', code: 0 });
    }
    const id = this.nextAck++;
    this.pendingAcks.set(id, objs as HecEvent[]);
    if (this.autoIndex) this.indexAck(id);
    return json(200, { text: 'Success', code: 0, ackId: id });
  }

  indexAck(id: number): void {
    const evs = this.pendingAcks.get(id);
    if (!evs) return;
    this.pendingAcks.delete(id);
    this.events.push(...evs);
    this.indexedAcks.add(id);
  }
  private readonly indexedAcks = new Set<number>();
  private acked(id: number): boolean {
    return this.indexedAcks.has(id);
  }
}
