// Datadog Events API v2 intake (docs.datadoghq.com/api/latest/events/#post-an-event, the official TypeScript
// client's EventCreateRequest): POST /api/v2/events with DD-API-KEY; body {data:{type:"event",attributes:{category
// ("alert"|"change"), title, message, aggregation_key ≤100, host, integration_id, tags, timestamp, attributes:
// {status (info|warn|error|ok, required for alerts), priority ("1"–"5", a string), custom, links ≤20}}}} → 202;
// 403 for a bad key; 400 for an invalid body; 429 with X-RateLimit-* headers.
import { FakeServer, json, type Answer, type Recorded } from './http.js';

export const DD_KEY = 'fakefakefakefakefakefakefakefake';

function handle(r: Recorded): Answer {
  if (r.headers['dd-api-key'] !== DD_KEY) return json(403, { errors: ['Forbidden'] });
  const b = JSON.parse(r.body) as { data?: { type?: string; attributes?: Record<string, unknown> } };
  const a = b.data?.attributes ?? {};
  const inner = (a.attributes ?? {}) as Record<string, unknown>;
  const errors: string[] = [];
  if (b.data?.type !== 'event') errors.push('data.type must be event');
  if (!['alert', 'change'].includes(String(a.category))) errors.push('category must be alert or change');
  if (typeof a.title !== 'string') errors.push('title is required');
  if (String(a.aggregation_key ?? '').length > 100) errors.push('aggregation_key is too long');
  if (a.category === 'alert' && !['info', 'warn', 'error', 'ok'].includes(String(inner.status)))
    errors.push('attributes.status is required for alerts');
  if (inner.priority !== undefined && !['1', '2', '3', '4', '5'].includes(inner.priority as string))
    errors.push('attributes.priority must be a string 1-5');
  if (errors.length) return json(400, { errors });
  return json(202, { data: { type: 'event', id: String(Date.now()), attributes: {} } });
}

export const datadogFake = () =>
  new FakeServer('datadog', handle, (r) => r.method === 'POST' && r.path === '/api/v2/events');
