import { expect } from 'chai';
import { appendFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { collect, type Sample } from '@ft/sdk';
import { l7ConfigSchema, type L7ConfigInput } from '../src/config.js';
import { L7Detector } from '../src/detector.js';
import plugin from '../src/plugin.js';

const T0 = Date.parse('2026-11-22T00:10:00Z');
const clf = (ms: number) => {
  const d = new Date(ms);
  const mon = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'][d.getUTCMonth()];
  const p = (n: number) => String(n).padStart(2, '0');
  return `${p(d.getUTCDate())}/${mon}/${d.getUTCFullYear()}:${p(d.getUTCHours())}:${p(d.getUTCMinutes())}:${p(d.getUTCSeconds())} +0000`;
};
const vhostLine = (at: number, site: string, ip: string, path: string, status: number, agent = 'ua') =>
  `${site}:80 ${ip} - - [${clf(at)}] "GET ${path} HTTP/1.1" ${status} 10 "-" "${agent}"`;

describe('l7 detector: samples per site from a log', () => {
  let dir: string;
  let detector: L7Detector | undefined;
  beforeEach(() => void (dir = mkdtempSync(join(tmpdir(), 'ft-l7-det-'))));
  afterEach(async () => {
    await detector?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  async function run(
    input: Omit<L7ConfigInput, 'files'> & { files?: L7ConfigInput['files'] },
    lines: string[],
    clock: { now: number },
  ) {
    const log = join(dir, 'access.log');
    appendFileSync(log, lines.map((l) => `${l}\n`).join(''));
    const samples: Sample[] = [];
    detector = new L7Detector(
      l7ConfigSchema.parse({ files: [log], startAt: 'beginning', ...input }),
      'web',
      undefined,
      () => clock.now,
    );
    await detector.start((s) => samples.push(s));
    return { samples, log };
  }

  it('windows by the server time stamps: rate, status mix, top clients/paths/agents, distinct clients, per vhost', async () => {
    const clock = { now: T0 + 200 };
    const lines: string[] = [];
    for (let i = 0; i < 90; i++) lines.push(vhostLine(T0, 'shop.example', '203.0.113.66', '/search', 503, 'flood/1'));
    for (let i = 0; i < 10; i++) lines.push(vhostLine(T0, 'shop.example', `198.51.100.${i + 1}`, '/', 200));
    lines.push(vhostLine(T0, 'blog.example', '192.0.2.1', '/feed', 304));
    lines.push(vhostLine(T0 + 1000, 'shop.example', '203.0.113.66', '/search', 503));
    const { samples } = await run({ format: 'auto', sites: { 'shop.example': '203.0.113.80' } }, lines, clock);
    expect(detector!.formatOf(join(dir, 'access.log'))).to.equal('apache-vhost-combined');
    clock.now = T0 + 1000 + 499;
    detector!.flush();
    expect(samples, 'nothing before the grace period ends').to.deep.equal([]);
    clock.now = T0 + 1500;
    detector!.flush();
    const shop = samples.find((s) => s.target === 'site:shop.example')!;
    expect(shop).to.deep.include({
      source: 'web',
      sourceKind: 'l7',
      at: T0 + 1000,
      windowMs: 1000,
      pps: 100,
      direction: 'in',
    });
    expect(shop.prefix?.toString()).to.equal('203.0.113.80/32');
    expect(shop.http?.statuses).to.deep.equal({ '1xx': 0, '2xx': 10, '3xx': 0, '4xx': 0, '5xx': 90 });
    expect(shop.http?.topClients?.[0]).to.deep.equal({ key: '203.0.113.66', count: 90 });
    expect(shop.topSrcIps?.[0]).to.deep.equal({ key: '203.0.113.66', count: 90 });
    expect(shop.http?.topPaths?.[0]).to.deep.equal({ key: '/search', count: 90 });
    expect(shop.http?.topAgents?.[0]).to.deep.equal({ key: 'flood/1', count: 90 });
    expect(shop.http?.uniqueClients).to.equal(11);
    // vhost_combined logs the server port: FlowSpec matches for the site can name it.
    expect(shop.topDstPorts).to.deep.equal([{ key: 80, count: 100 }]);
    const blog = samples.find((s) => s.target === 'site:blog.example')!;
    expect(blog.pps).to.equal(1);
    expect(blog.prefix).to.equal(undefined);
    // The next window, and an idle site still reported (zero) so incidents can resolve.
    clock.now = T0 + 2500;
    detector!.flush();
    const next = samples.filter((s) => s.at === T0 + 2000);
    expect(next.map((s) => [s.target, s.pps]).sort()).to.deep.equal([
      ['site:blog.example', 0],
      ['site:shop.example', 1],
    ]);
  });

  it('garbled lines are counted by reason and skipped; the good ones around them still count', async () => {
    const clock = { now: T0 + 200 };
    const good = `203.0.113.9 - - [${clf(T0)}] "GET / HTTP/1.1" 200 1 "-" "x"`;
    const lines = [
      good,
      'not a log line',
      `203.0.113.9 - - [${clf(T0)}] "GET / HTTP/1.1" 999 1 "-" "x"`,
      '\x00\x01\x02\xff\xfe',
      good,
      `${'A'.repeat(40_000)}`,
      good,
    ];
    const { samples } = await run(
      { format: 'nginx-combined', files: [{ path: join(dir, 'access.log'), site: 'shop.example' }] },
      lines,
      clock,
    );
    clock.now = T0 + 1500;
    detector!.flush();
    expect(samples.find((s) => s.target === 'site:shop.example')?.pps).to.equal(3);
    expect(detector!.counters).to.deep.include({ lines: 7, parsed: 3 });
    expect(detector!.counters.skipped).to.deep.include({ shape: 2, status: 1, oversize: 1 });
    expect(detector!.health()).to.deep.include({ status: 'degraded' });
  });

  it('a client field that is not an address (999.1.1.1, 1.2.3.4.5, nine IPv6 groups) is skipped and counted, never a request', async () => {
    const clock = { now: T0 + 200 };
    const line = (ip: string) => `${ip} - - [${clf(T0)}] "GET /login HTTP/1.1" 200 1 "-" "x"`;
    const lines = [
      line('203.0.113.9'),
      line('999.1.1.1'),
      line('1.2.3.4.5'),
      line('2001:db8:1:2:3:4:5:6:7'),
      line('2001:db8::9'),
    ];
    const { samples } = await run(
      { format: 'nginx-combined', files: [{ path: join(dir, 'access.log'), site: 'shop.example' }] },
      lines,
      clock,
    );
    clock.now = T0 + 1500;
    detector!.flush();
    const shop = samples.find((s) => s.target === 'site:shop.example')!;
    expect(shop.pps, 'only the two real clients are requests').to.equal(2);
    expect(shop.http?.uniqueClients).to.equal(2);
    expect(shop.http?.topClients?.map((c) => c.key).sort()).to.deep.equal(['2001:db8::9', '203.0.113.9']);
    expect(detector!.counters).to.deep.include({ lines: 5, parsed: 2 });
    expect(detector!.counters.skipped.client).to.equal(3);
    expect(detector!.health().detail).to.match(/access\.log: lines skipped \(client/);
  });

  it('hostile Host headers cannot create unbounded sites: beyond maxSites they count as "other"', async () => {
    const clock = { now: T0 + 200 };
    const lines = Array.from({ length: 50 }, (_, i) => vhostLine(T0, `h${i}.example`, '192.0.2.7', '/', 200));
    const { samples } = await run({ format: 'apache-vhost-combined', maxSites: 5 }, lines, clock);
    clock.now = T0 + 1500;
    detector!.flush();
    expect(samples).to.have.length(6);
    expect(samples.find((s) => s.target === 'site:other')?.pps).to.equal(45);
  });

  it('history older than the open windows does not feed detection', async () => {
    const clock = { now: T0 + 60_000 };
    const { samples } = await run(
      { format: 'apache-vhost-combined' },
      [vhostLine(T0, 'a.example', '192.0.2.7', '/', 200)],
      clock,
    );
    clock.now = T0 + 62_000;
    detector!.flush();
    expect(samples).to.deep.equal([]);
    expect(detector!.health().detail).to.match(/over 10 s in the past/);
  });

  it('after a stall (suspend, clock step) it skips the missed windows and counts new lines in the right one', async () => {
    const clock = { now: T0 + 200 };
    const { samples, log } = await run(
      { format: 'apache-vhost-combined' },
      [vhostLine(T0, 'a.example', '192.0.2.7', '/', 200)],
      clock,
    );
    clock.now = T0 + 1500;
    detector!.flush();
    expect(samples.map((s) => s.pps)).to.deep.equal([1]);
    const later = T0 + 3_600_000;
    clock.now = later + 100;
    detector!.flush();
    // The site went idle for an hour: no hour of zero samples replayed.
    expect(samples).to.have.length(1);
    appendFileSync(
      log,
      `${vhostLine(later, 'a.example', '192.0.2.7', '/', 200)}\n${vhostLine(later, 'a.example', '192.0.2.8', '/', 200)}\n`,
    );
    await new Promise((r) => setTimeout(r, 400));
    clock.now = later + 1500;
    detector!.flush();
    expect(samples.slice(1).map((s) => [s.at, s.pps])).to.deep.equal([[later + 1000, 2]]);
  });

  it('the plugin registers kind l7; its schema refuses bad options with the reason', () => {
    const reg = collect(plugin);
    const f = reg.detectors.find((d) => d.kind === 'l7')!;
    expect(f).to.not.equal(undefined);
    const bad = (c: unknown) => {
      const r = f.configSchema.safeParse(c);
      expect(r.success).to.equal(false);
      return JSON.stringify(r.error?.issues);
    };
    expect(bad({ files: ['relative.log'] })).to.match(/absolute/);
    expect(bad({ files: ['/var/*/access.log'] })).to.match(/only allowed in the file name/);
    expect(bad({ files: ['/a.log'], sites: { 'shop.example': 'not-an-ip' } })).to.match(/not an IP/);
    expect(bad({ files: ['/a.log'], format: { nginx: '$remote_addr "$request"' } })).to.match(/lacks/);
    expect(bad({ files: ['/a.log'], format: 'iis' })).to.match(/format/);
    expect(bad({ files: ['/a.log'], surprise: 1 })).to.match(/surprise|unrecognized/i);
  });

  it('create() opens nothing: a missing file only shows once started', async () => {
    const f = collect(plugin).detectors.find((d) => d.kind === 'l7')!;
    const d = await f.create(f.configSchema.parse({ files: [join(dir, 'nope.log')] }), {
      name: 'x',
      logger: undefined as never,
      stateDir: dir,
      secret: () => {
        throw new Error('no');
      },
      signal: new AbortController().signal,
    });
    expect(d.health().status).to.equal('ok');
    await d.start(() => undefined);
    expect(d.health()).to.deep.include({ status: 'degraded' });
    expect(d.health().detail).to.match(/does not exist/);
    await d.stop();
  });

  it('a missing log keeps health degraded for as long as it is missing', async () => {
    const clock = { now: T0 };
    detector = new L7Detector(
      l7ConfigSchema.parse({ files: [join(dir, 'later.log')] }),
      'web',
      undefined,
      () => clock.now,
    );
    await detector.start(() => undefined);
    clock.now += 10 * 60_000;
    expect(detector.health()).to.deep.include({ status: 'degraded' });
    expect(detector.health().detail).to.match(/later\.log does not exist/);
    appendFileSync(join(dir, 'later.log'), '');
    await detector['tailer']!.poll();
    expect(detector.health()).to.deep.equal({ status: 'ok' });
  });
});
