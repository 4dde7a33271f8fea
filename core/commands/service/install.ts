import { Flags } from '@oclif/core';
import { FtCommand } from '../../cli/command.js';

export interface ServiceInstallResult {
  dryRun: boolean;
  units: { name: string; path: string; text: string }[];
  capabilities: { capability: string; because: string[] }[];
  next: string[];
}

export default class ServiceInstall extends FtCommand {
  static override summary =
    'Write hardened systemd units for `ft run` and `ft worker`, or a user unit for the no-root preview mode.';
  static override description =
    'The units follow the policy: the service keeps only the capabilities its on-node actions need (iptables/ipset: ' +
    'CAP_NET_ADMIN+CAP_NET_RAW, nft/tc/nullroute: CAP_NET_ADMIN, xdp: +CAP_BPF+CAP_SYS_ADMIN, a netns option: CAP_SYS_ADMIN; ' +
    'speakers and scrubbers need none), sees the system read-only and writes only its state directory /var/lib/ft. ' +
    'ft-worker@.service is a template, one instance per POP. --user writes ft-preview.service for `systemctl --user` ' +
    '(the policy must be mode: preview). Nothing is started: the command prints the systemctl lines to run. ' +
    '--dry-run prints the units instead of writing them. Regenerate after changing which actions the policy uses.';
  static override enableJsonFlag = true;
  static override flags = {
    policy: Flags.string({
      char: 'p',
      required: true,
      summary: 'Policy file the service runs (absolute path recommended).',
    }),
    detectors: Flags.string({ summary: 'Detectors file for `ft run --detectors`.' }),
    user: Flags.boolean({ default: false, summary: 'Write the no-root preview unit for `systemctl --user` instead.' }),
    'dry-run': Flags.boolean({ default: false, summary: 'Print the units; write nothing.' }),
    'unit-dir': Flags.string({
      summary: 'Where to write (default /etc/systemd/system, or ~/.config/systemd/user with --user).',
    }),
    'env-file': Flags.string({
      summary: 'EnvironmentFile for vendor secrets and FT_REDIS_URL.',
      default: '/etc/ft/ft.env',
    }),
    'ft-path': Flags.string({
      summary: "The ft executable for ExecStart (default: this node and this ft's bin/run.js).",
    }),
  };
  static override examples = [
    'sudo <%= config.bin %> service install --policy /etc/ft/policy.yaml --detectors /etc/ft/detectors.yaml',
    '<%= config.bin %> service install --policy /etc/ft/policy.yaml --dry-run',
    '<%= config.bin %> service install --user --policy ~/ft/quickstart.yaml',
  ];

  async run(): Promise<ServiceInstallResult> {
    const { flags } = await this.parse(ServiceInstall);
    const { resolve, join } = await import('node:path');
    const { homedir } = await import('node:os');
    const { mkdir, writeFile, rename } = await import('node:fs/promises');
    const { loadRegistry } = await import('../../plugin-host/load.js');
    const { loadPolicy, allInstances } = await import('../../policy/index.js');
    const units = await import('../../service/units.js');
    const { launcherNodeFlags } = await import('../../service/launcher.js');

    const policyPath = resolve(flags.policy);
    const detectorsPath = flags.detectors ? resolve(flags.detectors) : undefined;
    const registry = await loadRegistry(this.config);
    // An invalid policy is FT_E_POLICY_INVALID (exit 1, every problem listed), as in every command.
    const policy = await loadPolicy(policyPath, registry);
    const ft = flags['ft-path']
      ? [resolve(flags['ft-path'])]
      : [process.execPath, ...launcherNodeFlags(this.config.root), join(this.config.root, 'bin', 'run.js')];
    const instances = allInstances(policy);
    const capabilities = units.capabilitiesFor(instances);
    const writablePaths = instances.some((i) => i.role === 'node' && i.adapter === 'xdp') ? ['/run/ft'] : [];
    const written: ServiceInstallResult['units'] = [];
    let dir: string;
    let next: string[];
    try {
      if (flags.user) {
        dir = flags['unit-dir'] ?? join(process.env.XDG_CONFIG_HOME ?? join(homedir(), '.config'), 'systemd', 'user');
        written.push({
          name: 'ft-preview.service',
          path: join(dir, 'ft-preview.service'),
          text: units.previewUserUnit({ ft, policyPath, ...(detectorsPath ? { detectorsPath } : {}) }, policy),
        });
        next = [
          'systemctl --user daemon-reload',
          'systemctl --user enable --now ft-preview.service',
          'journalctl --user -u ft-preview -f',
        ];
      } else {
        dir = flags['unit-dir'] ?? '/etc/systemd/system';
        const common = {
          ft,
          policyPath,
          ...(detectorsPath ? { detectorsPath } : {}),
          stateDir: '/var/lib/ft',
          capabilities,
          environmentFile: flags['env-file'],
          writablePaths,
        };
        written.push({ name: 'ft.service', path: join(dir, 'ft.service'), text: units.runUnit(common, policy) });
        written.push({
          name: 'ft-worker@.service',
          path: join(dir, 'ft-worker@.service'),
          text: units.workerUnit({ ...common, redisEnv: flags['env-file'] }),
        });
        next = ['systemctl daemon-reload', 'systemctl enable --now ft.service', 'ft doctor --policy ' + policyPath];
      }
    } catch (err) {
      this.error((err as Error).message, { exit: 2 });
    }
    if (!flags['dry-run']) {
      await mkdir(dir, { recursive: true });
      for (const u of written) {
        // Atomic: a half-written unit must never be what systemd reads.
        await writeFile(`${u.path}.tmp`, u.text, { mode: 0o644 });
        await rename(`${u.path}.tmp`, u.path);
      }
    }
    if (!this.jsonEnabled()) {
      if (flags['dry-run']) for (const u of written) this.log(`# ${u.path}\n${u.text}`);
      else for (const u of written) this.log(`wrote ${u.path}`);
      this.log(`capabilities: ${capabilities.length ? capabilities.map((c) => c.capability).join(' ') : 'none'}`);
      this.log(`next:\n  ${next.join('\n  ')}`);
    }
    return { dryRun: flags['dry-run'], units: written, capabilities, next };
  }
}
