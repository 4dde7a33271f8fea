// Local fakes of F5 Silverline (JSON:API, all [C]: the portal's API reference is not public; built from the two
// public integrations, FastNetMon's scrubbing_services_integration, which quotes responses of the real API, and
// Progress Flowmon's f5silverline.pl) and BIG-IP iControl REST AFM address lists (`addresses` entries are objects
// with a name and an optional description; PATCH replaces the whole set with the entries it is given; `generation`
// moves on every write, which F5's own SDK f5-common-python compares before writing: iControl REST takes no
// precondition header). [UNVERIFIED]: the exact shape of GET /api/v1/routes/advertised; BIG-IP refusing an empty
// address list.
import { FakeServer, json, type Recorded, type Reply } from '../../http-vendor/test/fake.js';

export class SilverlineFake {
  readonly server: FakeServer;
  readonly advertised = new Set<string>();
  /** Announcements accepted but not yet advertised, shown as advertised after this many GETs. */
  queueGets = 1;
  #queue = new Map<string, number>();
  #id = 6600;

  constructor(readonly token: string) {
    this.server = new FakeServer((r) => this.#route(r));
  }

  #route(req: Recorded): Reply {
    if (req.headers['x-authorization-token'] !== this.token)
      return { status: 401, body: { error: 'You need to sign in or sign up before continuing.' } };
    if (req.path === '/api/v1/routes/advertised' && req.method === 'GET') {
      for (const [p, left] of this.#queue) {
        if (left <= 0) {
          this.advertised.add(p);
          this.#queue.delete(p);
        } else this.#queue.set(p, left - 1);
      }
      return {
        status: 200,
        body: {
          data: [...this.advertised].map((subnet, i) => ({
            type: 'routes',
            id: i + 1,
            attributes: { subnet, action: 'announce' },
          })),
        },
      };
    }
    if (req.path !== '/api/v1/routes') return { status: 404, body: { error: 'Not Found' } };
    // Only the request form a client known to work against the live API sends (FastNetMon: application/json,
    // data.type "string"). [U] whether the portal also takes other forms is unknown: the fake refuses them, so ft
    // cannot drift from the known-good form unnoticed.
    if (req.headers['content-type'] !== 'application/json')
      return { status: 400, body: { error: 'Content-Type must be application/json' } };
    const b = json(req);
    const prefix = b?.data?.attributes?.prefix;
    if (b?.data?.type !== 'string' || typeof prefix !== 'string')
      return { status: 400, body: { error: 'data.type must be "string" with attributes.prefix' } };
    if (req.method === 'POST') {
      if (this.advertised.has(prefix) || this.#queue.has(prefix))
        return {
          status: 403,
          body: { error: `The requested prefix ${prefix} is already being advertised by F5 Silverline` },
        };
      this.#queue.set(prefix, this.queueGets);
      return {
        status: 201,
        body: {
          data: {
            type: 'routes',
            id: this.#id++,
            attributes: {
              action: 'announce',
              ttl: 0,
              nexthop: '172.16.98.6',
              subnet: prefix,
              name: 'ft',
              created_at: new Date().toISOString(),
              comment: b.data.attributes.comment,
            },
          },
          meta: { message: 'Your route has been queued for advertisement.' },
        },
      };
    }
    if (req.method === 'DELETE') {
      if (!this.advertised.delete(prefix) && !this.#queue.delete(prefix))
        return {
          status: 403,
          body: { error: `The requested prefix ${prefix} is not currently being advertised by F5 Silverline` },
        };
      return {
        status: 200,
        body: {
          data: { type: 'routes', id: this.#id++, attributes: { action: 'withdraw', subnet: prefix } },
          meta: { message: 'Your route has been queued for withdrawal.' },
        },
      };
    }
    return { status: 405, body: { error: 'Method Not Allowed' } };
  }
}

export interface BigipEntry {
  name: string;
  description?: string;
}

export class BigipFake {
  readonly server: FakeServer;
  /** The list as BIG-IP holds it: an operator's entry with its description. */
  entries: BigipEntry[] = [{ name: '192.0.2.250', description: 'NOC: scanner, blocked by change 4711' }];
  generation = 41;
  onGet: (() => void) | undefined;

  constructor(
    readonly user: string,
    readonly password: string,
    readonly list = 'ddos_block',
  ) {
    this.server = new FakeServer((r) => this.#route(r));
  }

  get addresses(): string[] {
    return this.entries.map((e) => e.name);
  }

  write(next: BigipEntry[]): void {
    this.entries = next;
    this.generation++;
  }

  #route(req: Recorded): Reply {
    if (req.headers.authorization !== `Basic ${Buffer.from(`${this.user}:${this.password}`).toString('base64')}`) {
      return {
        status: 401,
        body: {
          code: 401,
          message: 'Authorization failed: user=ft resource=/mgmt/tm/security/firewall/address-list',
          errorStack: [],
        },
      };
    }
    if (req.path !== `/mgmt/tm/security/firewall/address-list/~Common~${this.list}`)
      return {
        status: 404,
        body: {
          code: 404,
          message: `01020036:3: The requested address list (/Common/x) was not found.`,
          errorStack: [],
        },
      };
    if (req.method === 'GET') {
      this.onGet?.();
      return {
        status: 200,
        body: {
          kind: 'tm:security:firewall:address-list:address-liststate',
          name: this.list,
          partition: 'Common',
          fullPath: `/Common/${this.list}`,
          generation: this.generation,
          addresses: this.entries.map((e) => ({ ...e })),
        },
      };
    }
    if (req.method === 'PATCH') {
      const b = json(req);
      if (!Array.isArray(b?.addresses) || !b.addresses.every((a: any) => typeof a?.name === 'string'))
        return { status: 400, body: { code: 400, message: 'Found invalid JSON body', errorStack: [] } };
      if (b.addresses.length === 0)
        return {
          status: 400,
          body: { code: 400, message: '01071e7c:3: address list must contain at least one entry', errorStack: [] },
        };
      // The set is replaced by exactly the entries given: an entry sent back without its description loses it.
      this.write(
        b.addresses.map((a: BigipEntry) => ({
          name: a.name,
          ...(typeof a.description === 'string' ? { description: a.description } : {}),
        })),
      );
      return { status: 200, body: { name: this.list, generation: this.generation, addresses: this.entries } };
    }
    return { status: 405, body: { code: 405, message: 'Method not allowed', errorStack: [] } };
  }
}
