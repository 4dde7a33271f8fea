import { expect } from 'chai';
import { isolatedHome, runFt } from '../helpers/cli.js';

describe('ft detect', function () {
  this.timeout(30_000);
  const env = isolatedHome();

  it('runs with no configuration: one JSON object per refresh, bounded by --ticks', async () => {
    const r = await runFt(['detect', '--json', '--ticks', '2', '--interval', '200'], env);
    expect(r.code, r.stderr).to.equal(0);
    const lines = r.stdout.trim().split('\n');
    expect(lines).to.have.length(2);
    for (const line of lines) {
      const tick = JSON.parse(line) as {
        at: string;
        targets: { target: string; state: string }[];
        health: { status: string };
      };
      expect(Number.isNaN(Date.parse(tick.at))).to.equal(false);
      expect(tick.health.status).to.equal('ok');
      expect(
        tick.targets.every((t) => t.state === 'learning'),
        'a fresh baseline is learning',
      ).to.equal(true);
      expect(
        tick.targets.some((t) => t.target === 'if:lo' || t.target.startsWith('127.')),
        'loopback is not watched',
      ).to.equal(false);
    }
  });

  it('--test fires a synthetic incident end to end and prints it', async () => {
    const r = await runFt(['detect', '--test', '--json'], env);
    expect(r.code, r.stderr).to.equal(0);
    const out = JSON.parse(r.stdout) as {
      target: string;
      detectedAfterMs: number;
      events: { type: string; incident: Record<string, unknown> }[];
    };
    expect(out.target).to.equal('192.0.2.1/32');
    expect(out.detectedAfterMs).to.be.at.most(1000);
    const types = out.events.map((e) => e.type);
    expect(types[0]).to.equal('open');
    expect(types.at(-1)).to.equal('resolve');
    const incident = out.events.at(-1)!.incident;
    expect(incident).to.include({ attack_family: 'udp_flood', target: '192.0.2.1/32', state: 'resolved' });
    expect(incident.vector).to.deep.equal(['ntp']);

    const human = await runFt(['detect', '--test'], env);
    expect(human.code).to.equal(0);
    expect(human.stdout).to.match(/OPEN +192\.0\.2\.1\/32 udp_flood vector ntp/);
    expect(human.stdout).to.match(/RESOLVE 192\.0\.2\.1\/32/);
  });

  it('a bad interface name is refused before anything runs, naming the option', async () => {
    const r = await runFt(['detect', '--interface', 'eth0/../x', '--ticks', '1'], env);
    expect(r.code).to.equal(2);
    expect(r.stderr).to.match(/interfaces.*not a Linux interface name/);
  });

  it('an unreadable --proc-root is a clear error', async () => {
    const r = await runFt(
      ['detect', '--proc-root', '/nonexistent-proc', '--ticks', '1', '--address', '203.0.113.10'],
      env,
    );
    expect(r.code).to.not.equal(0);
    expect(r.stderr).to.match(/cannot read \/nonexistent-proc\/net\/dev/);
  });
});
