// Local fake of Radware Vision / DefenseFlow (Radware's Vision REST API documentation; docs/adapters/radware.md): login → {"status":"ok","jsessionid"}, every other path
// needs the JSESSIONID header; attackstart/attackstop. [UNVERIFIED]: the HTTP status of a refused login (only the
// body text is known), the error for a duplicate or unknown external attack id, and whether baselines are required.
import { randomBytes } from 'node:crypto';
import { FakeServer, json, type Recorded, type Reply } from '../../http-vendor/test/fake.js';

export class RadwareFake {
  readonly server: FakeServer;
  readonly sessions = new Set<string>();
  readonly attacks = new Map<string, { networks: { ip: string; prefix: number }[]; alertInfo: string }>();

  constructor(
    readonly user: string,
    readonly password: string,
  ) {
    this.server = new FakeServer((r) => this.#route(r));
  }

  #route(req: Recorded): Reply {
    if (req.path === '/mgmt/system/user/login' && req.method === 'POST') {
      const b = json(req);
      if (b?.username !== this.user || b?.password !== this.password)
        return { status: 401, body: { status: 'error', message: 'Invalid Username or invalid Password' } };
      const id = randomBytes(16).toString('hex').toUpperCase();
      this.sessions.add(id);
      return { status: 200, body: { status: 'ok', jsessionid: id } };
    }
    const session = String(req.headers.jsessionid ?? '');
    if (!this.sessions.has(session))
      return { status: 403, body: { status: 'error', message: 'Unauthorized: session expired or missing' } };
    const b = json(req);
    if (req.path === '/mgmt/device/df/config/action/attackstart' && req.method === 'POST') {
      const networks = b?.networksDetails?.networks;
      if (
        typeof b?.externalAttackId !== 'string' ||
        !Array.isArray(networks) ||
        !networks.every((n: any) => typeof n.ip === 'string' && Number.isInteger(n.prefix))
      ) {
        return { status: 400, body: { message: 'Invalid attack details' } };
      }
      if (this.attacks.has(b.externalAttackId))
        return { status: 400, body: { message: `Attack ${b.externalAttackId} already exists` } };
      this.attacks.set(b.externalAttackId, { networks, alertInfo: String(b.alertInfo ?? '') });
      return { status: 200, body: { status: 'ok' } };
    }
    if (req.path === '/mgmt/device/df/config/action/attackstop' && req.method === 'POST') {
      if (!this.attacks.delete(b?.externalAttackId))
        return { status: 400, body: { message: `Attack ${b?.externalAttackId} not found` } };
      return { status: 200, body: { status: 'ok' } };
    }
    return { status: 404, body: { message: 'Not found' } };
  }
}
