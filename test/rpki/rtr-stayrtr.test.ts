import { expect } from 'chai';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { run } from '../helpers/net.js';
import { Prefix } from '@ft/sdk';
import { requireLab } from '../helpers/env.js';
import { runFt, isolatedHome } from '../helpers/cli.js';
import { waitFor } from '../helpers/wait.js';
import { RtrClient, createVerdictProvider, type RpkiUpdate } from '../../core/rpki/index.js';
import { Stayrtr, type Roa } from './stayrtr.js';

const P = (s: string) => Prefix.parse(s);
const BASE: Roa[] = [
  { prefix: '203.0.113.0/24', maxLength: 24, asn: 64500 },
  { prefix: '2001:db8:100::/48', maxLength: 48, asn: 'AS64500' },
  { prefix: '198.51.100.0/24', maxLength: 28, asn: 64501 },
];
const fast = { backoff: { initialMs: 100, maxMs: 400 }, connectTimeoutMs: 2000 };

describe('RTR client against a real stayrtr', function () {
  this.timeout(60_000);
  const caches: Stayrtr[] = [];
  const clients: RtrClient[] = [];
  const cache = async (roas: Roa[], opts = {}) => {
    const s = await Stayrtr.start(roas, opts);
    caches.push(s);
    return s;
  };
  const client = (ports: number[], extra = {}) => {
    const c = new RtrClient({ caches: ports.map((port) => ({ host: '127.0.0.1', port })), ...fast, ...extra });
    clients.push(c);
    return c.start();
  };

  before(function () {
    requireLab(this, { commands: ['stayrtr', 'rpki-rov', 'openssl'] });
  });
  afterEach(async () => {
    for (const c of clients.splice(0)) c.stop();
    for (const s of caches.splice(0)) await s.destroy();
  });

  it('loads the full VRP set (Reset Query) and validates from it', async () => {
    const s = await cache(BASE);
    const c = client([s.port]);
    const snap = await c.ready(10_000);
    expect(snap.table.size).to.equal(3);
    expect(snap.table.validate(P('203.0.113.0/24'), 64500).state).to.equal('valid');
    expect(snap.table.validate(P('198.51.100.16/28'), 64501).state).to.equal('valid');
    expect(snap.table.validate(P('2001:db8:100::/48'), 64501)).to.deep.equal({ state: 'invalid', reason: 'as' });
    const [st] = c.status();
    expect(st).to.deep.include({
      state: 'connected',
      active: true,
      version: 1,
      serial: snap.serial,
      vrps: { ipv4: 2, ipv6: 1, total: 3 },
    });
    // stayrtr's default timers arrive in the v1 End of Data.
    expect(st?.timers).to.deep.equal({ refresh: 3600, retry: 600, expire: 7200 });
  });

  it('follows a file change incrementally: Serial Notify → Serial Query → delta, and tells what changed', async () => {
    const s = await cache(BASE);
    const c = client([s.port]);
    const first = await c.ready(10_000);
    const updates: RpkiUpdate[] = [];
    c.on('update', (u: RpkiUpdate) => updates.push(u));
    s.update([...BASE.slice(1), { prefix: '203.0.113.0/24', maxLength: 24, asn: 64666 }]);
    await waitFor(() => updates.length > 0, { what: 'an incremental update' });
    const u = updates[0]!;
    expect(u.full).to.equal(false);
    expect(u.serial).to.not.equal(first.serial);
    expect(u.delta.announced.map((v) => `${v.prefix} AS${v.asn}`)).to.deep.equal(['203.0.113.0/24 AS64666']);
    expect(u.delta.withdrawn.map((v) => `${v.prefix} AS${v.asn}`)).to.deep.equal(['203.0.113.0/24 AS64500']);
    const st = c.status()[0]!;
    expect(st.counters).to.include({ resets: 1, serialUpdates: 1, connects: 1, cacheResets: 0 });
    expect(st.counters.notifies).to.be.greaterThan(0);
    expect(c.snapshot()!.table.validate(P('203.0.113.0/24'), 64500)).to.deep.equal({ state: 'invalid', reason: 'as' });
  });

  it('starts over with a Reset Query when the cache answers a stale serial with Cache Reset', async () => {
    const s = await cache(BASE);
    const c = client([s.port]);
    await c.ready(10_000);
    // Disconnected while the cache moves on by many serials: it can no longer give a delta from ours.
    c.stop();
    for (let i = 0; i < 12; i++) {
      s.update([...BASE, { prefix: `192.0.2.${i * 16}/28`, maxLength: 28, asn: 64510 + i }]);
      await new Promise((r) => setTimeout(r, 120));
    }
    const updates: RpkiUpdate[] = [];
    c.on('update', (u: RpkiUpdate) => updates.push(u));
    c.start();
    await waitFor(() => c.status()[0]!.counters.resets === 2, {
      what: `a second full load (status ${JSON.stringify(c.status())}; stayrtr: ${s.daemon.output.slice(-600)})`,
    });
    expect(c.status()[0]!.counters.cacheResets).to.equal(1);
    const table = c.snapshot()!.table;
    expect(table.size).to.equal(4);
    expect(table.validate(P('192.0.2.176/28'), 64521).state).to.equal('valid');
    // Withdrawn while we were away: gone after the reset, not left behind.
    expect(table.validate(P('192.0.2.0/28'), 64510).state).to.equal('not-found');
    expect(updates.some((u) => u.delta.announced.some((v) => v.asn === 64521))).to.equal(true);
  });

  it('survives a cache restart mid-session: new session id, data reloaded, verdicts never lost meanwhile', async () => {
    let s = await cache(BASE);
    const c = client([s.port]);
    const before = await c.ready(10_000);
    const provider = createVerdictProvider({ client: c });
    const rtbh = {
      kind: 'rtbh' as const,
      announced: P('203.0.113.10/32'),
      covering: P('203.0.113.0/24'),
      originAs: 64500,
      mode: 'enforce' as const,
    };
    s = await s.restart();
    caches.splice(0, 1, s);
    // Within expire, the old data keeps serving verdicts while the client reconnects.
    expect(provider.verdict(rtbh).allowed).to.equal(true);
    await waitFor(() => c.snapshot()?.sessionId !== before.sessionId && c.status()[0]?.state === 'connected', {
      timeoutMs: 15_000,
      what: `a new session (${JSON.stringify(c.status())})`,
    });
    const v = provider.verdict(rtbh);
    expect(v.allowed).to.equal(true);
    expect(v.sessionId).to.equal(c.snapshot()!.sessionId);
    expect(c.snapshot()!.table.size).to.equal(3);
  });

  it('speaks version 0 to a cache that only does RFC 6810 (stayrtr -protocol 0)', async () => {
    const s = await cache(BASE, { protocol: 0 });
    const c = client([s.port]);
    const snap = await c.ready(10_000);
    expect(snap.table.size).to.equal(3);
    const st = c.status()[0]!;
    expect(st.version).to.equal(0);
    // v0 carries no timers: RFC 8210's defaults apply.
    expect(st.timers).to.deep.equal({ refresh: 3600, retry: 600, expire: 7200 });
    s.update(BASE.slice(0, 1));
    await waitFor(() => c.snapshot()?.table.size === 1, { what: 'a v0 incremental update' });
    expect(c.status()[0]!.counters.serialUpdates).to.equal(1);
  });

  it('expires the data when the cache disappears: RTBH refused under enforce, diversion fails closed', async () => {
    const s = await cache(BASE, { expire: 2, rtrRefresh: 1, retry: 1 });
    const c = client([s.port]);
    await c.ready(10_000);
    expect(c.status()[0]!.timers).to.deep.equal({ refresh: 1, retry: 1, expire: 2 });
    const provider = createVerdictProvider({ client: c });
    const rtbh = {
      kind: 'rtbh' as const,
      announced: P('203.0.113.10/32'),
      covering: P('203.0.113.0/24'),
      originAs: 64500,
    };
    // Refresh keeps the data fresh well past expire while the cache is up.
    await new Promise((r) => setTimeout(r, 2500));
    expect(provider.verdict({ ...rtbh, mode: 'enforce' }).allowed).to.equal(true);
    const updates: RpkiUpdate[] = [];
    c.on('update', (u: RpkiUpdate) => updates.push(u));
    await s.stop();
    // The operator is told: an update saying no cache has data any more.
    await waitFor(() => updates.find((u) => u.cache === undefined), { timeoutMs: 5000, what: 'the data to expire' });
    expect(updates.at(-1)).to.include({ cache: undefined, full: true });
    expect(c.snapshot()).to.equal(undefined);
    const enforce = provider.verdict({ ...rtbh, mode: 'enforce' });
    expect(enforce).to.include({ state: 'unknown', allowed: false });
    expect(enforce.reason).to.contain('stale');
    expect(enforce.dataAgeSeconds).to.be.at.least(2);
    expect(provider.verdict({ ...rtbh, mode: 'warn' }).allowed).to.equal(true);
    expect(
      provider.verdict({
        kind: 'divert',
        announced: P('203.0.113.0/24'),
        covering: P('203.0.113.0/24'),
        originAs: 64500,
        mode: 'warn',
      }).allowed,
    ).to.equal(false);
  });

  it('fails over to the next cache when the preferred one goes away, and back when it returns', async () => {
    const primary = await cache(BASE);
    const secondary = await cache([...BASE, { prefix: '192.0.2.0/24', maxLength: 24, asn: 64502 }]);
    const c = client([primary.port, secondary.port]);
    await waitFor(() => c.status().every((x) => x.fresh), { what: 'both caches synced' });
    expect(c.snapshot()!.cache).to.equal(`127.0.0.1:${primary.port}`);
    const updates: RpkiUpdate[] = [];
    c.on('update', (u: RpkiUpdate) => updates.push(u));
    const port = primary.port;
    await primary.stop();
    await waitFor(() => c.snapshot()?.cache === `127.0.0.1:${secondary.port}`, { what: 'failover to the secondary' });
    expect(updates.at(-1)?.delta.announced.map((v) => v.prefix.toString())).to.deep.equal(['192.0.2.0/24']);
    const back = await primary.restart();
    caches.splice(caches.indexOf(primary), 1, back);
    expect(back.port).to.equal(port);
    await waitFor(() => c.snapshot()?.cache === `127.0.0.1:${port}`, {
      timeoutMs: 15_000,
      what: 'return to the preferred cache',
    });
  });

  it('agrees with RTRlib (rtr-tools rpki-rov) on 1,200 generated prefix/origin pairs', async () => {
    const rand = mulberry32(8210);
    const pick = <T>(xs: T[]) => xs[Math.floor(rand() * xs.length)] as T;
    const asns = [0, 64500, 64501, 64502, 64503];
    const roas: Roa[] = [];
    const seen = new Set<string>();
    for (let i = 0; i < 400; i++) {
      const v6 = rand() < 0.3;
      const len = v6 ? 32 + Math.floor(rand() * 25) : 24 + Math.floor(rand() * 5);
      // No VRP in 192.0.2.0/24 or 2001:db8:2::/47-ish space, so routes there are NotFound.
      const p = v6 ? randomV6(rand, len, 2) : randomV4(rand, len, pick([198, 203]));
      const roa = {
        prefix: p.toString(),
        maxLength: Math.min(v6 ? 128 : 32, len + Math.floor(rand() * 4)),
        asn: pick(asns),
      };
      const key = JSON.stringify(roa);
      if (!seen.has(key)) roas.push(roa);
      seen.add(key);
    }
    const s = await cache(roas);
    const c = client([s.port]);
    const { table } = await c.ready(10_000);
    expect(table.size).to.equal(roas.length);
    const pairs: [Prefix, number][] = [];
    for (let i = 0; i < 1200; i++) {
      const v6 = rand() < 0.3;
      const len = v6 ? 28 + Math.floor(rand() * 40) : 22 + Math.floor(rand() * 11);
      pairs.push([
        v6 ? randomV6(rand, len, 4) : randomV4(rand, len, pick([192, 198, 203])),
        pick([...asns.slice(1), 64999]),
      ]);
    }
    const theirs = await rpkiRov(s.port, pairs);
    const ours = pairs.map(([p, asn]) => table.validate(p, asn).state);
    const mismatches = pairs
      .filter((_, i) => ours[i] !== theirs[i])
      .map(([p, a], i) => `${p} AS${a}: ours ${ours[i]} rpki-rov ${theirs[i]}`);
    expect(mismatches).to.deep.equal([]);
    // The generated set really exercises all three outcomes.
    for (const state of ['valid', 'invalid', 'not-found'])
      expect(ours.filter((x) => x === state).length, state).to.be.greaterThan(50);
  });

  it('speaks RTR over TLS (stayrtr -tls.bind), verifying the cache certificate', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ft-rtr-tls-'));
    const cert = join(dir, 'cert.pem');
    const key = join(dir, 'key.pem');
    run([
      'openssl',
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:prime256v1',
      '-nodes',
      '-keyout',
      key,
      '-out',
      cert,
      '-days',
      '1',
      '-subj',
      '/CN=rtr.test',
      '-addext',
      'subjectAltName=IP:127.0.0.1',
    ]);
    try {
      const s = await cache(BASE, { tls: { cert, key } });
      const ca = readFileSync(cert);
      const trusted = new RtrClient({
        caches: [{ host: '127.0.0.1', port: s.tlsPort, transport: 'tls', tls: { ca } }],
        ...fast,
      });
      clients.push(trusted);
      const snap = await trusted.start().ready(10_000);
      expect(snap.cache).to.equal(`tls://127.0.0.1:${s.tlsPort}`);
      expect(snap.table.size).to.equal(3);
      // Without the CA the certificate is not trusted: no session, and the reason is recorded.
      const untrusted = new RtrClient({ caches: [{ host: '127.0.0.1', port: s.tlsPort, transport: 'tls' }], ...fast });
      clients.push(untrusted);
      untrusted.start();
      await waitFor(() => untrusted.status()[0]?.lastError, { what: 'a TLS verification error' });
      expect(untrusted.status()[0]!.lastError!.message).to.match(/self[- ]signed/);
      expect(untrusted.snapshot()).to.equal(undefined);
      const r = await runFt(
        [
          'rpki',
          'check',
          '203.0.113.0/24',
          'AS64500',
          '--cache',
          `tls://127.0.0.1:${s.tlsPort}`,
          '--cache-ca',
          cert,
          '--json',
        ],
        isolatedHome(),
      );
      expect(r.code, r.stderr).to.equal(0);
      expect(JSON.parse(r.stdout)).to.deep.include({ state: 'valid' });
      // The same from a policy: the cache's CA named beside it (relative to the policy file).
      const policy = join(dir, 'policy.yaml');
      writeFileSync(
        policy,
        `version: 1\ntenant: t\nprotect: [203.0.113.0/24]\nrpki:\n  caches:\n    - { address: "tls://127.0.0.1:${s.tlsPort}", ca: cert.pem }\n`,
      );
      const p = await runFt(
        ['rpki', 'check', '203.0.113.0/24', 'AS64500', '--policy', policy, '--json'],
        isolatedHome(),
      );
      expect(p.code, p.stderr).to.equal(0);
      expect(JSON.parse(p.stdout)).to.deep.include({ state: 'valid' });
      // A CA file that is missing, or a CA on a plain-TCP cache, is named with where and why.
      writeFileSync(
        policy,
        `version: 1\ntenant: t\nprotect: [203.0.113.0/24]\nrpki:\n  caches:\n    - { address: "tls://127.0.0.1:${s.tlsPort}", ca: nope.pem }\n`,
      );
      const missing = await runFt(['rpki', 'check', '203.0.113.0/24', 'AS64500', '--policy', policy], isolatedHome());
      expect(missing.code).to.not.equal(0);
      expect(missing.stderr.replace(/\s*›\s*|\s+/g, ' ')).to.include(
        `rpki.caches[0].ca: cannot read ${join(dir, 'nope.pem')} (ENOENT)`,
      );
      writeFileSync(
        policy,
        `version: 1\ntenant: t\nprotect: [203.0.113.0/24]\nrpki:\n  caches:\n    - { address: "127.0.0.1:${s.port}", ca: cert.pem }\n`,
      );
      const plain = await runFt(['rpki', 'check', '203.0.113.0/24', 'AS64500', '--policy', policy], isolatedHome());
      expect(plain.code).to.not.equal(0);
      expect(plain.stderr.replace(/\s*›\s*|\s+/g, ' ')).to.include(
        'rpki.caches[0].ca: a CA only applies to a tls:// cache',
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('reports a cache with stale data (No Data Available) and refuses to call it fresh', async () => {
    const s = await cache(BASE, { builtAt: new Date(Date.now() - 3 * 86400_000) });
    const r = await runFt(
      ['rpki', 'status', '--cache', `127.0.0.1:${s.port}`, '--json', '--timeout', '5'],
      isolatedHome(),
    );
    expect(r.code).to.equal(1);
    const st = JSON.parse(r.stdout) as {
      active?: string;
      caches: { fresh: boolean; lastError?: { direction: string; code: number; message: string } }[];
    };
    expect(st.active).to.equal(undefined);
    expect(st.caches[0]?.fresh).to.equal(false);
    expect(st.caches[0]?.lastError).to.deep.include({ direction: 'received', code: 2 });
    expect(st.caches[0]?.lastError?.message).to.match(/^No Data Available/);
  });

  it('ft rpki status and ft rpki check talk to the cache from the command line', async () => {
    const s = await cache(BASE);
    const env = isolatedHome();
    const status = await runFt(['rpki', 'status', '--cache', `127.0.0.1:${s.port}`, '--json'], env);
    expect(status.code, status.stderr).to.equal(0);
    const st = JSON.parse(status.stdout) as {
      active: string;
      caches: { vrps: { total: number }; sessionId: number; version: number }[];
    };
    expect(st.active).to.equal(`127.0.0.1:${s.port}`);
    expect(st.caches[0]).to.deep.include({ version: 1, vrps: { ipv4: 2, ipv6: 1, total: 3 } });
    const strict = await runFt(['rpki', 'check', '203.0.113.10/32', 'AS64500', '--cache', `127.0.0.1:${s.port}`], env);
    expect(strict.code, strict.stderr).to.equal(0);
    expect(strict.stdout).to.contain('203.0.113.10/32 AS64500: Invalid (length)');
    expect(strict.stdout).to.contain('covered by 203.0.113.0/24 maxLength 24 AS64500');
    const loose = JSON.parse(
      (
        await runFt(
          ['rpki', 'check', '203.0.113.10', '64500', '--loose', '--cache', `127.0.0.1:${s.port}`, '--json'],
          env,
        )
      ).stdout,
    );
    expect(loose).to.deep.include({ prefix: '203.0.113.10/32', state: 'valid', mode: 'loose' });
    // The caches a policy names under rpki.caches, as `ft run` would use them.
    const policy = join(env.HOME!, 'policy.yaml');
    writeFileSync(
      policy,
      `version: 1\ntenant: t\nprotect: [203.0.113.0/24]\nrpki:\n  caches:\n    - { address: "127.0.0.1:${s.port}", preference: 0 }\n`,
    );
    const fromPolicy = await runFt(['rpki', 'status', '--policy', policy, '--json'], env);
    expect(fromPolicy.code, fromPolicy.stderr).to.equal(0);
    expect(JSON.parse(fromPolicy.stdout).active).to.equal(`127.0.0.1:${s.port}`);
    writeFileSync(policy, 'version: 1\nrpki:\n  caches: ["localhost:99999"]\n');
    const badPolicy = await runFt(['rpki', 'status', '--policy', policy], env);
    expect(badPolicy.code).to.equal(2);
    expect(badPolicy.stderr).to.contain('rpki.caches[0]');
    const down = await runFt(['rpki', 'status', '--cache', '127.0.0.1:1', '--timeout', '2'], env);
    expect(down.code).to.equal(1);
    expect(down.stdout).to.contain('ECONNREFUSED');
    const bad = await runFt(['rpki', 'check', '203.0.113.10/24', '64500', '--cache', `127.0.0.1:${s.port}`], env);
    expect(bad.code).to.equal(2);
    expect(bad.stderr).to.contain('did you mean 203.0.113.0/24');
  });
});

function mulberry32(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

// Documentation ranges only: 192.0.2.0/24, 198.51.100.0/24, 203.0.113.0/24 and 2001:db8::/32.
function randomV4(rand: () => number, len: number, first: number): Prefix {
  const base = first === 192 ? [192, 0, 2] : first === 198 ? [198, 51, 100] : [203, 0, 113];
  return Prefix.fromBytes(Uint8Array.from([...base, Math.floor(rand() * 256)]), Math.max(24, len), { truncate: true });
}

function randomV6(rand: () => number, len: number, spread: number): Prefix {
  const b = new Uint8Array(16);
  b.set([0x20, 0x01, 0x0d, 0xb8]);
  // A few fixed bits keep random VRPs and routes overlapping often.
  b[4] = Math.floor(rand() * spread);
  for (let i = 5; i < 9; i++) b[i] = rand() < 0.7 ? 0 : Math.floor(rand() * 256);
  return Prefix.fromBytes(b, Math.max(32, len), { truncate: true });
}

/** Asks RTRlib's rpki-rov (argv, no shell) about each pair: "IP LEN ASN" in, "...|state" out (0 valid, 1 not found, 2 invalid). */
function rpkiRov(port: number, pairs: [Prefix, number][]): Promise<string[]> {
  return new Promise((resolve, reject) => {
    const child = spawn('rpki-rov', ['127.0.0.1', String(port)], { stdio: ['pipe', 'pipe', 'ignore'] });
    const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.on('error', reject);
    child.on('close', () => {
      clearTimeout(timer);
      const lines = out.split('\n').filter((l) => l.includes('|'));
      if (lines.length !== pairs.length)
        return reject(new Error(`rpki-rov answered ${lines.length} of ${pairs.length} lines`));
      resolve(
        lines.map((l) => ({ '0': 'valid', '1': 'not-found', '2': 'invalid' })[l.split('|').at(-1)!.trim()] ?? `? ${l}`),
      );
    });
    child.stdin.end(pairs.map(([p, asn]) => `${p.address} ${p.length} ${asn}\n`).join(''));
  });
}
