// Local fake of the OVH API parts ovh-vac uses (OVHcloud API console /ip; docs/adapters/ovh-vac.md): /auth/time, signed requests verified by recomputing
// the signature over the URL the fake itself serves, /ip/{block}/mitigation[/{ip}]. The fake's clock runs
// `clockSkewS` ahead so an adapter that ignores /auth/time fails like it would against a real server.
import { createHash } from 'node:crypto';
import { FakeServer, json, type Recorded, type Reply } from '../../http-vendor/test/fake.js';

const err = (status: number, cls: string, message: string, headers: Record<string, string> = {}): Reply => ({
  status,
  body: { class: cls, message },
  headers: { 'x-ovh-queryid': `EU.ext-${Math.random().toString(16).slice(2)}`, ...headers },
});

export class OvhFake {
  readonly server: FakeServer;
  readonly mitigations = new Map<
    string,
    { ipOnMitigation: string; permanent: boolean; auto: boolean; state: string; pendingGets: number }
  >();
  clockSkewS = 3600;
  /** [UNVERIFIED] state names other than "ok" and how long creation takes: "creationPending" for N GETs. */
  pendingGets = 1;
  /** [UNVERIFIED] the allowed |timestamp - server time|; OVH does not document it. */
  toleranceS = 30;

  constructor(
    readonly ak: string,
    readonly as: string,
    readonly ck: string,
  ) {
    this.server = new FakeServer((r) => this.#route(r));
  }

  get base(): string {
    return `${this.server.base}/1.0`;
  }

  now(): number {
    return Math.floor(Date.now() / 1000) + this.clockSkewS;
  }

  #route(req: Recorded): Reply {
    const p = req.path.replace(/^\/1\.0/, '');
    if (p === '/auth/time' && req.method === 'GET') return { status: 200, body: this.now() };
    if (req.headers['x-ovh-application'] !== this.ak) return err(403, 'Client::Forbidden', 'Invalid application key');
    const ts = Number(req.headers['x-ovh-timestamp']);
    if (!Number.isInteger(ts) || Math.abs(ts - this.now()) > this.toleranceS)
      return err(400, 'Client::BadRequest', 'Query out of time');
    if (req.headers['x-ovh-consumer'] !== this.ck) return err(403, 'Client::Forbidden', 'Invalid credentials');
    const fullUrl = `${this.server.base}${req.url.pathname}${req.url.search}`;
    const expected = `$1$${createHash('sha1')
      .update([this.as, this.ck, req.method, fullUrl, req.body, String(ts)].join('+'))
      .digest('hex')}`;
    if (req.headers['x-ovh-signature'] !== expected) return err(400, 'Client::BadRequest', 'Invalid signature');

    const m = /^\/ip\/([^/]+)\/mitigation(?:\/([0-9.]+))?$/.exec(p);
    if (!m) return err(404, 'Client::NotFound', `Got an invalid (or empty) URL`);
    const block = decodeURIComponent(m[1]!);
    if (!block.includes('/'))
      return err(404, 'Client::NotFound', `The requested object (ip = ${block}) does not exist`);
    const ip = m[2];
    if (!ip && req.method === 'GET') return { status: 200, body: [...this.mitigations.keys()] };
    if (!ip && req.method === 'POST') {
      const b = json(req);
      if (typeof b?.ipOnMitigation !== 'string')
        return err(400, 'Client::BadRequest', 'Missing parameter ipOnMitigation');
      if (this.mitigations.has(b.ipOnMitigation))
        return err(409, 'Client::Conflict::AlreadyExists', 'This IP is already on permanent mitigation');
      this.mitigations.set(b.ipOnMitigation, {
        ipOnMitigation: b.ipOnMitigation,
        permanent: true,
        auto: false,
        state: 'creationPending',
        pendingGets: this.pendingGets,
      });
      return {
        status: 200,
        body: { ipOnMitigation: b.ipOnMitigation, permanent: true, auto: false, state: 'creationPending' },
      };
    }
    const entry = ip ? this.mitigations.get(ip) : undefined;
    if (!entry) return err(404, 'Client::NotFound', `The requested object (ipOnMitigation = ${ip}) does not exist`);
    if (req.method === 'GET') {
      if (entry.pendingGets > 0) entry.pendingGets--;
      else entry.state = 'ok';
      const { pendingGets: _, ...shown } = entry;
      return { status: 200, body: shown };
    }
    if (req.method === 'PUT') {
      const b = json(req);
      if (typeof b?.permanent !== 'boolean') return err(400, 'Client::BadRequest', 'Invalid body');
      entry.permanent = b.permanent;
      return { status: 200, body: null };
    }
    if (req.method === 'DELETE') {
      this.mitigations.delete(ip!);
      return { status: 200, body: null };
    }
    return err(405, 'Client::MethodNotAllowed', 'Method not allowed');
  }
}
