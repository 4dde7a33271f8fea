import { expect } from 'chai';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { BIN, ROOT, isolatedHome, runFt } from '../helpers/cli.js';
import { Daemon } from '../helpers/daemon.js';
import { requireLab } from '../helpers/env.js';
import { Netns, freePort, link } from '../helpers/net.js';
import { waitFor } from '../helpers/wait.js';

const installed = (file: string) =>
  existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as Record<string, { kind: string; target: string }>) : {};

describe('ft run end to end: a real flood between namespaces → proc detector → incident → on-node rule → resolve → rolled back', function () {
  this.timeout(90_000);
  let attacker: Netns | undefined;
  let victim: Netns | undefined;
  const daemons: Daemon[] = [];

  before(function () {
    requireLab(this, { root: true, commands: ['ip', 'hping3', 'timeout'] });
    attacker = Netns.create('e2e-att');
    victim = Netns.create('e2e-vic');
  });

  after(async () => {
    for (const d of daemons) await d.stop(3000);
    attacker?.delete();
    victim?.delete();
  });

  it("installs the policy's rule while the flood lasts and withdraws it when the incident resolves", async () => {
    const { bIf } = link(attacker!, '203.0.113.1/24', victim!, '203.0.113.10/24');
    const env = isolatedHome();
    const dir = env.HOME as string;
    const linked = await runFt(
      ['plugins', 'link', join(ROOT, 'test', 'fixtures', 'plugin-template'), '--no-install'],
      env,
    );
    expect(linked.code, linked.stderr).to.equal(0);

    // A process living in the victim namespace: the proc detector reads that namespace's counters through it.
    const anchor = new Daemon(victim!.argv(['sleep', '120']));
    daemons.push(anchor);
    await waitFor(() => anchor.child.pid !== undefined && existsSync(`/proc/${anchor.child.pid}/net/dev`), {
      what: 'namespace anchor',
    });
    await waitFor(() => readFileSync(`/proc/${anchor.child.pid}/net/dev`, 'utf8').includes(bIf), {
      what: 'victim interface visible',
    });

    const recordFile = join(dir, 'rules.json');
    const policy = join(dir, 'policy.yaml');
    writeFileSync(
      policy,
      `version: 1
tenant: lab
mode: enforce
defaults: { ttl: 5m, rpki: off, cooldown: 1s }
protect: [203.0.113.0/24]
detection:
  static: { pps: 3000 }
  resolve: { after: 2s }
nodeActions:
  host-rec: { adapter: record-file, file: ${JSON.stringify(recordFile)} }
onNode:
  - when: { family: udp_flood }
    do:
      - host-rec: { rateLimit: 500/s }
`,
    );
    const detectors = join(dir, 'detectors.yaml');
    writeFileSync(
      detectors,
      `victim: { detector: proc, procRoot: /proc/${anchor.child.pid}, interfaces: [{ name: ${bIf}, address: 203.0.113.10 }] }\n`,
    );
    const port = await freePort();
    const stateDir = join(dir, 'state');
    const ft = new Daemon(
      [
        process.execPath,
        BIN,
        'run',
        '-p',
        policy,
        '--detectors',
        detectors,
        '--state-dir',
        stateDir,
        '--metrics',
        `127.0.0.1:${port}`,
        '--tick-ms',
        '200',
        '--json',
      ],
      { env: { ...env, NO_COLOR: '1' }, cwd: ROOT },
    );
    daemons.push(ft);
    // A socket file left by a killed daemon exists at once: wait for this one's start-up line instead.
    await waitFor(() => (existsSync(join(stateDir, 'control.sock')) && ft.output.includes('ft run: ')) || !ft.running, {
      timeoutMs: 20_000,
      what: 'ft run to start',
    });
    expect(ft.running, ft.output).to.equal(true);
    // Some quiet traffic first, so the detector has a reading of the interface before the flood.
    await new Promise((r) => setTimeout(r, 1500));
    expect(installed(recordFile)).to.deep.equal({});

    // Bounded in packets and seconds: at most 400k UDP packets within 6 s, to the victim only.
    const flood = new Daemon(
      attacker!.argv([
        'timeout',
        '6',
        'hping3',
        '--udp',
        '-p',
        '27015',
        '--flood',
        '-c',
        '400000',
        '-q',
        '203.0.113.10',
      ]),
    );
    daemons.push(flood);
    const rule = await waitFor(() => Object.entries(installed(recordFile))[0], {
      timeoutMs: 8000,
      what: `a rule during the flood: ${ft.output.slice(-2000)}`,
    });
    expect(rule[1]).to.deep.equal({ kind: 'host-filter', target: '203.0.113.10/32' });
    const metrics = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
    expect(metrics).to.match(/^ft_samples_total\{source="victim"\} [1-9]/m);
    expect(metrics).to.match(/^ft_incidents_open 1$/m);
    await flood.exited;

    // The flood is over: the incident resolves after 2 s of quiet and the host rule goes with it.
    await waitFor(() => Object.keys(installed(recordFile)).length === 0, {
      timeoutMs: 20_000,
      what: 'the rule to be rolled back after resolve',
    });
    const audit = JSON.parse((await runFt(['audit', '--json', '--state-dir', stateDir], env)).stdout) as {
      records: { op: string; phase: string; plannedBy?: string; message?: string }[];
    };
    expect(audit.records.filter((r) => r.op === 'incident').map((r) => r.message?.split(':')[0])).to.deep.equal([
      'incident open',
      'incident resolve',
    ]);
    expect(audit.records.find((r) => r.op === 'add' && r.phase === 'start')?.plannedBy).to.equal('planner');
    expect(audit.records.some((r) => r.op === 'withdraw' && r.phase === 'start')).to.equal(true);

    ft.child.kill('SIGTERM');
    expect(await ft.exited).to.equal(0);
  });
});
