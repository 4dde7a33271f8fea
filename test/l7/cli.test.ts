import { expect } from 'chai';
import { appendFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isolatedHome, runFt } from '../helpers/cli.js';
import { clfNow } from '../helpers/clf.js';

interface Tick {
  targets: { target: string; state: string; prefix?: string; sources: { sourceKind: string }[] }[];
  events: {
    type: string;
    incident: { attack_family: string; target: string; top_src_ips: { ip: string }[]; http?: { site: string } };
  }[];
  health: { status: string };
}

describe('ft detect --access-log: L7 sites beside the kernel-counter targets', function () {
  this.timeout(30_000);
  const env = isolatedHome();
  const dir = mkdtempSync(join(tmpdir(), 'ft-l7-cli-'));
  const log = join(dir, 'access.log');
  let writer: NodeJS.Timeout | undefined;
  after(() => {
    clearInterval(writer);
    rmSync(dir, { recursive: true, force: true });
  });

  it('shows site:NAME with its address and opens an http_flood incident over the static threshold', async () => {
    writeFileSync(log, '');
    // 100 requests per 100 ms from one client: 1000 requests/s, far over --static-pps 100.
    writer = setInterval(() => {
      const stamp = clfNow();
      appendFileSync(
        log,
        Array.from(
          { length: 100 },
          (_, i) => `192.0.2.66 - - [${stamp}] "GET /login?i=${i} HTTP/1.1" 401 10 "-" "bot/1"\n`,
        ).join(''),
      );
    }, 100);
    const r = await runFt(
      [
        'detect',
        '--json',
        '--ticks',
        '4',
        '--interval',
        '1000',
        '--interface',
        'lo',
        '--access-log',
        log,
        '--site',
        'shop.example=203.0.113.80',
        '--static-pps',
        '100',
      ],
      env,
    );
    clearInterval(writer);
    expect(r.code, r.stderr).to.equal(0);
    const ticks = r.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Tick);
    const last = ticks.at(-1)!;
    const site = last.targets.find((t) => t.target === 'site:shop.example');
    expect(site, JSON.stringify(last.targets)).to.include({ prefix: '203.0.113.80/32', state: 'attack' });
    expect(site!.sources.map((s) => s.sourceKind)).to.deep.equal(['l7']);
    expect(
      last.targets.some((t) => t.sources.some((s) => s.sourceKind === 'proc')),
      'proc targets still there',
    ).to.equal(true);
    // Other work on this machine may open incidents on lo too (same static threshold): pick the site's.
    const open = ticks
      .flatMap((t) => t.events)
      .find((e) => e.type === 'open' && e.incident.target === '203.0.113.80/32');
    expect(open?.incident).to.deep.include({ attack_family: 'http_flood', target: '203.0.113.80/32' });
    expect(open?.incident.top_src_ips[0]?.ip).to.equal('192.0.2.66');
    expect(open?.incident.http?.site).to.equal('shop.example');
  });

  it('refuses bad access-log options with the reason', async () => {
    const r = await runFt(
      ['detect', '--ticks', '1', '--access-log', log, '--site', 'shop.example=not-an-address'],
      env,
    );
    expect(r.code).to.equal(2);
    expect(r.stderr).to.match(/sites.*not an IP address/);
    const f = await runFt(['detect', '--ticks', '1', '--access-log', log, '--log-format', 'iis'], env);
    expect(f.code).to.equal(2);
    expect(f.stderr).to.match(/format/);
  });
});
