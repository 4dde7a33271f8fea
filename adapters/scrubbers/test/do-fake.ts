// Local fake of the DigitalOcean firewall API (digitalocean/openapi specification/resources/firewalls, godo
// firewalls.go): Bearer token, POST/DELETE /v2/firewalls/{id}/rules → 204, GET /v2/firewalls/{id} with status
// waiting → succeeded, ratelimit-* headers, error {id,message,request_id}. A rule is protocol, ports and sources:
// there is no `action` (firewalls "block all traffic that isn't expressly permitted by a rule"), so a rule carrying
// one is refused here. [U] what the real API answers to the unknown field (a 4xx, or silently an allow rule) is not
// documented; the fake refuses it so that ft can never send one unnoticed.
import { randomUUID } from 'node:crypto';
import { FakeServer, json, type Recorded, type Reply } from '../../http-vendor/test/fake.js';
import type { DoRule } from '../src/digitalocean.js';

const err = (status: number, id: string, message: string, headers: Record<string, string> = {}): Reply => ({
  status,
  headers,
  body: { id, message, request_id: randomUUID() },
});

export class DoFake {
  readonly server: FakeServer;
  readonly id = randomUUID();
  inbound: DoRule[] = [{ protocol: 'tcp', ports: '443', sources: { addresses: ['0.0.0.0/0', '::/0'] } }];
  status: 'waiting' | 'succeeded' | 'failed' = 'succeeded';
  waitingGets = 1;
  #left = 0;

  constructor(readonly token: string) {
    this.server = new FakeServer((r) => {
      const reply = this.#api(r);
      return {
        ...reply,
        headers: {
          'ratelimit-limit': '5000',
          'ratelimit-remaining': '4999',
          'ratelimit-reset': String(Math.floor(Date.now() / 1000) + 60),
          ...reply.headers,
        },
      };
    });
  }

  #same(a: DoRule, b: DoRule): boolean {
    return (
      a.protocol === b.protocol &&
      (a.ports ?? '') === (b.ports ?? '') &&
      JSON.stringify([...(a.sources.addresses ?? [])].sort()) ===
        JSON.stringify([...(b.sources.addresses ?? [])].sort())
    );
  }

  #api(req: Recorded): Reply {
    if (req.headers.authorization !== `Bearer ${this.token}`)
      return err(401, 'unauthorized', 'Unable to authenticate you');
    if (req.path === `/v2/firewalls/${this.id}` && req.method === 'GET') {
      if (this.#left > 0) this.#left--;
      else if (this.status === 'waiting') this.status = 'succeeded';
      return {
        status: 200,
        body: {
          firewall: {
            id: this.id,
            name: 'web',
            status: this.status,
            created_at: '2024-01-01T00:00:00Z',
            pending_changes: [],
            droplet_ids: [1],
            tags: [],
            inbound_rules: this.inbound,
            outbound_rules: [],
          },
        },
      };
    }
    if (req.path !== `/v2/firewalls/${this.id}/rules`)
      return err(404, 'not_found', 'The resource you were accessing could not be found.');
    const body = json(req);
    const rules = body?.inbound_rules as DoRule[] | undefined;
    if (!Array.isArray(rules) || rules.length === 0)
      return err(422, 'unprocessable_entity', 'inbound_rules or outbound_rules is required');
    for (const r of rules) {
      if (!['tcp', 'udp', 'icmp'].includes(r.protocol))
        return err(422, 'unprocessable_entity', `invalid protocol ${r.protocol}`);
      const fields = Object.keys(r);
      const unknown = fields.find((f) => !['protocol', 'ports', 'sources'].includes(f));
      if (unknown) return err(422, 'unprocessable_entity', `unknown field ${unknown} in inbound_rules`);
      if (r.protocol !== 'icmp' && !r.ports)
        return err(422, 'unprocessable_entity', 'ports is required for tcp and udp');
      if (!r.sources?.addresses?.length) return err(422, 'unprocessable_entity', 'sources is required');
    }
    if (req.method === 'POST') {
      for (const r of rules) if (!this.inbound.some((x) => this.#same(x, r))) this.inbound.push(r);
    } else if (req.method === 'DELETE') {
      this.inbound = this.inbound.filter((x) => !rules.some((r) => this.#same(x, r)));
    } else {
      return err(405, 'method_not_allowed', 'Method not allowed');
    }
    this.status = 'waiting';
    this.#left = this.waitingGets;
    return { status: 204 };
  }
}
