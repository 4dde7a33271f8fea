// MISP REST API (PyMISP and MISP's EventsController/ObjectsController): Authorization: <auth key> (no scheme),
// Accept and Content-Type application/json. POST /events/add {"Event":{uuid?,info,date,distribution,
// threat_level_id,analysis,Tag:[{name}],Attribute:[{type,category,value,to_ids,comment}]}} → 200
// {"Event":{"id","uuid",…}}; an event whose uuid exists is refused (403, validation errors: "An event with this
// uuid already exists"); a bad key is 403 {"name":"Authentication failed. Please make sure you pass the API key of
// an API enabled user along in the Authorization header.","message":…,"url":…}.
// POST /objects/add/{eventId} {"Object":{name,meta-category,template_uuid,template_version,Attribute:[{object_relation,
// type,value}]}} → 200 {"Object":{…}}; the ddos template needs one of ip-dst, ip-src, domain-dst.
import { FakeServer, json, type Answer, type Recorded } from './http.js';

export const MISP_KEY = 'fakeMispAuthKeyfakeMispAuthKey0123456789';

export interface MispStored {
  id: string;
  Event: Record<string, unknown>;
  objects: Record<string, unknown>[];
}

export class MispFake extends FakeServer {
  readonly events = new Map<string, MispStored>();
  private next = 1;
  constructor() {
    const me: { h?: (r: Recorded) => Answer } = {};
    super(
      'misp',
      (r) => (me.h as (r: Recorded) => Answer)(r),
      (r) => r.method === 'POST',
    );
    me.h = (r) => this.handle(r);
  }
  private handle(r: Recorded): Answer {
    if (r.headers.authorization !== MISP_KEY)
      return json(403, {
        name: 'Authentication failed. Please make sure you pass the API key of an API enabled user along in the Authorization header.',
        message:
          'Authentication failed. Please make sure you pass the API key of an API enabled user along in the Authorization header.',
        url: r.path,
      });
    if (r.headers.accept !== 'application/json')
      return json(406, { name: 'Not Acceptable', message: 'Accept', url: r.path });
    if (r.path === '/events/add') {
      const e = (JSON.parse(r.body) as { Event?: Record<string, unknown> }).Event;
      if (!e || typeof e.info !== 'string')
        return json(403, {
          name: 'Could not add Event',
          message: 'Could not add Event',
          url: r.path,
          errors: { Event: { info: ['Info cannot be empty.'] } },
        });
      const uuid = String(e.uuid ?? `uuid-${this.next}`);
      if ([...this.events.values()].some((x) => x.Event.uuid === uuid))
        return json(403, {
          name: 'Could not add Event',
          message: 'Could not add Event',
          url: r.path,
          errors: { Event: { uuid: ['An event with this uuid already exists.'] } },
        });
      const id = String(this.next++);
      const stored = { id, Event: { ...e, id, uuid }, objects: [] };
      this.events.set(id, stored);
      return json(200, { Event: stored.Event });
    }
    const m = /^\/objects\/add\/(\d+)$/.exec(r.path);
    if (m) {
      const ev = this.events.get(m[1] as string);
      if (!ev) return json(404, { name: 'Invalid event.', message: 'Invalid event.', url: r.path });
      const o = (JSON.parse(r.body) as { Object?: Record<string, unknown> }).Object;
      const rel = ((o?.Attribute ?? []) as { object_relation: string }[]).map((a) => a.object_relation);
      if (o?.name === 'ddos' && !rel.some((x) => ['ip-dst', 'ip-src', 'domain-dst'].includes(x)))
        return json(403, {
          name: 'Could not add Object',
          message: 'Could not add Object',
          url: r.path,
          errors: 'requiredOneOf',
        });
      ev.objects.push(o as Record<string, unknown>);
      return json(200, { Object: o });
    }
    return json(404, { name: 'Not Found', message: 'Not Found', url: r.path });
  }
}
