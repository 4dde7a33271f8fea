import { Flags } from '@oclif/core';
import { FtCommand } from '../../cli/command.js';
import type { ExecReport } from '../../exec/executor.js';
import type { Plan } from '../../model/plan.js';

export interface ApplyResult {
  through: 'ft run' | 'direct';
  plan: Plan;
  report: ExecReport;
}

export default class MitigateApply extends FtCommand {
  static override summary = 'Apply a plan saved from `ft mitigate preview --json`, or one rule written by hand.';
  static override description =
    "The plan (or rule) is checked against the policy's rails again (protected space, never-target, actions the policy names) and, " +
    'for a hand-written BGP announcement, against RPKI; then you are asked to confirm, unless --yes. When `ft run` owns the state ' +
    "directory the work is handed to it (its lifecycle then watches the rules' TTL); otherwise ft creates the policy's actions and " +
    'applies directly, and the TTL is enforced the next time `ft run` starts. Without a terminal on stdin, --yes is required.';
  static override enableJsonFlag = true;
  static override flags = {
    policy: Flags.string({ char: 'p', summary: 'Policy YAML file (rails, actions, RPKI).', required: true }),
    plan: Flags.string({
      summary: 'Plan JSON: the output of `ft mitigate preview --json` (or its "plan").',
      exactlyOne: ['plan', 'rule'],
    }),
    rule: Flags.string({
      summary: 'One rule as JSON (kind, target, match, action…), or - for stdin.',
      exactlyOne: ['plan', 'rule'],
    }),
    via: Flags.string({ summary: 'Action instance(s) from the policy that carry a --rule.', multiple: true }),
    ttl: Flags.string({ summary: "TTL of a --rule (e.g. 10m; default: the policy's)." }),
    vrps: Flags.string({ summary: 'VRP JSON file for the RPKI check of a hand-written announcement.' }),
    'state-dir': Flags.string({ summary: 'Rule store directory (default: as `ft run`).' }),
    yes: Flags.boolean({ char: 'y', summary: 'Do not ask for confirmation.', default: false }),
  };
  static override examples = [
    '<%= config.bin %> mitigate preview -p policy.yaml --simulate "udp_flood 3Gbps to 203.0.113.10 vector=dns" --json > plan.json && <%= config.bin %> mitigate apply -p policy.yaml --plan plan.json',
    'echo \'{"kind":"host-filter","target":"203.0.113.10/32","match":{"destination":"203.0.113.10/32","protocol":"udp","sourcePorts":[{"min":53,"max":53}]},"action":{"type":"drop"}}\' | <%= config.bin %> mitigate apply -p policy.yaml --rule - --via host-nft --ttl 10m --yes',
  ];

  async run(): Promise<ApplyResult> {
    const { flags } = await this.parse(MitigateApply);
    const { readFile } = await import('node:fs/promises');
    const { createLogger } = await import('../../log/logger.js');
    const { defaultStateDir } = await import('../../state/state-dir.js');
    const { loadRegistry } = await import('../../plugin-host/load.js');
    const { loadPolicy, PolicyError, formatIssue } = await import('../../policy/index.js');
    const { parseDuration } = await import('@ft/sdk');
    const { revivePlan } = await import('../../run/control.js');
    const manual = await import('../../run/manual.js');
    const logger = await createLogger({ level: process.env.FT_LOG_LEVEL ?? 'warn' });
    const stateDir = flags['state-dir'] ?? defaultStateDir();
    const fail = (message: string, exit = 1): never => this.error(message, { exit });

    const registry = await loadRegistry(this.config);
    const policy = await loadPolicy(flags.policy, registry).catch((err: Error) => {
      if (err instanceof PolicyError) {
        for (const issue of err.issues) this.logToStderr(formatIssue(issue));
        return fail(`the policy has ${err.issues.length} problem(s): nothing was applied`);
      }
      throw err;
    });
    const by = manual.operator();
    let plan: Plan;
    try {
      if (flags.plan) {
        const raw = JSON.parse(await readFile(flags.plan, 'utf8')) as { plan?: unknown };
        plan = revivePlan(raw && typeof raw === 'object' && 'plan' in raw ? raw.plan : raw, flags.plan);
      } else {
        if (!flags.via || flags.via.length === 0)
          return fail("--rule needs --via NAME (the policy's action instance that carries it)", 2);
        const source = flags.rule === '-' ? 'stdin' : (flags.rule as string);
        const text = flags.rule === '-' ? await readStdin() : await readFile(source, 'utf8');
        const ttlSeconds = flags.ttl ? parseDuration(flags.ttl) : policy.defaults.ttlSeconds;
        const rule = manual.ruleFromJson(JSON.parse(text), source, { tenant: policy.tenant, ttlSeconds });
        const rails = await manual.checkRails(policy, {
          tenant: policy.tenant,
          mode: 'enforce',
          ops: [manual.manualOp(rule, flags.via, undefined, by)],
          refused: [],
          notes: [],
        });
        if (rails.length > 0) return fail(rails.join('\n'));
        const rpki = await manual.rpkiForManual(policy, rule, {
          logger,
          ...(flags.vrps ? { vrpsFile: flags.vrps } : {}),
        });
        plan = {
          tenant: policy.tenant,
          mode: 'enforce',
          ops: [manual.manualOp(rule, flags.via, rpki, by)],
          refused: [],
          notes: [],
        };
      }
    } catch (err) {
      if (err instanceof SyntaxError) return fail(`not valid JSON: ${err.message}`, 2);
      if (
        err instanceof manual.ManualError ||
        (err as NodeJS.ErrnoException).code === 'ENOENT' ||
        (err as Error).name === 'UnitError'
      )
        return fail((err as Error).message, 2);
      if (
        (err as Error).message?.includes('does not match its content') ||
        (err as Error).message?.startsWith(flags.plan ?? '\u0000')
      )
        return fail((err as Error).message, 2);
      throw err;
    }
    const rails = await manual.checkRails(policy, plan);
    if (rails.length > 0) return fail(`nothing was applied:\n${rails.join('\n')}`);
    if (plan.mode === 'preview' || policy.mode === 'preview') {
      this.logToStderr(
        'note: the policy is in mode preview: the plan is recorded in the audit trail, nothing is changed',
      );
      plan = { ...plan, mode: 'preview' };
    }
    if (plan.ops.length === 0) return fail('the plan has no ops: nothing to apply', 1);

    const summary = plan.ops.map(
      (op) =>
        `  ${op.type.toUpperCase().padEnd(8)} ${op.rule.kind.padEnd(11)} ${String(op.rule.target).padEnd(20)} ${op.rule.id} via ${op.via.join(',')} ttl ${op.rule.ttlSeconds}s`,
    );
    if (!flags.yes) {
      if (!process.stdin.isTTY)
        return fail(
          'refusing to apply without confirmation: stdin is not a terminal; pass --yes to apply non-interactively',
          2,
        );
      this.logToStderr(`About to carry out ${plan.ops.length} op(s) for tenant ${plan.tenant}:\n${summary.join('\n')}`);
      const { createInterface } = await import('node:readline/promises');
      const rl = createInterface({ input: process.stdin, output: process.stderr });
      const answer = (await rl.question('Apply? [y/N] ')).trim().toLowerCase();
      rl.close();
      if (answer !== 'y' && answer !== 'yes') return fail('not applied', 1);
    }
    const { through, report } = await manual
      .executeRequest(
        { config: this.config, stateDir, policyFile: flags.policy, logger },
        { op: 'apply', plan, plannedBy: by },
      )
      .catch((err: Error) => fail(err.message));
    if (!this.jsonEnabled()) {
      for (const op of report.ops) {
        this.log(
          `${op.outcome.toUpperCase().padEnd(8)} ${op.type} ${op.ruleId}${op.message ? `: ${op.message}` : ''}${op.results
            .filter((r) => r.outcome !== 'ok')
            .map((r) => ` [${r.adapter}: ${r.error ?? r.outcome}]`)
            .join('')}`,
        );
      }
      this.log(
        through === 'ft run'
          ? 'Handed to the running ft run, which watches the TTL.'
          : 'Applied directly: no ft run is watching; the TTL is enforced when ft run next starts.',
      );
    }
    if (report.ops.some((o) => o.outcome !== 'ok')) process.exitCode = 1;
    return { through, plan, report };
  }
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}
