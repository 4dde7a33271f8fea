import { expect } from 'chai';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '../helpers/net.js';
import { waitFor } from '../helpers/wait.js';
import { Redis } from 'ioredis';
import { requireLab } from '../helpers/env.js';
import { RedisRuleStore } from '../../core/state/redis/redis-store.js';
import { parseRedisUrl } from '../../core/state/redis/connect.js';
import type { RuleRecord } from '../../core/state/store.js';
import { describeRuleStoreContract, contractRule } from '../state/contract.js';
import { RedisServer } from './redis.js';

let server: RedisServer | undefined;
let ns = 0;

describe('fleet: Redis rule store', function () {
  before(async function () {
    requireLab(this, { commands: ['redis-server', 'openssl'] });
    server = await RedisServer.start();
  });
  after(async () => server?.destroy());

  describeRuleStoreContract('redis', async () => {
    const namespace = `contract${ns++}`;
    const open = async () => new RedisRuleStore({ conn: server!.client(), namespace });
    return { store: await open(), reopen: open };
  });

  const record = (n: number, tenant = 'acme'): RuleRecord => ({
    rule: contractRule(n, tenant),
    via: ['edge'],
    appliedAt: new Date().toISOString(),
    expiresAt: new Date(Date.now() + 300_000).toISOString(),
    phase: 'live',
    adapters: {},
    plannedBy: 'planner',
  });

  it('50 planners on their own connections racing for the last 5 slots of the cap: exactly 5 win', async () => {
    const namespace = `race${ns++}`;
    const seed = new RedisRuleStore({ conn: server!.client(), namespace });
    const cap = 200;
    for (let n = 0; n < cap - 5; n++)
      await seed.putRule({
        ...record(0),
        rule: contractRule(n % 250, 'acme'),
        expiresAt: record(0).expiresAt,
        via: [`v${n}`],
      });
    // contractRule only spans 203.0.113.0/24: distinct ids for the seeded rules come from distinct numbers.
    expect(await seed.slotsUsed('acme')).to.equal(cap - 5);
    const planners = Array.from({ length: 50 }, () => new RedisRuleStore({ conn: server!.client(), namespace }));
    let go!: () => void;
    const start = new Promise<void>((r) => (go = r));
    const claims = planners.map(async (p, i) => {
      await start;
      // Rule ids 200..249 are not among the seeded ones (0..194).
      const id = contractRule(200 + i).id;
      const slot = await p.claimSlot('acme', id, cap);
      if (slot.granted) await p.putRule({ ...record(200 + i) });
      return slot.granted;
    });
    go();
    const won = (await Promise.all(claims)).filter(Boolean).length;
    expect(won).to.equal(5);
    expect(await seed.slotsUsed('acme')).to.equal(cap);
    expect((await seed.rules()).length).to.equal(cap);
    await Promise.all([...planners, seed].map((p) => p.close()));
  });

  it('a claim never followed by a stored rule lapses; a stored rule keeps its slot until removed', async () => {
    const namespace = `lease${ns++}`;
    const a = new RedisRuleStore({ conn: server!.client(), namespace, leaseMs: 300 });
    expect((await a.claimSlot('acme', contractRule(1).id, 1)).granted).to.equal(true); // the planner then dies
    expect((await a.claimSlot('acme', contractRule(2).id, 1)).granted).to.equal(false);
    await new Promise((r) => setTimeout(r, 400));
    expect((await a.claimSlot('acme', contractRule(2).id, 1)).granted).to.equal(true);
    await a.putRule(record(2));
    await new Promise((r) => setTimeout(r, 400));
    expect(await a.claimSlot('acme', contractRule(3).id, 1)).to.deep.equal({ granted: false, used: 1 });
    await a.removeRule(contractRule(2).id);
    expect((await a.claimSlot('acme', contractRule(3).id, 1)).granted).to.equal(true);
    await a.close();
  });

  it('the audit stream stays bounded', async () => {
    const a = new RedisRuleStore({ conn: server!.client(), namespace: `bound${ns++}`, auditMaxLen: 100 });
    for (let i = 0; i < 30; i++) {
      await a.appendAudit(
        Array.from({ length: 50 }, (_, j) => ({
          id: `op${i}-${j}`,
          phase: 'event' as const,
          at: new Date().toISOString(),
          op: 'add' as const,
        })),
      );
    }
    const len = await a.conn.xlen(a.keys.audit);
    expect(len).to.be.lessThan(400); // MAXLEN ~ trims by whole macro nodes: about 100, never the 1500 written
    expect((await a.queryAudit({ limit: 1 }))[0]?.id).to.equal('op29-49');
    await a.close();
  });

  it('parses redis URLs with password and TLS without ever showing the password', () => {
    const t = parseRedisUrl('rediss://ft:s3cret@192.0.2.10:6380/2', {});
    expect(t.options).to.deep.include({ host: '192.0.2.10', port: 6380, db: 2, username: 'ft', password: 's3cret' });
    expect(t.options.tls).to.deep.equal({});
    expect(parseRedisUrl('rediss://redis.example.net', {}).options.tls).to.deep.equal({
      servername: 'redis.example.net',
    });
    expect(() => parseRedisUrl('rediss://redis.example.net', { FT_REDIS_CA_FILE: '/nonexistent/ca.pem' })).to.throw(
      /FT_REDIS_CA_FILE .*no such file/,
    );
    expect(t.display).to.not.include('s3cret');
    expect(parseRedisUrl('redis://192.0.2.10', { FT_REDIS_PASSWORD: 'envpw' }).options.password).to.equal('envpw');
    const err = (() => {
      try {
        parseRedisUrl('http://:pw@192.0.2.10', {});
      } catch (e) {
        return (e as Error).message;
      }
      return '';
    })();
    expect(err)
      .to.match(/redis:\/\/ or rediss:\/\//)
      .and.not.include(':pw@');
    expect(() => parseRedisUrl('redis://192.0.2.10/99', {})).to.throw(/database number/);
  });

  it('rediss:// to a TLS server: trusted through FT_REDIS_CA_FILE, refused without it', async function () {
    const dir = mkdtempSync(join(tmpdir(), 'ft-redis-tls-'));
    let proc: ChildProcess | undefined;
    try {
      const ossl = (args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: 'ignore' });
      ossl([
        'req',
        '-x509',
        '-newkey',
        'rsa:2048',
        '-nodes',
        '-keyout',
        'ca.key',
        '-out',
        'ca.crt',
        '-days',
        '1',
        '-subj',
        '/CN=ft test CA',
      ]);
      ossl(['req', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'srv.key', '-out', 'srv.csr', '-subj', '/CN=127.0.0.1']);
      writeFileSync(join(dir, 'ext'), 'subjectAltName=IP:127.0.0.1\n');
      ossl([
        'x509',
        '-req',
        '-in',
        'srv.csr',
        '-CA',
        'ca.crt',
        '-CAkey',
        'ca.key',
        '-CAcreateserial',
        '-out',
        'srv.crt',
        '-days',
        '1',
        '-extfile',
        'ext',
      ]);
      const port = await freePort();
      proc = spawn(
        'redis-server',
        [
          '--port',
          '0',
          '--tls-port',
          String(port),
          '--bind',
          '127.0.0.1',
          '--tls-cert-file',
          'srv.crt',
          '--tls-key-file',
          'srv.key',
          '--tls-ca-cert-file',
          'ca.crt',
          '--tls-auth-clients',
          'no',
          '--save',
          '',
          '--appendonly',
          'no',
          '--dir',
          dir,
        ],
        { cwd: dir, stdio: 'ignore' },
      );
      const url = `rediss://127.0.0.1:${port}`;
      const trusted = await waitFor(
        async () => {
          const c = new Redis({
            ...parseRedisUrl(url, { FT_REDIS_CA_FILE: join(dir, 'ca.crt') }).options,
            lazyConnect: true,
            maxRetriesPerRequest: 0,
            retryStrategy: () => null,
          });
          c.on('error', () => undefined);
          try {
            await c.connect();
            return (await c.ping()) === 'PONG' ? c : undefined;
          } catch {
            c.disconnect();
            return undefined;
          }
        },
        { timeoutMs: 10_000, what: 'a TLS connection with the CA' },
      );
      trusted.disconnect();
      const untrusted = new Redis({
        ...parseRedisUrl(url, {}).options,
        lazyConnect: true,
        maxRetriesPerRequest: 0,
        retryStrategy: () => null,
      });
      untrusted.on('error', () => undefined);
      const err = await untrusted
        .connect()
        .then(() => untrusted.ping())
        .then(
          () => undefined,
          (e: Error) => e,
        );
      untrusted.disconnect();
      expect(err?.message ?? 'connected without the CA').to.match(/certificate|Connection is closed/i);
    } finally {
      proc?.kill('SIGKILL');
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('a password-protected server: the right password is let in, a wrong one is refused', async () => {
    const conn = server!.client();
    await conn.config('SET', 'requirepass', 'pw-for-test');
    try {
      const good = new Redis({
        ...parseRedisUrl(`redis://:pw-for-test@127.0.0.1:${server!.port}`, {}).options,
        lazyConnect: true,
        maxRetriesPerRequest: 0,
      });
      await good.connect();
      expect(await good.ping()).to.equal('PONG');
      good.disconnect();
      const bad = new Redis({
        ...parseRedisUrl(`redis://:nope@127.0.0.1:${server!.port}`, {}).options,
        lazyConnect: true,
        maxRetriesPerRequest: 0,
        retryStrategy: () => null,
      });
      bad.on('error', () => undefined);
      await bad
        .connect()
        .then(() => bad.ping())
        .then(
          () => expect.fail('a wrong password was accepted'),
          (err: Error) => expect(err.message).to.not.include('nope'),
        );
      bad.disconnect();
    } finally {
      await conn.config('SET', 'requirepass', '');
      conn.disconnect();
    }
  });
});
