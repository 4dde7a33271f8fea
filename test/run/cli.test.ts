import { expect } from 'chai';
import {
  chmodSync,
  chownSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BIN, ROOT, isolatedHome, runFt } from '../helpers/cli.js';
import { Daemon } from '../helpers/daemon.js';
import { freePort, run } from '../helpers/net.js';
import { IS_ROOT, hasCommand } from '../helpers/env.js';
import { waitFor } from '../helpers/wait.js';
import { policyText } from './loop.js';

const RULE = (host: string) =>
  JSON.stringify({
    kind: 'host-filter',
    target: `${host}/32`,
    match: { destination: `${host}/32`, protocol: 'udp', sourcePorts: [{ min: 53, max: 53 }] },
    action: { type: 'drop' },
  });

/** oclif wraps error messages at the terminal width behind " ›  " markers: join them back into one line. */
const flat = (text: string) => text.replace(/\n\s*›\s*/g, ' ').replace(/\s+/g, ' ');

const installed = (file: string) =>
  existsSync(file) ? Object.keys(JSON.parse(readFileSync(file, 'utf8')) as object).sort() : [];

describe('ft run, ft mitigate apply|withdraw|list, ft audit (the built CLI)', function () {
  this.timeout(60_000);
  let env: Record<string, string>;
  let dir: string;
  let policy: string;
  let recordFile: string;
  let stateDir: string;
  const daemons: Daemon[] = [];

  beforeEach(async () => {
    env = isolatedHome();
    dir = env.HOME as string;
    recordFile = join(dir, 'rules.json');
    stateDir = join(dir, 'state');
    policy = join(dir, 'policy.yaml');
    writeFileSync(policy, policyText(recordFile));
    const link = await runFt(
      ['plugins', 'link', join(ROOT, 'test', 'fixtures', 'plugin-template'), '--no-install'],
      env,
    );
    expect(link.code, link.stderr).to.equal(0);
  });

  afterEach(async () => {
    for (const d of daemons.splice(0)) await d.stop(2000);
  });

  async function startRun(extra: string[] = []): Promise<{ d: Daemon; port: number }> {
    const port = await freePort();
    const d = new Daemon(
      [
        process.execPath,
        BIN,
        'run',
        '-p',
        policy,
        '--state-dir',
        stateDir,
        '--metrics',
        `127.0.0.1:${port}`,
        '--json',
        ...extra,
      ],
      { env: { ...env, NO_COLOR: '1' }, cwd: ROOT },
    );
    daemons.push(d);
    // A socket file left by a killed daemon exists at once: wait for this one's start-up line instead.
    await waitFor(() => (existsSync(join(stateDir, 'control.sock')) && d.output.includes('ft run: ')) || !d.running, {
      timeoutMs: 20_000,
      what: `ft run to start: ${d.output}`,
    });
    expect(d.running, d.output).to.equal(true);
    return { d, port };
  }

  it('a running ft run takes operator requests, shows them in metrics and list, and on SIGTERM withdraws everything', async () => {
    const { d, port } = await startRun();
    const apply = await runFt(
      [
        'mitigate',
        'apply',
        '-p',
        policy,
        '--rule',
        '-',
        '--via',
        'host-rec',
        '--ttl',
        '10m',
        '--yes',
        '--state-dir',
        stateDir,
      ],
      env,
      RULE('203.0.113.20'),
    );
    expect(apply.code, apply.stderr).to.equal(0);
    expect(apply.stdout).to.include('Handed to the running ft run');
    expect(installed(recordFile)).to.have.length(1);

    const list = JSON.parse((await runFt(['mitigate', 'list', '--json', '--state-dir', stateDir], env)).stdout) as {
      rules: { id: string; target: string; remainingSeconds: number; adapters: { name: string; state: string }[] }[];
    };
    expect(list.rules).to.have.length(1);
    expect(list.rules[0]).to.deep.include({
      target: '203.0.113.20/32',
      adapters: [{ name: 'host-rec', state: 'installed' }],
    });
    expect(list.rules[0]!.remainingSeconds).to.be.within(590, 600);

    const metrics = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
    expect(metrics).to.match(/^ft_rules_live\{kind="host-filter",level="0"\} 1$/m);
    expect(metrics).to.match(/^ft_op_duration_seconds_count\{op="add",adapter="host-rec",outcome="ok"\} 1$/m);
    expect(metrics).to.match(/^ft_incidents_open 0$/m);

    const audit = JSON.parse(
      (await runFt(['audit', '--json', '--rule', list.rules[0]!.id, '--state-dir', stateDir], env)).stdout,
    ) as { records: { phase: string; plannedBy: string; outcome?: string }[] };
    expect(audit.records.map((r) => r.phase)).to.deep.equal(['start', 'end']);
    expect(audit.records[0]!.plannedBy).to.match(/^operator:/);

    d.child.kill('SIGTERM');
    expect(await d.exited).to.equal(0);
    expect(installed(recordFile)).to.deep.equal([]);
    const out = JSON.parse(d.output.slice(d.output.indexOf('{\n'))) as { stoppedBy: string; liveAtExit: unknown[] };
    expect(out.stoppedBy).to.equal('SIGTERM');
    expect(out.liveAtExit).to.deep.equal([]);
    expect(existsSync(join(stateDir, 'lock'))).to.equal(false);
  });

  it('after kill -9, the next start withdraws orphans tagged as ours and keeps what is still live', async () => {
    const { d } = await startRun();
    const apply = await runFt(
      ['mitigate', 'apply', '-p', policy, '--rule', '-', '--via', 'host-rec', '--yes', '--state-dir', stateDir],
      env,
      RULE('203.0.113.21'),
    );
    expect(apply.code, apply.stderr).to.equal(0);
    d.child.kill('SIGKILL');
    await d.exited;
    const [live] = installed(recordFile);
    // Something installed under ft's tag that the store never recorded (e.g. another ft's leftovers).
    const rules = JSON.parse(readFileSync(recordFile, 'utf8')) as Record<string, unknown>;
    rules['hf-00000000000000aa'] = { kind: 'host-filter', target: '203.0.113.99/32' };
    writeFileSync(recordFile, JSON.stringify(rules));

    const once = await runFt(
      ['run', '-p', policy, '--state-dir', stateDir, '--once', '--metrics', 'off', '--json'],
      env,
    );
    expect(once.code, once.stderr).to.equal(0);
    const res = JSON.parse(once.stdout) as {
      reconcile: { orphansWithdrawn: { ruleId: string }[] };
      liveAtExit: { id: string }[];
    };
    expect(res.reconcile.orphansWithdrawn.map((o) => o.ruleId)).to.deep.equal(['hf-00000000000000aa']);
    expect(res.liveAtExit.map((r) => r.id)).to.deep.equal([live]);
    expect(installed(recordFile)).to.deep.equal([live]);
  });

  it('apply refuses without confirmation when stdin is not a terminal, and refuses a rule outside protected space', async () => {
    const noYes = await runFt(
      ['mitigate', 'apply', '-p', policy, '--rule', '-', '--via', 'host-rec', '--state-dir', stateDir],
      env,
      RULE('203.0.113.22'),
    );
    expect(noYes.code).to.equal(2);
    expect(flat(noYes.stderr)).to.include('stdin is not a terminal; pass --yes');
    const outside = await runFt(
      ['mitigate', 'apply', '-p', policy, '--rule', '-', '--via', 'host-rec', '--yes', '--state-dir', stateDir],
      env,
      RULE('198.51.100.7'),
    );
    expect(outside.code).to.equal(1);
    expect(flat(outside.stderr)).to.include('refused by rail outside-protect');
    expect(installed(recordFile)).to.deep.equal([]);

    const direct = await runFt(
      ['mitigate', 'apply', '-p', policy, '--rule', '-', '--via', 'host-rec', '--yes', '--state-dir', stateDir],
      env,
      RULE('203.0.113.22'),
    );
    expect(direct.code, direct.stderr).to.equal(0);
    expect(direct.stdout).to.include('Applied directly');
    const [id] = installed(recordFile);
    const noPolicy = await runFt(['mitigate', 'withdraw', id!, '--state-dir', stateDir], env);
    expect(noPolicy.code).to.equal(1);
    expect(flat(noPolicy.stderr)).to.include('pass --policy');
    const w = await runFt(['mitigate', 'withdraw', id!, '-p', policy, '--state-dir', stateDir, '--json'], env);
    expect(w.code, w.stderr).to.equal(0);
    expect(installed(recordFile)).to.deep.equal([]);
  });

  it('a corrupt journal stops ft run with a clear error and deletes nothing; --repair-state moves it aside', async () => {
    const apply = await runFt(
      ['mitigate', 'apply', '-p', policy, '--rule', '-', '--via', 'host-rec', '--yes', '--state-dir', stateDir],
      env,
      RULE('203.0.113.23'),
    );
    expect(apply.code, apply.stderr).to.equal(0);
    const log = join(
      stateDir,
      readdirSync(stateDir).find((f) => f.endsWith('.log'))!,
    );
    const image = readFileSync(log);
    image.writeUInt8(image.readUInt8(20) ^ 0x55, 20); // inside the first record, with a whole record after it
    // Pad with a valid-looking tail large enough that this cannot be mistaken for a torn write.
    const damaged = Buffer.concat([image, Buffer.alloc(5 * 1024 * 1024, 0x20)]);
    writeFileSync(log, damaged);
    const bad = await runFt(['run', '-p', policy, '--state-dir', stateDir, '--once', '--metrics', 'off'], env);
    expect(bad.code).to.equal(1);
    expect(flat(bad.stderr)).to.match(/journal .*state-00000001\.log is corrupt at byte 8/);
    expect(flat(bad.stderr)).to.include('--repair-state');
    expect(readFileSync(log).equals(damaged), 'the journal was changed').to.equal(true);
    const repaired = await runFt(
      ['run', '-p', policy, '--state-dir', stateDir, '--once', '--metrics', 'off', '--repair-state'],
      env,
    );
    expect(repaired.code, repaired.stderr).to.equal(0);
    expect(readdirSync(stateDir).filter((f) => f.includes('.corrupt-'))).to.have.length(1);
  });

  it('a state directory that cannot be created is a clear error at once, not a hang', async () => {
    // Node 20's recursive mkdir spins forever (deaf to SIGTERM) on ENOENT under /proc; mocha's timeout catches a hang.
    const r = await runFt(
      ['run', '-p', policy, '--state-dir', '/proc/ft-nope/state', '--once', '--metrics', 'off'],
      env,
    );
    expect(r.code).to.equal(1);
    expect(flat(r.stderr)).to.include('state directory /proc/ft-nope/state: cannot be created in /proc (ENOENT)');
  });

  it('applies a plan saved from preview, and refuses one whose rule was edited after the planner made it', async () => {
    const preview = await runFt(
      ['mitigate', 'preview', '-p', policy, '--simulate', 'udp_flood 800Mbps to 203.0.113.25 vector=ntp', '--json'],
      env,
    );
    expect(preview.code, preview.stderr).to.equal(0);
    const planFile = join(dir, 'plan.json');
    writeFileSync(planFile, preview.stdout);
    const saved = JSON.parse(preview.stdout) as {
      plan: { ops: { rule: { id: string; target: string; match: { destination: string } } }[] };
    };
    expect(saved.plan.ops).to.have.length(1);

    const edited = structuredClone(saved);
    edited.plan.ops[0]!.rule.target = '203.0.113.26/32';
    edited.plan.ops[0]!.rule.match.destination = '203.0.113.26/32';
    const editedFile = join(dir, 'edited.json');
    writeFileSync(editedFile, JSON.stringify(edited));
    const refused = await runFt(
      ['mitigate', 'apply', '-p', policy, '--plan', editedFile, '--yes', '--state-dir', stateDir],
      env,
    );
    expect(refused.code).to.equal(2);
    expect(flat(refused.stderr)).to.include('does not match its content');
    expect(installed(recordFile)).to.deep.equal([]);

    const applied = await runFt(
      ['mitigate', 'apply', '-p', policy, '--plan', planFile, '--yes', '--state-dir', stateDir, '--json'],
      env,
    );
    expect(applied.code, applied.stderr).to.equal(0);
    expect(installed(recordFile)).to.deep.equal([saved.plan.ops[0]!.rule.id]);
  });

  it('a rule whose action left the policy cannot be withdrawn through it (kept, retried), until the operator forgets it', async () => {
    const apply = await runFt(
      [
        'mitigate',
        'apply',
        '-p',
        policy,
        '--rule',
        '-',
        '--via',
        'host-rec',
        '--yes',
        '--state-dir',
        stateDir,
        '--json',
      ],
      env,
      RULE('203.0.113.24'),
    );
    expect(apply.code, apply.stderr).to.equal(0);
    const id = (JSON.parse(apply.stdout) as { report: { ops: { ruleId: string }[] } }).report.ops[0]!.ruleId;
    const without = join(dir, 'policy-without.yaml');
    writeFileSync(
      without,
      'version: 1\ntenant: lab\nmode: enforce\ndefaults: { rpki: off }\nprotect: [203.0.113.0/24]\n',
    );
    const w = await runFt(['mitigate', 'withdraw', id, '-p', without, '--state-dir', stateDir], env);
    expect(w.code).to.equal(1);
    expect(w.stdout).to.include('no action instance named host-rec is running; will retry');
    const listed = JSON.parse((await runFt(['mitigate', 'list', '--json', '--state-dir', stateDir], env)).stdout) as {
      rules: { id: string; phase: string }[];
    };
    expect(listed.rules).to.deep.equal([{ ...listed.rules[0], id, phase: 'withdrawing' }]);

    const f = await runFt(['mitigate', 'withdraw', id, '--forget', '--state-dir', stateDir], env);
    expect(f.code, f.stderr).to.equal(0);
    expect(f.stdout).to.include(`FORGOTTEN ${id}`);
    expect(
      (
        JSON.parse((await runFt(['mitigate', 'list', '--json', '--state-dir', stateDir], env)).stdout) as {
          rules: unknown[];
        }
      ).rules,
    ).to.deep.equal([]);
    const audit = JSON.parse((await runFt(['audit', '--json', '--rule', id, '--state-dir', stateDir], env)).stdout) as {
      records: { op: string; message?: string }[];
    };
    expect(audit.records.at(-1)?.op).to.equal('forget');
    expect(audit.records.at(-1)?.message).to.include('anything still installed is now the operator');
    expect(installed(recordFile)).to.deep.equal([id]); // ft did not touch it: the operator's now
  });

  it('bad --state-dir and a non-loopback --metrics are clear errors', async () => {
    const file = join(dir, 'plain-file');
    writeFileSync(file, 'x');
    const r = await runFt(['run', '-p', policy, '--state-dir', file, '--once', '--metrics', 'off'], env);
    expect(r.code).to.equal(1);
    expect(flat(r.stderr)).to.include(`state directory ${file}: exists but is not a directory`);
    const m = await runFt(['run', '-p', policy, '--state-dir', stateDir, '--once', '--metrics', '0.0.0.0:9310'], env);
    expect(m.code).to.equal(2);
    expect(flat(m.stderr)).to.include('not a loopback address');
    mkdirSync(stateDir, { recursive: true, mode: 0o700 });
    if (IS_ROOT && hasCommand('runuser') && hasCommand('setpriv')) {
      // Another user's state directory (0700): refused with who and why, for readers and for the daemon. The
      // natural way is to run ft as `nobody` against root's directory; that needs `nobody` to reach this checkout,
      // which a checkout under a 0700 directory (CI's mktemp -d) does not allow. Then the directory is handed to
      // nobody instead and ft runs as root without the capabilities that let root read anyone's files: the same
      // access check, refused the same way, only the uid in the message differs.
      const nobodyReachesFt =
        run(['runuser', '-u', 'nobody', '--', 'test', '-r', BIN], { allowFail: true }).status === 0 &&
        run(['runuser', '-u', 'nobody', '--', 'test', '-x', join(ROOT, 'node_modules')], { allowFail: true }).status ===
          0;
      const home = mkdtempSync(join(tmpdir(), 'ft-nobody-'));
      chmodSync(home, 0o777);
      let uid = 65534;
      let asOther: (args: string[]) => { status: number | null; stderr: string };
      if (nobodyReachesFt) {
        asOther = (args) =>
          run(
            [
              'runuser',
              '-u',
              'nobody',
              '--',
              'env',
              `HOME=${home}`,
              `FT_DATA_DIR=${home}/d`,
              `FT_CONFIG_DIR=${home}/c`,
              `FT_CACHE_DIR=${home}/k`,
              process.execPath,
              BIN,
              ...args,
            ],
            { allowFail: true },
          );
      } else {
        uid = 0;
        chownSync(stateDir, 65534, 65534);
        asOther = (args) =>
          run(
            [
              'setpriv',
              '--inh-caps=-all',
              '--bounding-set=-dac_override,-dac_read_search',
              '--',
              'env',
              `HOME=${home}`,
              `FT_DATA_DIR=${home}/d`,
              `FT_CONFIG_DIR=${home}/c`,
              `FT_CACHE_DIR=${home}/k`,
              process.execPath,
              BIN,
              ...args,
            ],
            { allowFail: true },
          );
      }
      const reader = asOther(['audit', '--state-dir', stateDir]);
      expect(reader.status, reader.stderr).to.equal(1);
      expect(flat(reader.stderr)).to.include(`state directory ${stateDir}: not readable by this user (uid ${uid})`);
      const plain = join(home, 'policy.yaml');
      writeFileSync(
        plain,
        'version: 1\ntenant: lab\nmode: enforce\ndefaults: { rpki: off }\nprotect: [203.0.113.0/24]\n',
        { mode: 0o644 },
      );
      const daemon = asOther(['run', '-p', plain, '--state-dir', stateDir, '--once', '--metrics', 'off']);
      expect(daemon.status, daemon.stderr).to.equal(1);
      expect(flat(daemon.stderr)).to.include(`state directory ${stateDir}: not writable by this user (uid ${uid})`);
      rmSync(home, { recursive: true, force: true });
    }
    const list = await runFt(['mitigate', 'list', '--state-dir', join(dir, 'nothing-here')], env);
    expect(list.code).to.equal(0);
    expect(list.stdout).to.include('No live rules');
  });
});
