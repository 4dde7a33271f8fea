// Local fake of the Hetzner Robot firewall API (robot.hetzner.com/doc/webservice, "Firewall" and "Errors"; the
// POST fields as the maintained clients community.hrobot and hrobot-rs send them): HTTP Basic, GET/POST
// /firewall/{server-number}, bracketed form fields parsed, the POST replaces the whole configuration (a setting
// left out of it is off afterwards, as a form that replaces everything does: [U] Robot's exact default for a
// missing filter_ipv6 is not documented), 10 input rules max, "in process" then "active", and the request limit
// answered the documented way: HTTP 403, code RATE_LIMIT_EXCEEDED, max_request and interval (seconds).
import { FakeServer, type Recorded, type Reply } from '../../http-vendor/test/fake.js';
import type { RobotFirewall, RobotRule } from '../src/hetzner-robot.js';

const err = (status: number, code: string, message: string, headers: Record<string, string> = {}): Reply => ({
  status,
  headers,
  body: { error: { status, code, message } },
});

/** Parses rules[input][0][src_ip]=… into arrays of rule objects. */
export function parseRobotForm(text: string): {
  fields: Record<string, string>;
  input: Record<string, string>[];
  output: Record<string, string>[];
} {
  const fields: Record<string, string> = {};
  const rules = { input: [] as Record<string, string>[], output: [] as Record<string, string>[] };
  for (const [k, v] of new URLSearchParams(text)) {
    const m = /^rules\[(input|output)\]\[(\d+)\]\[([a-z_]+)\]$/.exec(k);
    if (m) (rules[m[1] as 'input' | 'output'][Number(m[2])] ??= {})[m[3]!] = v;
    else fields[k] = v;
  }
  return { fields, ...rules };
}

export class RobotFake {
  readonly server: FakeServer;
  firewall: RobotFirewall;
  /** GETs answered "in process" after a POST before the change is live. */
  processGets = 1;
  #processing = 0;
  /** Called on every GET before answering: a test can change the rules here to simulate another editor. */
  onGet: ((fw: RobotFirewall) => void) | undefined;
  /** Robot's request limit: at most `maxRequest` requests per `interval` seconds (off unless a test sets it). */
  limit: { maxRequest: number; interval: number } | undefined;
  #window = { start: 0, used: 0 };

  constructor(
    readonly serverNumber: number,
    readonly user: string,
    readonly password: string,
  ) {
    this.server = new FakeServer((r) => this.#route(r));
    this.firewall = {
      server_ip: '203.0.113.7',
      server_ipv6_net: '2001:db8:7::',
      server_number: serverNumber,
      status: 'active',
      // The owner filters IPv6 too: a write that drops this setting would leave the server's IPv6 unfiltered.
      filter_ipv6: true,
      whitelist_hos: true,
      port: 'main',
      rules: {
        input: [
          {
            name: 'ssh',
            ip_version: 'ipv4',
            dst_ip: null,
            dst_port: '22',
            src_ip: '192.0.2.0/24',
            src_port: null,
            protocol: 'tcp',
            tcp_flags: null,
            action: 'accept',
          },
          {
            name: 'web',
            ip_version: 'ipv4',
            dst_ip: null,
            dst_port: '443',
            src_ip: null,
            src_port: null,
            protocol: 'tcp',
            tcp_flags: null,
            action: 'accept',
          },
        ],
        output: [
          {
            name: 'allow all',
            ip_version: null,
            dst_ip: null,
            dst_port: null,
            src_ip: null,
            src_port: null,
            protocol: null,
            tcp_flags: null,
            action: 'accept',
          },
        ],
      },
    };
  }

  #limited(): Reply | undefined {
    if (!this.limit) return undefined;
    const now = Date.now();
    if (now - this.#window.start >= this.limit.interval * 1000) this.#window = { start: now, used: 0 };
    if (++this.#window.used <= this.limit.maxRequest) return undefined;
    return {
      status: 403,
      body: {
        error: {
          status: 403,
          code: 'RATE_LIMIT_EXCEEDED',
          max_request: this.limit.maxRequest,
          interval: this.limit.interval,
          message: 'rate limit exceeded',
        },
      },
    };
  }

  #route(req: Recorded): Reply {
    const auth = req.headers.authorization ?? '';
    if (auth !== `Basic ${Buffer.from(`${this.user}:${this.password}`).toString('base64')}`)
      return err(401, 'UNAUTHORIZED', 'Unauthorized');
    const limited = this.#limited();
    if (limited) return limited;
    if (req.path !== `/firewall/${this.serverNumber}`) return err(404, 'SERVER_NOT_FOUND', 'Server not found');
    if (req.method === 'GET') {
      this.onGet?.(this.firewall);
      if (this.#processing > 0) {
        this.#processing--;
        return { status: 200, body: { firewall: { ...this.firewall, status: 'in process' } } };
      }
      return { status: 200, body: { firewall: this.firewall } };
    }
    if (req.method === 'POST') {
      if (req.headers['content-type'] !== 'application/x-www-form-urlencoded')
        return err(400, 'INVALID_INPUT', 'invalid input: expected form data');
      if (this.#processing > 0)
        return err(
          409,
          'FIREWALL_IN_PROCESS',
          'The firewall cannot be updated because an update is currently in process',
        );
      const form = parseRobotForm(req.body);
      if (!['active', 'disabled'].includes(form.fields.status ?? ''))
        return err(400, 'INVALID_INPUT', 'invalid input: status');
      if (form.input.length > 10 || form.output.length > 10)
        return err(400, 'FIREWALL_RULE_LIMIT_EXCEEDED', 'Firewall rule limit exceeded');
      const toRule = (r: Record<string, string>): RobotRule => {
        if (!['accept', 'discard'].includes(r.action ?? '')) throw new Error('bad action');
        return {
          name: r.name ?? null,
          ip_version: r.ip_version ?? null,
          dst_ip: r.dst_ip ?? null,
          dst_port: r.dst_port ?? null,
          src_ip: r.src_ip ?? null,
          src_port: r.src_port ?? null,
          protocol: r.protocol ?? null,
          tcp_flags: r.tcp_flags ?? null,
          action: r.action as RobotRule['action'],
        };
      };
      let input: RobotRule[];
      let output: RobotRule[];
      try {
        input = form.input.map(toRule);
        output = form.output.map(toRule);
      } catch {
        return err(400, 'INVALID_INPUT', 'invalid input: rules action');
      }
      // The whole configuration is what this POST says: a setting it leaves out is off.
      this.firewall = {
        ...this.firewall,
        status: form.fields.status as 'active',
        filter_ipv6: form.fields.filter_ipv6 === 'true',
        whitelist_hos: form.fields.whitelist_hos === 'true',
        port: form.fields.port ?? 'main',
        rules: { input, output },
      };
      this.#processing = this.processGets;
      return { status: 200, body: { firewall: { ...this.firewall, status: 'in process' } } };
    }
    return err(405, 'METHOD_NOT_ALLOWED', 'Method not allowed');
  }
}
