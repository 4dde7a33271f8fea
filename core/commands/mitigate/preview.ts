import { Flags } from '@oclif/core';
import { FtCommand } from '../../cli/command.js';
import { JsonInvalid, type IncidentReport } from '@ft/sdk';
import type { Incident } from '../../model/incident.js';
import type { ActiveRule, Plan } from '../../model/plan.js';

export interface PreviewResult {
  policy: { file: string; tenant: string; mode: string; warnings: string[] };
  /** The reference JSON (the edge), as the incident was read. */
  incident?: IncidentReport;
  rpki: string;
  plan: Plan;
}

export default class MitigatePreview extends FtCommand {
  static override summary =
    'Show exactly what ft would do for an incident: every rule, why, where, the RPKI verdict and the commands.';
  static override description =
    "Runs the same planner `ft run` uses on a policy and an incident (the reference agent's incident JSON plus `target`, or a --simulate one-liner), " +
    'against the rules already active (--active), and prints the plan: each ADD/REFRESH/WITHDRAW with its rule id, match and action in router terms, ' +
    'the level and trigger with the observed values, the actions that carry it, TTL and expiry, the RPKI verdict and the exact commands of every ' +
    'installed adapter; refused rules name the rail that refused them. Nothing is applied. ' +
    'RPKI: with --vrps FILE announcements are validated against that VRP file, with --cache HOST:PORT against what that RTR cache holds; without either, `rpki: enforce` refuses every BGP announcement and diversion ' +
    '(no data), `warn` lets FlowSpec/RTBH through, `off` skips the check.';
  static override enableJsonFlag = true;
  static override flags = {
    policy: Flags.string({ char: 'p', summary: 'Policy YAML file.', required: true }),
    incident: Flags.string({
      char: 'i',
      summary: 'Incident JSON file, or - for stdin.',
      exactlyOne: ['incident', 'simulate'],
    }),
    simulate: Flags.string({
      summary: 'A what-if incident: "udp_flood 3Gbps to 203.0.113.10 vector=dns".',
      exactlyOne: ['incident', 'simulate'],
    }),
    active: Flags.string({ summary: 'JSON list of active rules to plan against (shows refresh and withdraw).' }),
    vrps: Flags.string({
      summary: 'VRP JSON file (stayrtr/rpki-client format) for the RPKI checks.',
      exclusive: ['cache'],
    }),
    cache: Flags.string({
      summary: 'RTR cache (HOST:PORT, tls://HOST:PORT) to take the VRPs from for the RPKI checks; repeatable.',
      multiple: true,
      exclusive: ['vrps'],
    }),
    now: Flags.string({ summary: 'Plan as of this time (ISO 8601), e.g. to see expiry of --active rules.' }),
  };
  static override examples = [
    '<%= config.bin %> mitigate preview --policy policies/quickstart.yaml --incident policies/examples/incident-dns-amplification.json --vrps policies/examples/vrps.json',
    '<%= config.bin %> mitigate preview -p policies/quickstart.yaml --simulate "syn_flood 800Mbps 1.2Mpps to 203.0.113.20" --vrps policies/examples/vrps.json',
    '<%= config.bin %> mitigate preview -p /etc/ft/policy.yaml --simulate "udp_flood 1Gbps to 203.0.113.10 vector=dns" --cache 127.0.0.1:8282',
    'cat incident.json | <%= config.bin %> mitigate preview -p policy.yaml -i - --json',
  ];

  async run(): Promise<PreviewResult> {
    const { flags } = await this.parse(MitigatePreview);
    const { readFile, mkdtemp, rm } = await import('node:fs/promises');
    const { tmpdir } = await import('node:os');
    const { join } = await import('node:path');
    const { loadRegistry } = await import('../../plugin-host/load.js');
    const { loadPolicy } = await import('../../policy/index.js');
    const { FileUnreadable, UsageError, VrpsInvalid } = await import('@ft/sdk');
    const { plan, createRenderers, formatPlan, parseIncident, parseSimulate, parseActiveRules, rpkiNoData } =
      await import('../../plan/index.js');
    const { createJsonLogger } = await import('../../log/logger.js');
    const { toReport } = await import('../../model/incident.js');

    const now = flags.now ? new Date(flags.now) : new Date();
    if (Number.isNaN(now.getTime()))
      throw new UsageError({ message: `--now: "${flags.now}" is not an ISO 8601 time` }, { where: '--now' });

    const registry = await loadRegistry(this.config);
    // A plugin that failed to register explains why its kinds look "not installed".
    if (!this.jsonEnabled()) for (const f of registry.failures) this.logToStderr(`warning: ${f.message}`);
    // A PolicyError is reported as FT_E_POLICY_INVALID with every problem (FtCommand); nothing is planned.
    const policy = await loadPolicy(flags.policy, registry);

    // Bad input is an InputError (FT_E_INCIDENT_INVALID, FT_E_ACTIVE_INVALID), FT_E_JSON_INVALID or
    // FT_E_FILE_UNREADABLE: exit 2, reported by FtCommand.
    const read = (file: string) =>
      readFile(file, 'utf8').catch((e: NodeJS.ErrnoException) => {
        throw new FileUnreadable(
          { file, reason: e.code === 'ENOENT' ? 'no such file' : e.message },
          { where: file, cause: e },
        );
      });
    let incident: Incident;
    let active: ActiveRule[] = [];
    if (flags.simulate !== undefined) incident = parseSimulate(flags.simulate, now);
    else {
      const source = flags.incident === '-' ? 'stdin' : (flags.incident as string);
      const text = flags.incident === '-' ? await readStdin() : await read(source);
      incident = parseIncident(parseJson(text, source), source, now);
    }
    if (flags.active) active = parseActiveRules(parseJson(await read(flags.active), flags.active), flags.active);

    let rpki = rpkiNoData;
    let rpkiSource = 'no RPKI data';
    if (flags.vrps) {
      const { loadVrpFile, createVerdictProvider } = await import('../../rpki/index.js');
      const table = await loadVrpFile(flags.vrps).catch((e: Error) => {
        throw new VrpsInvalid({ message: e.message }, { where: flags.vrps as string, cause: e });
      });
      rpki = createVerdictProvider({ table, now: () => now.getTime() });
      rpkiSource = `VRP file ${flags.vrps} (${table.size} VRPs)`;
    } else if (flags.cache) {
      const { resolveCaches } = await import('../../rpki/command-flags.js');
      const { RtrClient, createVerdictProvider } = await import('../../rpki/index.js');
      const caches = await resolveCaches({ cache: flags.cache }).catch((e: Error) =>
        this.error(e.message, { exit: 2 }),
      );
      const client = new RtrClient({ caches }).start();
      try {
        const snap = await client.ready(10_000);
        // A snapshot, not the live client: the plan is computed once, against one VRP set.
        rpki = createVerdictProvider({
          table: snap.table,
          dataAgeSeconds: snap.dataAgeSeconds,
          expireSeconds: snap.expireSeconds,
          sessionId: snap.sessionId,
          serial: snap.serial,
          now: () => now.getTime(),
        });
        rpkiSource = `RTR cache ${snap.cache} (${snap.table.size} VRPs, serial ${snap.serial})`;
      } catch (err) {
        this.error((err as Error).message, { exit: 2 });
      } finally {
        client.stop();
      }
    } else if (policy.defaults.rpki === 'off') rpkiSource = 'check off';

    const stateDir = await mkdtemp(join(tmpdir(), 'ft-preview-'));
    const renderers = await createRenderers(policy, registry, {
      logger: createJsonLogger({ level: 'warn' }),
      stateDir,
    });
    try {
      const result = plan({
        policy,
        incident,
        active,
        now,
        rpki,
        render: renderers.render,
        renderWithdraw: renderers.renderWithdraw,
      });
      if (!this.jsonEnabled()) {
        for (const w of policy.warnings) this.logToStderr(`warning: ${w}`);
        this.log(formatPlan(result, { policy, incident, now, unavailable: renderers.unavailable, rpkiSource }));
        this.log(
          '\nNothing was changed: this is a preview. `ft run --policy FILE` carries out the same plan (in mode: enforce).',
        );
      }
      return {
        policy: { file: policy.file, tenant: policy.tenant, mode: policy.mode, warnings: policy.warnings },
        incident: toReport(incident),
        rpki: rpkiSource,
        plan: result,
      };
    } finally {
      await renderers.close();
      await rm(stateDir, { recursive: true, force: true });
    }
  }
}

function parseJson(text: string, source: string): unknown {
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new JsonInvalid({ file: source, reason: (err as Error).message }, { where: source });
  }
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}
