import { expect } from 'chai';
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BIN, ROOT, isolatedHome, runFt } from '../helpers/cli.js';
import { Daemon } from '../helpers/daemon.js';
import { waitFor } from '../helpers/wait.js';

/**
 * What a third party does with the template, outside this repository: copy it, install the packed @ft/sdk to
 * develop against, link it into ft, and use both of its kinds from a policy: validate, preview, and `ft run`
 * carrying a plan out through them. The network speaker talks to a small HTTP controller this test runs on
 * loopback (the template's own API: PUT/DELETE/GET /routes), which records what it was sent.
 */
describe('a plugin copied out of the repository from test/fixtures/plugin-template', function () {
  this.timeout(180_000);
  const work = mkdtempSync(join(tmpdir(), 'ft-plugin-out-'));
  const plugin = join(work, 'ft-plugin-template');
  const env = { ...isolatedHome(), FT_TEST_CONTROLLER_TOKEN: 's3cret-token' };
  const routes = new Map<string, { kind: string; target: string }>();
  const seen: { method: string; url: string; authorization?: string }[] = [];
  let controller: Server;
  let port = 0;
  let daemon: Daemon | undefined;

  const npm = (args: string[], cwd: string) => {
    const r = spawnSync('npm', args, { cwd, encoding: 'utf8', env: { ...process.env, npm_config_loglevel: 'error' } });
    expect(r.status, `npm ${args.join(' ')}\n${r.stdout}\n${r.stderr}`).to.equal(0);
    return r.stdout;
  };

  before(async () => {
    controller = createServer((req, res) => {
      let body = '';
      req.on('data', (d: Buffer) => (body += d.toString()));
      req.on('end', () => {
        seen.push({ method: req.method!, url: req.url!, authorization: req.headers.authorization });
        const id = decodeURIComponent(req.url!.replace(/^\/routes\/?/, ''));
        res.setHeader('content-type', 'application/json');
        if (req.method === 'GET' && req.url === '/routes')
          return res.end(JSON.stringify([...routes].map(([rid, r]) => ({ id: rid, ...r }))));
        if (req.method === 'PUT' && id) {
          const rule = JSON.parse(body) as { kind: string; target: string };
          routes.set(id, { kind: rule.kind, target: rule.target });
          return res.end('{}');
        }
        if (req.method === 'DELETE' && id) {
          res.statusCode = routes.delete(id) ? 200 : 404;
          return res.end('{}');
        }
        res.statusCode = 400;
        res.end('{}');
      });
    });
    await new Promise<void>((resolve) => controller.listen(0, '127.0.0.1', resolve));
    port = (controller.address() as AddressInfo).port;
  });

  after(async () => {
    await daemon?.stop(5000);
    await new Promise((resolve) => controller.close(resolve));
    rmSync(work, { recursive: true, force: true });
  });

  it('@ft/sdk packs into a tarball that installs on its own, and the copied template develops against it', () => {
    const packed = npm(['pack', '--pack-destination', work, '--silent'], join(ROOT, 'core', 'sdk')).trim();
    const tarball = join(work, packed.split('\n').pop()!);
    expect(existsSync(tarball), tarball).to.equal(true);
    cpSync(join(ROOT, 'test', 'fixtures', 'plugin-template'), plugin, { recursive: true });
    npm(['install', '--no-audit', '--no-fund', '--prefer-offline', '--save-dev', tarball, 'zod@^4'], plugin);
    const pkg = JSON.parse(readFileSync(join(plugin, 'package.json'), 'utf8')) as {
      devDependencies: Record<string, string>;
      peerDependencies: Record<string, string>;
    };
    expect(pkg.devDependencies['@ft/sdk']).to.match(/ft-sdk-0\.1\.0\.tgz$/);
    expect(pkg.peerDependencies).to.have.keys('@ft/sdk', 'zod');
    // The installed sdk is complete: its entry point loads with nothing from this repository.
    const load = spawnSync(
      process.execPath,
      ['--input-type=module', '-e', "import('@ft/sdk').then((m) => console.log(typeof m.definePlugin))"],
      { cwd: plugin, encoding: 'utf8' },
    );
    expect(load.stdout.trim(), load.stderr).to.equal('function');
    expect(readdirSync(join(plugin, 'node_modules', '@ft'))).to.deep.equal(['sdk']);
  });

  it('`ft plugins link` adds it without a warning, and ft registry lists the on-node action and the speaker', async () => {
    // An installed plugin with optional peers has no @ft/sdk of its own: ft must supply both peers.
    rmSync(join(plugin, 'node_modules'), { recursive: true, force: true });
    const link = await runFt(['plugins', 'link', plugin, '--no-install'], env);
    expect(link.code, link.stderr).to.equal(0);
    const r = await runFt(['registry', '--json'], env);
    expect(r.code, r.stderr).to.equal(0);
    expect(r.stderr).to.not.match(/auto-transpiled|warning/i);
    const kinds = (
      JSON.parse(r.stdout) as { kinds: { kind: string; plugin: string; reach: string; capabilities: string[] }[] }
    ).kinds;
    expect(kinds.find((k) => k.kind === 'record-file')).to.deep.include({
      plugin: 'ft-plugin-template',
      reach: 'host',
      capabilities: ['host-filter'],
    });
    expect(kinds.find((k) => k.kind === 'http-controller')).to.deep.include({
      plugin: 'ft-plugin-template',
      reach: 'network',
      capabilities: ['flowspec', 'rtbh'],
    });
  });

  it('a policy using both validates and previews, and ft run applies the plan through them and withdraws it', async () => {
    const journal = join(work, 'journal.json');
    const stateDir = join(work, 'state');
    const policy = join(work, 'policy.yaml');
    writeFileSync(
      policy,
      `version: 1
tenant: lab
mode: enforce
defaults: { ttl: 10m, rpki: off }
protect: [203.0.113.0/24]
nodeActions:
  journal: { adapter: record-file, file: ${journal} }
speakers:
  ctl: { adapter: http-controller, url: "http://127.0.0.1:${port}", token: FT_TEST_CONTROLLER_TOKEN }
escalation:
  - { level: 1, when: { bps: ">100Mbps" }, do: { flowspec: { then: discard } }, via: [ctl] }
onNode:
  - when: { vector: [dns], bps: ">50Mbps" }
    do:
      - journal: { dropUdpSourcePorts: auto }
`,
    );
    const validate = await runFt(['policy', 'validate', policy], env);
    expect(validate.code, validate.stderr + validate.stdout).to.equal(0);

    const incident = join(ROOT, 'policies', 'examples', 'incident-dns-amplification.json');
    const preview = await runFt(['mitigate', 'preview', '-p', policy, '--incident', incident], env);
    expect(preview.code, preview.stderr).to.equal(0);
    expect(preview.stdout).to.match(new RegExp(`PUT http://127\\.0\\.0\\.1:${port}/routes/fs-[0-9a-f]{16}`));
    expect(preview.stdout).to.match(/record host-filter hf-[0-9a-f]{16} 203\.0\.113\.10\/32/);
    const planFile = join(work, 'plan.json');
    const planJson = await runFt(['mitigate', 'preview', '-p', policy, '--incident', incident, '--json'], env);
    writeFileSync(planFile, planJson.stdout);
    expect(seen, 'preview sends nothing').to.deep.equal([]);

    daemon = new Daemon([process.execPath, BIN, 'run', '-p', policy, '--state-dir', stateDir, '--metrics', 'off'], {
      env: { ...env, NO_COLOR: '1' },
      cwd: ROOT,
    });
    await waitFor(() => existsSync(join(stateDir, 'control.sock')) || !daemon!.running, { timeoutMs: 60_000 });
    expect(daemon.running, daemon.output).to.equal(true);

    const apply = await runFt(
      ['mitigate', 'apply', '-p', policy, '--plan', planFile, '--yes', '--state-dir', stateDir, '--json'],
      env,
    );
    expect(apply.code, apply.stderr + apply.stdout).to.equal(0);
    expect((JSON.parse(apply.stdout) as { through: string }).through).to.equal('ft run');
    const [flowspec] = [...routes.keys()];
    expect(flowspec).to.match(/^fs-[0-9a-f]{16}$/);
    expect(routes.get(flowspec!)).to.deep.equal({ kind: 'flowspec', target: '203.0.113.10/32' });
    const put = seen.find((s) => s.method === 'PUT');
    expect(put?.authorization, 'the token reaches the controller').to.equal('Bearer s3cret-token');
    expect(daemon.output, 'and never a log').to.not.include('s3cret-token');
    const recorded = JSON.parse(readFileSync(journal, 'utf8')) as Record<string, { kind: string }>;
    expect(Object.values(recorded).map((r) => r.kind)).to.deep.equal(['host-filter']);

    // SIGTERM: the policy's onShutdown (withdraw, the default) takes back everything, through the plugin.
    daemon.child.kill('SIGTERM');
    expect(await daemon.exited, daemon.output).to.equal(0);
    expect([...routes.keys()]).to.deep.equal([]);
    expect(seen.some((s) => s.method === 'DELETE' && s.url === `/routes/${flowspec}`)).to.equal(true);
    expect(JSON.parse(readFileSync(journal, 'utf8'))).to.deep.equal({});
  });
});
