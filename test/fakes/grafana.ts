// Grafana HTTP API, annotations (grafana.com/docs/grafana/latest/developers/http_api/annotations): Authorization:
// Bearer <service account token>; POST /api/annotations {dashboardUID?, panelId?, time, timeEnd?, tags, text}
// (only text required; times epoch ms) → 200 {"message":"Annotation added","id":N}; PATCH /api/annotations/{id}
// (fields given are updated) → 200 {"message":"Annotation patched"}; 404 for an unknown id; 401 without a valid token.
import { FakeServer, json, type Answer, type Recorded } from './http.js';

export const GRAFANA_TOKEN = 'glsa_fakeServiceAccountToken_0123abcd';

export interface Annotation {
  id: number;
  time: number;
  timeEnd?: number;
  tags: string[];
  text: string;
  dashboardUID?: string;
}

export function grafanaFake() {
  const annotations = new Map<number, Annotation>();
  let next = 0;
  const handle = (r: Recorded): Answer => {
    if (r.headers.authorization !== `Bearer ${GRAFANA_TOKEN}`) return json(401, { message: 'Invalid API key' });
    const b = JSON.parse(r.body || '{}') as Partial<Annotation>;
    if (r.method === 'POST' && r.path === '/api/annotations') {
      if (typeof b.text !== 'string') return json(400, { message: 'text is required' });
      const a: Annotation = {
        id: ++next,
        time: b.time ?? Date.now(),
        tags: b.tags ?? [],
        text: b.text,
        ...(b.timeEnd ? { timeEnd: b.timeEnd } : {}),
        ...(b.dashboardUID ? { dashboardUID: b.dashboardUID } : {}),
      };
      annotations.set(a.id, a);
      return json(200, { message: 'Annotation added', id: a.id });
    }
    const m = /^\/api\/annotations\/(\d+)$/.exec(r.path);
    if (r.method === 'PATCH' && m) {
      const a = annotations.get(Number(m[1]));
      if (!a) return json(404, { message: 'Could not find annotation to update' });
      Object.assign(
        a,
        Object.fromEntries(Object.entries(b).filter(([k]) => ['time', 'timeEnd', 'tags', 'text'].includes(k))),
      );
      return json(200, { message: 'Annotation patched' });
    }
    return json(404, { message: 'Not found' });
  };
  return Object.assign(new FakeServer('grafana', handle, (r) => r.path.startsWith('/api/annotations')), {
    annotations,
  });
}
