// Microsoft Entra token endpoint + Azure Monitor Logs Ingestion API (Microsoft docs "Logs Ingestion API in Azure
// Monitor" and the @azure/monitor-ingestion client): POST /{tenant}/oauth2/v2.0/token, form
// grant_type=client_credentials&client_id&client_secret&scope=https://monitor.azure.com/.default →
// {"token_type":"Bearer","expires_in":3599,"access_token"}; a wrong secret is 401 {"error":"invalid_client",…}.
// Ingest: POST /dataCollectionRules/{dcr-immutable-id}/streams/{stream}?api-version=2023-01-01 with
// Authorization: Bearer, Content-Type application/json (Content-Encoding gzip allowed), the body a JSON array of
// rows; success is 204 only; 401 token, 403 role, 404 DCR or stream, 413 over 1 MB, 429/503 with Retry-After.
import { FakeServer, json, type Answer, type Recorded } from './http.js';

export const SENTINEL = {
  tenant: '72f988bf-86f1-41af-91ab-2d7cd011db47',
  clientId: '0a1b2c3d-0000-4000-8000-000000000001',
  secret: 'fake-client-secret',
  dcr: 'dcr-00112233445566778899aabbccddeeff',
  stream: 'Custom-FtEvents_CL',
};

export class SentinelFake extends FakeServer {
  readonly rows: Record<string, unknown>[] = [];
  tokens = 0;
  private issued = new Set<string>();

  constructor() {
    const me: { h?: (r: Recorded) => Answer } = {};
    super(
      'sentinel',
      (r) => (me.h as (r: Recorded) => Answer)(r),
      (r) => r.method === 'POST',
    );
    me.h = (r) => this.handle(r);
  }

  private handle(r: Recorded): Answer {
    if (r.path === `/${SENTINEL.tenant}/oauth2/v2.0/token`) {
      const f = new URLSearchParams(r.body);
      if (f.get('grant_type') !== 'client_credentials' || f.get('scope') !== 'https://monitor.azure.com/.default')
        return json(400, { error: 'invalid_request', error_description: 'AADSTS900144: bad grant' });
      if (f.get('client_id') !== SENTINEL.clientId || f.get('client_secret') !== SENTINEL.secret)
        return json(401, {
          error: 'invalid_client',
          error_description: 'AADSTS7000215: Invalid client secret provided.',
        });
      const token = `tok-${++this.tokens}`;
      this.issued.add(token);
      return json(200, { token_type: 'Bearer', expires_in: 3599, ext_expires_in: 3599, access_token: token });
    }
    const m = /^\/dataCollectionRules\/([^/]+)\/streams\/([^/]+)$/.exec(r.path);
    if (!m) return json(404, { error: { code: 'NotFound', message: 'no such resource' } });
    if (r.url.searchParams.get('api-version') !== '2023-01-01')
      return json(400, { error: { code: 'InvalidApiVersion', message: 'api-version' } });
    const auth = String(r.headers.authorization ?? '');
    if (!auth.startsWith('Bearer ') || !this.issued.has(auth.slice(7)))
      return json(401, { error: { code: 'InvalidToken', message: 'The provided token is invalid' } });
    if (m[1] !== SENTINEL.dcr || m[2] !== SENTINEL.stream)
      return json(404, { error: { code: 'NotFound', message: 'Data collection rule or stream not found' } });
    if (r.body.length > 1_000_000)
      return json(413, { error: { code: 'ContentLengthLimitExceeded', message: 'over 1 MB' } });
    const rows = JSON.parse(r.body) as unknown;
    if (!Array.isArray(rows)) return json(400, { error: { code: 'InvalidPayload', message: 'expected an array' } });
    for (const row of rows as Record<string, unknown>[])
      if (typeof row.TimeGenerated !== 'string')
        return json(400, { error: { code: 'InvalidPayload', message: 'TimeGenerated' } });
    this.rows.push(...(rows as Record<string, unknown>[]));
    return { status: 204 };
  }
}
