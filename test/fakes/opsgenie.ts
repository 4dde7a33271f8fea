// Opsgenie Alert API v2 (docs.opsgenie.com/docs/alert-api; Jira Service Management takes the same bodies under
// /jsm/ops/integration): `Authorization: GenieKey <key>`; POST /v2/alerts (message ≤130 required, alias ≤512,
// priority P1–P5); POST /v2/alerts/{alias}/close|acknowledge|notes?identifierType=alias. Every call is processed
// asynchronously: 202 {"result":"Request will be processed","took":0.1,"requestId":…}. 401 bad key, 422 validation,
// 429 with X-RateLimit-State: THROTTLED. This fake keeps alerts by alias: a create for an open alias is
// deduplicated (count + 1), close closes it.
import { randomUUID } from 'node:crypto';
import { FakeServer, json, type Answer, type Recorded } from './http.js';

export const OG_KEY = 'eb243592-faa2-4ba2-a551-1afdf565c889';

export interface OgAlert {
  alias: string;
  message: string;
  priority: string;
  status: 'open' | 'closed';
  acknowledged: boolean;
  count: number;
  notes: string[];
}

export function opsgenieFake(prefix = '') {
  const alerts = new Map<string, OgAlert>();
  const accepted = () => json(202, { result: 'Request will be processed', took: 0.01, requestId: randomUUID() });
  const handle = (r: Recorded): Answer => {
    if (r.headers.authorization !== `GenieKey ${OG_KEY}`)
      return json(401, { message: 'Key format is not valid!', took: 0, requestId: randomUUID() });
    const b = JSON.parse(r.body || '{}') as Record<string, unknown>;
    const path = r.path.slice(prefix.length);
    if (path === '/v2/alerts') {
      if (typeof b.message !== 'string' || b.message.length === 0 || b.message.length > 130)
        return json(422, {
          message: 'Request body is not processable. Please check the errors.',
          errors: { message: 'Message can not be empty or longer than 130' },
          took: 0,
          requestId: randomUUID(),
        });
      const alias = String(b.alias ?? b.message);
      const a = alerts.get(alias);
      if (a && a.status === 'open') a.count++;
      else
        alerts.set(alias, {
          alias,
          message: b.message,
          priority: String(b.priority ?? 'P3'),
          status: 'open',
          acknowledged: false,
          count: 1,
          notes: [],
        });
      return accepted();
    }
    const m = /^\/v2\/alerts\/([^/]+)\/(close|acknowledge|notes)$/.exec(path);
    if (!m || r.url.searchParams.get('identifierType') !== 'alias') return json(404, { message: 'not found' });
    const a = alerts.get(decodeURIComponent(m[1] as string));
    if (a) {
      if (m[2] === 'close') a.status = 'closed';
      if (m[2] === 'acknowledge') a.acknowledged = true;
      if (m[2] === 'notes') a.notes.push(String(b.note));
    }
    return accepted();
  };
  return Object.assign(
    new FakeServer('opsgenie', handle, (r) => r.method === 'POST' && r.path.startsWith(`${prefix}/v2/alerts`)),
    { alerts },
  );
}
