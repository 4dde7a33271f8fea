import { Flags } from '@oclif/core';
import { FtCommand } from '../cli/command.js';
import type { DoctorReport } from '../doctor/types.js';

const MARK = { ok: 'ok  ', warn: 'WARN', fail: 'FAIL', skip: 'skip' } as const;

export default class Doctor extends FtCommand {
  static override summary =
    'Check what this host can do: tools, privileges, kernel features, the firewall manager in charge.';
  static override description =
    'One line per finding. Kernel features (nftables, ipset, iptables matches, tc HTB/u32, blackhole routes, XDP) are probed for real inside a throwaway network namespace, so the host itself is not changed; --no-probe skips that. Exits 1 when something ft needs is broken.';
  static override enableJsonFlag = true;
  static override flags = {
    probe: Flags.boolean({
      default: true,
      allowNo: true,
      description: 'Probe kernel features in a throwaway network namespace (root).',
    }),
    policy: Flags.string({
      char: 'p',
      description: 'Also check this policy: valid, every speaker answers, an RTR cache is synced.',
    }),
  };
  static override examples = [
    '<%= config.bin %> doctor',
    '<%= config.bin %> doctor --no-probe --json',
    'sudo <%= config.bin %> doctor --policy /etc/ft/policy.yaml',
  ];

  async run(): Promise<DoctorReport> {
    const { flags } = await this.parse(Doctor);
    const { runDoctor } = await import('../doctor/checks.js');
    const report = await runDoctor({
      probe: flags.probe,
      root: this.config.root,
      ...(flags.policy ? { policyPath: flags.policy, config: this.config } : {}),
    });
    if (!this.jsonEnabled()) {
      for (const c of report.checks) {
        this.log(`${MARK[c.status]}  ${c.group.padEnd(8)} ${c.summary}`);
        if (c.hint && c.status !== 'ok') this.log(`      ${''.padEnd(8)} → ${c.hint}`);
      }
    }
    if (!report.ok) process.exitCode = 1;
    return report;
  }
}
