import { Args } from '@oclif/core';
import { FtCommand } from '../../cli/command.js';
import { runLab } from './up.js';

export default class LabScenario extends FtCommand {
  static override summary = 'Run a lab scenario against the running lab and check its expected outcome.';
  static override description =
    'udp-amplification: ft itself, end to end. A bounded DNS-reflection-like flood (4 spoofed lab sources, UDP source port 53, ' +
    '≤ 8 s) at 203.0.113.10; edge-linux exports sFlow (pmacctd sfprobe; FT_LAB_EXPORT=netflow: softflowd NetFlow v9) to `ft run --policy lab/policies/lab.yaml` in ctl ' +
    '(flow detector with 100 ms windows; FT_LAB_WINDOW_MS changes it), which ' +
    "detects and classifies it, checks RPKI against a stayrtr in ctl and announces a FlowSpec discard through ctl's gobgpd; " +
    "edge-linux's enforcer must drop the flood while HTTP to .10 and .11 still answers; after the attack stops ft withdraws the " +
    'rule (FT_LAB_POLICY_TTL, default 20 s, bounds when). --json prints every step and the timeline (audit trail + probes).\n' +
    'carpet-bomb: a bounded flood over all of 203.0.113.0/24 (2 spoofed lab sources, random destinations, UDP source port 123, ' +
    '≤ 8 s), each host far below its 1 kpps threshold; ft must open one incident for the /24 (by its aggregate threshold, ' +
    'lab/policies/carpet-bomb.yaml), none for a host, and have the edge drop it with one FlowSpec discard for the whole /24.\n' +
    "syn-flood: the victim's own ft run (proc detector inside the victim namespace) applies SYN cookies and a per-source " +
    'hashlimit in its iptables during a bounded SYN flood and rolls them back after the incident resolves; no BGP.\n' +
    'escalation: a flood growing in three stages walks FlowSpec rate-limit → discard → RTBH (a blackhole route on an FRR edge ' +
    'added as edge-frr) per lab/policies/escalation.yaml, and comes back down after it stops.\n' +
    'crash: the escalation with ft killed by SIGKILL once RTBH is live and restarted on the same state: reconcile must leave ' +
    'exactly the live rules, and everything is withdrawn at the end.\n' +
    'flowspec-path: the announcement → enforcer path alone, the scenario standing in for detection and the executor ' +
    '(FT_LAB_TTL seconds, default 3). Exit 1 when an expectation fails.';
  static override enableJsonFlag = true;
  static override args = {
    name: Args.string({
      required: true,
      options: ['udp-amplification', 'carpet-bomb', 'syn-flood', 'escalation', 'crash', 'flowspec-path'],
      description: 'scenario name',
    }),
  };
  static override examples = [
    '<%= config.bin %> lab scenario udp-amplification',
    'FT_LAB_EXPORT=netflow <%= config.bin %> lab scenario udp-amplification --json',
    '<%= config.bin %> lab scenario syn-flood',
    '<%= config.bin %> lab scenario carpet-bomb',
  ];

  async run(): Promise<Record<string, unknown>> {
    const { args } = await this.parse(LabScenario);
    const { code, result } = await runLab(this.config.root, ['scenario', args.name]);
    if (!result) this.error(`scenario ${args.name} could not run (see the messages above)`, { exit: 2 });
    if (!this.jsonEnabled()) {
      const timeline = (result.timeline ?? []) as { event: string; sinceAttackMs?: number; detail?: string }[];
      for (const t of timeline)
        this.log(`${String(t.sinceAttackMs ?? '').padStart(8)} ms  ${t.event}${t.detail ? `  (${t.detail})` : ''}`);
      this.log(result.ok ? `scenario ${args.name}: every expectation held` : `scenario ${args.name}: FAILED`);
    }
    if (code !== 0) process.exitCode = 1;
    return result;
  }
}
