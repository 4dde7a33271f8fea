// Elasticsearch `_bulk` (Elastic docs "Bulk API"): POST /_bulk, Content-Type application/x-ndjson, action and
// document lines, a final newline required; data streams accept only `create`. The answer is 200 even when items
// fail: {"took","errors":true,"items":[{"create":{"_index","_id","status":201,"result":"created"}},
// {"create":{"status":429,"error":{"type":"es_rejected_execution_exception","reason":"…"}}}]}; a `create` with an
// _id that exists is 409 version_conflict_engine_exception; a field of the wrong type 400 mapper_parsing_exception.
// Every answer carries X-Elastic-Product: Elasticsearch (the official client refuses a server without it).
// Auth: Authorization: ApiKey <base64 id:key> or Basic. Body above http.max_content_length → 413.
import { FakeServer, json, type Answer, type Recorded } from './http.js';

export const ES_API_KEY = 'ZmFrZS1pZDpmYWtlLWtleQ==';

export class ElasticFake extends FakeServer {
  /** _index → _id → document. */
  readonly docs = new Map<string, Map<string, Record<string, unknown>>>();
  /** Per-item failures for the next bulk requests: item position → status. */
  itemFaults: Map<number, number>[] = [];
  maxContentLength = 100 * 1024 * 1024;
  product: string | undefined = 'Elasticsearch';

  constructor() {
    const me: { h?: (r: Recorded) => Answer } = {};
    super(
      'elasticsearch',
      (r) => (me.h as (r: Recorded) => Answer)(r),
      (r) => r.method === 'POST' && r.path === '/_bulk',
    );
    me.h = (r) => this.bulk(r);
  }

  count(): number {
    let n = 0;
    for (const m of this.docs.values()) n += m.size;
    return n;
  }

  all(): Record<string, unknown>[] {
    return [...this.docs.values()].flatMap((m) => [...m.values()]);
  }

  private headers(): Record<string, string> {
    return this.product ? { 'x-elastic-product': this.product } : {};
  }

  private bulk(r: Recorded): Answer {
    if (r.headers.authorization !== `ApiKey ${ES_API_KEY}`)
      return json(
        401,
        { error: { type: 'security_exception', reason: 'unable to authenticate' }, status: 401 },
        this.headers(),
      );
    if (r.raw.length > this.maxContentLength) return { status: 413, headers: this.headers(), body: '' };
    if (!String(r.headers['content-type']).startsWith('application/x-ndjson'))
      return json(406, { error: 'Content-Type header is not supported', status: 406 }, this.headers());
    if (!r.body.endsWith('\n'))
      return json(
        400,
        {
          error: {
            type: 'illegal_argument_exception',
            reason: 'The bulk request must be terminated by a newline [\\n]',
          },
          status: 400,
        },
        this.headers(),
      );
    const lines = r.body.split('\n').slice(0, -1);
    const faults = this.itemFaults.shift() ?? new Map<number, number>();
    const items: Record<string, unknown>[] = [];
    let errors = false;
    for (let i = 0, n = 0; i < lines.length; i += 2, n++) {
      const action = JSON.parse(lines[i] as string) as Record<string, { _index: string; _id?: string }>;
      const op = Object.keys(action)[0] as string;
      const meta = action[op] as { _index: string; _id?: string };
      const doc = JSON.parse(lines[i + 1] as string) as Record<string, unknown>;
      const idx = this.docs.get(meta._index) ?? new Map<string, Record<string, unknown>>();
      this.docs.set(meta._index, idx);
      const id = meta._id ?? `${Date.now()}-${n}`;
      const fault = faults.get(n);
      if (op !== 'create' && meta._index.startsWith('logs-')) {
        errors = true;
        items.push({
          [op]: {
            _index: meta._index,
            status: 400,
            error: {
              type: 'illegal_argument_exception',
              reason: 'only write ops with an op_type of create are allowed in data streams',
            },
          },
        });
      } else if (fault === 429) {
        errors = true;
        items.push({
          [op]: {
            _index: meta._index,
            _id: id,
            status: 429,
            error: { type: 'es_rejected_execution_exception', reason: 'rejected execution of coordinating operation' },
          },
        });
      } else if (fault === 400) {
        errors = true;
        items.push({
          [op]: {
            _index: meta._index,
            _id: id,
            status: 400,
            error: { type: 'mapper_parsing_exception', reason: 'failed to parse field [ft.x] of type [long]' },
          },
        });
      } else if (idx.has(id)) {
        errors = true;
        items.push({
          [op]: {
            _index: meta._index,
            _id: id,
            status: 409,
            error: {
              type: 'version_conflict_engine_exception',
              reason: `[${id}]: version conflict, document already exists`,
            },
          },
        });
      } else {
        idx.set(id, doc);
        items.push({ [op]: { _index: meta._index, _id: id, _version: 1, result: 'created', status: 201 } });
      }
    }
    return json(200, { took: 3, errors, items }, this.headers());
  }
}
