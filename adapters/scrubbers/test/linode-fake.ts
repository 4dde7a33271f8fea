// Local fake of the Linode API v4 firewall rules (Linode API v4 reference; docs/adapters/linode.md): Bearer token, GET/PUT /networking/firewalls/{id}/rules,
// PUT replaces everything and bumps version/fingerprint; X-RateLimit-* headers; errors {"errors":[{reason,field}]} [U].
import { randomBytes } from 'node:crypto';
import { FakeServer, json, type Recorded, type Reply } from '../../http-vendor/test/fake.js';
import type { LinodeRules } from '../src/linode.js';

const err = (status: number, reason: string, field?: string, headers: Record<string, string> = {}): Reply => ({
  status,
  headers,
  body: { errors: [{ reason, ...(field ? { field } : {}) }] },
});

export class LinodeFake {
  readonly server: FakeServer;
  rules: LinodeRules;
  onGet: ((r: LinodeRules) => void) | undefined;

  constructor(
    readonly firewallId: number,
    readonly token: string,
  ) {
    this.server = new FakeServer((r) => this.#route(r));
    this.rules = {
      inbound: [
        {
          action: 'ACCEPT',
          protocol: 'TCP',
          ports: '22, 443',
          addresses: { ipv4: ['0.0.0.0/0'], ipv6: ['::/0'] },
          label: 'allow-ssh-https',
          description: 'customer rule',
        },
      ],
      inbound_policy: 'ACCEPT',
      outbound: [],
      outbound_policy: 'ACCEPT',
      fingerprint: randomBytes(4).toString('hex'),
      version: 1,
    };
  }

  bump(): void {
    this.rules.version = (this.rules.version ?? 0) + 1;
    this.rules.fingerprint = randomBytes(4).toString('hex');
  }

  #route(req: Recorded): Reply {
    const rate = {
      'x-ratelimit-limit': '1600',
      'x-ratelimit-remaining': '1599',
      'x-ratelimit-reset': String(Math.floor(Date.now() / 1000) + 60),
    };
    const r = this.#api(req);
    return { ...r, headers: { ...rate, ...r.headers } };
  }

  #api(req: Recorded): Reply {
    if (req.headers.authorization !== `Bearer ${this.token}`) return err(401, 'Invalid Token');
    if (req.path !== `/v4/networking/firewalls/${this.firewallId}/rules`) return err(404, 'Not found');
    if (req.method === 'GET') {
      this.onGet?.(this.rules);
      return { status: 200, body: this.rules };
    }
    if (req.method === 'PUT') {
      const b = json(req);
      // [C] real clients drop these before PUT; the fake refuses them so the adapter must too.
      if (b.fingerprint !== undefined || b.version !== undefined)
        return err(400, 'fingerprint and version are read-only', 'fingerprint');
      for (const dir of ['inbound', 'outbound'] as const) {
        if (!Array.isArray(b[dir])) return err(400, 'This field is required', dir);
        for (const [i, rule] of b[dir].entries()) {
          if (!['ACCEPT', 'DROP'].includes(rule.action))
            return err(400, 'Must be one of ACCEPT, DROP', `${dir}[${i}].action`);
          if (!['TCP', 'UDP', 'ICMP', 'IPENCAP'].includes(rule.protocol))
            return err(400, 'Must be one of TCP, UDP, ICMP, IPENCAP', `${dir}[${i}].protocol`);
          if (rule.ports !== undefined && ['ICMP', 'IPENCAP'].includes(rule.protocol))
            return err(400, 'Ports not allowed for ICMP/IPENCAP', `${dir}[${i}].ports`);
          if (rule.label !== undefined && !/^[a-zA-Z0-9._-]{3,32}$/.test(rule.label))
            return err(400, 'Label must be 3-32 characters', `${dir}[${i}].label`);
        }
      }
      if (!['ACCEPT', 'DROP'].includes(b.inbound_policy) || !['ACCEPT', 'DROP'].includes(b.outbound_policy))
        return err(400, 'policy required', 'inbound_policy');
      this.rules = {
        inbound: b.inbound,
        inbound_policy: b.inbound_policy,
        outbound: b.outbound,
        outbound_policy: b.outbound_policy,
      };
      this.bump();
      return { status: 200, body: this.rules };
    }
    return err(405, 'Method not allowed');
  }
}
