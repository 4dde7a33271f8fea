// Datadog logs intake v2 (docs.datadoghq.com/api/latest/logs/#send-logs): POST /api/v2/logs with DD-API-KEY,
// JSON (gzip recommended: Content-Encoding gzip), the body one log object or an array of them (ddsource, ddtags,
// hostname, service, message, any attribute); at most 1000 entries and 5 MB uncompressed per request. Success is
// 202 {}; 400 a bad body, 403 a bad key, 413 too large, 429 rate limited, 5xx retry.
import { FakeServer, json, type Answer, type Recorded } from './http.js';

export const DD_LOGS_KEY = 'fakelogsfakelogsfakelogsfakelogs';

export class DatadogLogsFake extends FakeServer {
  readonly logs: Record<string, unknown>[] = [];
  constructor() {
    const me: { h?: (r: Recorded) => Answer } = {};
    super(
      'datadog-logs',
      (r) => (me.h as (r: Recorded) => Answer)(r),
      (r) => r.method === 'POST' && r.path === '/api/v2/logs',
    );
    me.h = (r) => this.handle(r);
  }
  private handle(r: Recorded): Answer {
    if (r.headers['dd-api-key'] !== DD_LOGS_KEY)
      return json(403, { errors: [{ status: '403', title: 'Forbidden', detail: 'API key is invalid' }] });
    if (r.body.length > 5 * 1024 * 1024) return json(413, { errors: [{ status: '413', title: 'Payload Too Large' }] });
    let b: unknown;
    try {
      b = JSON.parse(r.body);
    } catch {
      return json(400, { errors: [{ status: '400', title: 'Bad Request', detail: 'invalid JSON' }] });
    }
    const list = (Array.isArray(b) ? b : [b]) as Record<string, unknown>[];
    if (list.length > 1000)
      return json(400, { errors: [{ status: '400', title: 'Bad Request', detail: 'more than 1000 entries' }] });
    this.logs.push(...list);
    return json(202, {});
  }
}
