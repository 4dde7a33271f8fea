import { expect } from 'chai';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BIN, ROOT, isolatedHome, runFt } from '../helpers/cli.js';
import { Daemon } from '../helpers/daemon.js';
import { requireLab } from '../helpers/env.js';
import { waitFor } from '../helpers/wait.js';
import { ALLOWED, HostLab, TARGET } from '../host/lab.js';

// A UDP service in the victim namespace: counts what reaches it (the legitimate traffic), and is the process
// whose /proc the proc detector reads (procRoot), so ft sees the namespace's own kernel counters.
const RECEIVER = `const s=require('dgram').createSocket('udp4');let n=0;s.on('message',()=>n++);
s.bind(5000,'${TARGET}');setInterval(()=>process.stdout.write('received '+n+'\\n'),200);`;
// Legitimate clients: a steady ~400 datagrams/s from ALLOWED to the service, bounded (they end on their own).
const CLIENTS = `const s=require('dgram').createSocket('udp4');const b=Buffer.alloc(64);let n=0;
s.bind({address:'${ALLOWED}'},()=>{const t=setInterval(()=>{for(let i=0;i<4;i++){s.send(b,5000,'${TARGET}');n++}},10);
const r=setInterval(()=>process.stdout.write('sent '+n+'\\n'),200);
setTimeout(()=>{clearInterval(t);clearInterval(r);s.close()},Number(process.argv[1])*1000)});`;

interface LogLine {
  msg?: string;
  alert?: boolean;
  target?: string;
  ruleId?: string;
  legitBefore?: number;
  legitAfter?: number;
}
interface AuditRecord {
  op: string;
  phase?: string;
  message?: string;
  ruleId?: string;
  plannedBy?: string;
}

const lastCount = (output: string, word: string) =>
  Number([...output.matchAll(new RegExp(`${word} (\\d+)`, 'g'))].at(-1)?.[1] ?? NaN);

/**
 * One lab for a describe block: a victim namespace with the UDP service, a peer namespace with the legitimate
 * clients and (later) the attacker, and `ft run` with the given on-node step, the proc detector on the victim's
 * interface, the rule in the victim's nftables, and a 10-sample baseline learnt before the flood starts.
 */
function collateralLab(o: { label: string; step: string; resolveAfter: string }) {
  const s = {
    lab: undefined as HostLab | undefined,
    home: '',
    stateDir: '',
    env: {} as Record<string, string>,
    ft: undefined as Daemon | undefined,
    receiver: undefined as Daemon | undefined,
    clients: undefined as Daemon | undefined,
    daemons: [] as Daemon[],
    logLines(): LogLine[] {
      return (s.ft?.output ?? '')
        .split('\n')
        .filter((l) => l.startsWith('{'))
        .map((l) => {
          try {
            return JSON.parse(l) as LogLine;
          } catch {
            return {};
          }
        });
    },
    async audit(): Promise<AuditRecord[]> {
      const r = await runFt(['audit', '--state-dir', s.stateDir, '--json'], s.env);
      expect(r.code, r.stderr).to.equal(0);
      return (JSON.parse(r.stdout) as { records: AuditRecord[] }).records;
    },
    /** Starts the flood: UDP from source port 123 at ~2,500 packets/s, bounded in packets and seconds. */
    flood(packets: number): void {
      s.daemons.push(
        new Daemon(
          s.lab!.peer.argv([
            'timeout',
            '60',
            'hping3',
            '--udp',
            '-s',
            '123',
            '-k',
            '-p',
            '5001',
            '-i',
            'u400',
            '-c',
            String(packets),
            '-q',
            TARGET,
          ]),
        ),
      );
    },
    ruleInKernel(): boolean {
      return s.lab!.fw.exec(['nft', 'list', 'tables']).stdout.includes('inet ft');
    },
  };

  before(async function () {
    requireLab(this, { root: true, commands: ['ip', 'nft', 'hping3', 'timeout'] });
    const lab = (s.lab = HostLab.create(o.label));
    s.home = mkdtempSync(join(tmpdir(), 'ft-collateral-'));
    s.env = { ...isolatedHome(), NO_COLOR: '1' };
    s.stateDir = join(s.home, 'state');
    s.receiver = new Daemon(lab.fw.argv([process.execPath, '-e', RECEIVER]));
    s.daemons.push(s.receiver);
    await waitFor(() => s.receiver!.output.includes('received') || !s.receiver!.running, { what: 'the UDP service' });
    expect(s.receiver.running, s.receiver.output).to.equal(true);
    const policy = join(s.home, 'policy.yaml');
    writeFileSync(
      policy,
      `version: 1
tenant: lab
mode: enforce
defaults: { ttl: 5m, rpki: off }
protect: [192.0.2.0/24]
detection:
  baseline: { window: 10, recalcEvery: 5 }
  static: { pps: 1500pps }
  resolve: { after: ${o.resolveAfter} }
detectors:
  victim: { detector: proc, procRoot: /proc/${s.receiver.child.pid}, interfaces: [ { name: ${lab.fwIf}, address: ${TARGET} } ] }
nodeActions:
  victim-nft: { adapter: nft, netns: ${lab.fw.name} }
onNode:
  - when: { family: udp_flood }
    do: [ { victim-nft: ${o.step} } ]
rollback: { collateralDrop: 90% }
`,
    );
    s.clients = new Daemon(lab.peer.argv([process.execPath, '-e', CLIENTS, '120']));
    s.daemons.push(s.clients);
    // A fast lifecycle tick (the first counter reading right after the rule went in), as a busy loop would see it.
    s.ft = new Daemon(
      [
        process.execPath,
        BIN,
        'run',
        '-p',
        policy,
        '--state-dir',
        s.stateDir,
        '--metrics',
        'off',
        '--watch',
        '--tick-ms',
        '250',
      ],
      { env: s.env, cwd: ROOT },
    );
    s.daemons.push(s.ft);
    // The check compares with the learnt baseline: the flood starts only once ft has learnt what normal is.
    await waitFor(
      () =>
        !s.ft!.running ||
        s
          .ft!.output.split('\n')
          .some((line) => /^\d{2}:\d{2}:\d{2} /.test(line) && line.includes(TARGET) && !line.includes('learning')),
      { timeoutMs: 60_000, what: `ft to learn the baseline of ${TARGET}` },
    );
    expect(s.ft.running, s.ft.output).to.equal(true);
  });

  after(async () => {
    for (const d of s.daemons.reverse()) await d.stop(5000);
    s.lab?.delete();
    if (s.home) rmSync(s.home, { recursive: true, force: true });
  });

  return s;
}

/**
 * The collateral-damage rollback, end to end with real kernel counters: ft run's proc detector reads the victim
 * namespace's interface counters, the policy's on-node rule goes into the namespace's nftables, and the check reads
 * that rule's own nft counters. Legitimate clients send to the target all along; a flood from source port 123
 * makes the policy install its on-node rule.
 */
describe('collateral damage, end to end: a rule that drops the legitimate traffic (ft run, proc, nft counters, namespaces)', function () {
  this.timeout(150_000);
  // Far below what the legitimate clients send: this rule drops them too.
  const s = collateralLab({ label: 'colb', step: '{ rateLimit: 20/s }', resolveAfter: '30s' });

  it('is rolled back and alerted (log line and audit), and stays out while the attack lasts', async () => {
    s.flood(24_000);
    const alert = await waitFor(
      () =>
        s.logLines().find((x) => x.alert && /collateral damage/.test(x.msg ?? '')) ?? (s.ft!.running ? undefined : {}),
      { timeoutMs: 60_000, what: 'the collateral-damage alert' },
    );
    expect(s.ft!.running, s.ft!.output).to.equal(true);
    expect(alert.target).to.equal(`${TARGET}/32`);
    expect(alert.msg).to.match(
      new RegExp(
        `collateral damage: legitimate traffic to ${TARGET.replace(/\./g, '\\.')}/32 fell (9\\d|100)(\\.\\d)?% .* rolled back`,
      ),
    );
    // Measured, not invented: the clients' learnt level, and what the rule let through to the service.
    expect(alert.legitBefore).to.be.greaterThan(100);
    expect(alert.legitAfter).to.be.lessThan(alert.legitBefore! / 10);
    // The kernel: the rule is gone from the namespace's nftables (ft's table with it).
    expect(s.ruleInKernel()).to.equal(false);
    const trail = await s.audit();
    expect(
      trail.some((r) => r.op === 'alert' && r.ruleId === alert.ruleId && /collateral damage/.test(r.message ?? '')),
    ).to.equal(true);
    // The flood goes on and the planner asks again: refused, the rule stays out.
    await waitFor(
      async () =>
        (await s.audit()).some(
          (r) => r.ruleId === alert.ruleId && /rolled back for collateral damage; not re-added/.test(r.message ?? ''),
        ),
      { timeoutMs: 30_000, what: 'the planner asking again and being refused' },
    );
    expect(s.ruleInKernel()).to.equal(false);
  });
});

describe('collateral damage, end to end: a rule that drops only the attack (same lab, source port 123 only)', function () {
  this.timeout(150_000);
  const s = collateralLab({ label: 'colp', step: '{ dropUdpSourcePorts: [123] }', resolveAfter: '3s' });

  it('is never taken for damage: it stays in for the whole flood, the clients keep being served, and it goes when the incident resolves', async () => {
    s.flood(15_000);
    await waitFor(() => s.ruleInKernel(), { timeoutMs: 30_000, what: 'the rule in the namespace nftables' });
    const sent0 = lastCount(s.clients!.output, 'sent');
    const received0 = lastCount(s.receiver!.output, 'received');
    await waitFor(() => !s.ruleInKernel(), { timeoutMs: 90_000, what: 'the rule to go when the incident resolves' });
    const sent = lastCount(s.clients!.output, 'sent') - sent0;
    const received = lastCount(s.receiver!.output, 'received') - received0;
    expect(
      s.logLines().filter((x) => x.alert),
      'no alert',
    ).to.deep.equal([]);
    const trail = await s.audit();
    expect(trail.filter((r) => r.op === 'alert')).to.deep.equal([]);
    // It went because the incident resolved, not as collateral damage.
    const withdrawn = trail.filter((r) => r.op === 'withdraw' && r.phase === 'start');
    expect(withdrawn.length, 'withdrawn once').to.be.greaterThan(0);
    for (const w of withdrawn)
      expect(JSON.stringify(w))
        .to.match(/incident [^"]* resolved/)
        .and.not.match(/collateral/);
    // While it was in, the legitimate clients were served (the rule drops source port 123 only).
    expect(sent, 'datagrams the clients sent while the rule was in').to.be.greaterThan(200);
    expect(received / sent, `received ${received} of ${sent}`).to.be.at.least(0.8);
  });
});
