import { Flags } from '@oclif/core';
import { FtCommand } from '../cli/command.js';
import type { AuditViewRecord } from '../events/audit.js';
import type { EventReader } from '../events/read.js';

export default class Audit extends FtCommand {
  static override summary =
    "Query the audit trail: every op, who or what planned it, the commands, the adapters' answers, timings.";
  static override description =
    'The audit trail is a view of the event stream (`ft events`). Each op has a start record (rule, reason, rendered commands, RPKI verdict, planned by) and an end record (per-adapter outcome, ' +
    'attempts, milliseconds); an op a crash interrupted is closed with outcome "interrupted" at the next start. Incidents opening and ' +
    'resolving, reconcile actions, alerts (collateral-damage rollback) and every other event are rows of their own. Safe to run beside ' +
    '`ft run`. Reads the event journal under --state-dir (on a fleet controller: its archive), or with --redis (or FT_REDIS_URL) the ' +
    'fleet-wide stream; audit records an older ft wrote come first.';
  static override enableJsonFlag = true;
  static override flags = {
    since: Flags.string({
      summary: 'Only records newer than this: a duration back from now (30m, 2h, 7d) or an ISO 8601 time.',
    }),
    rule: Flags.string({ summary: 'Only records about this rule id.' }),
    incident: Flags.string({ summary: 'Only records about this incident id.' }),
    limit: Flags.integer({ summary: 'Only the newest N records.', min: 1 }),
    'state-dir': Flags.string({ summary: 'Rule store directory (default: as `ft run`).' }),
    redis: Flags.string({
      summary:
        "Read the fleet-wide recent audit stream on this Redis instead (every controller's ops; the long-term archive stays in each controller's --state-dir).",
      env: 'FT_REDIS_URL',
    }),
    'redis-namespace': Flags.string({ summary: 'Redis key namespace of the fleet deployment.', default: 'ft' }),
  };
  static override examples = [
    '<%= config.bin %> audit --since 1h',
    '<%= config.bin %> audit --rule fs-1a2b3c4d5e6f7a8b --json',
    '<%= config.bin %> audit --incident inc-203.0.113.10-1763770000',
  ];

  async run(): Promise<{ records: AuditViewRecord[] }> {
    const { flags } = await this.parse(Audit);
    const { defaultStateDir, StateDirError, JournalCorruptError } = await import('../state/index.js');
    const { openJournalReader, openRedisReader } = await import('../events/read.js');
    const { parseDuration } = await import('@ft/sdk');
    const { table } = await import('../cli/table.js');
    let since: Date | undefined;
    if (flags.since) {
      if (/^\d{4}-\d{2}-\d{2}/.test(flags.since)) since = new Date(flags.since);
      else {
        try {
          since = new Date(Date.now() - parseDuration(flags.since) * 1000);
        } catch {
          this.error(`--since ${flags.since}: expected a duration (30m, 2h, 7d) or an ISO 8601 time`, { exit: 2 });
        }
      }
      if (Number.isNaN(since.getTime())) this.error(`--since ${flags.since}: not a valid time`, { exit: 2 });
    }
    const dir = flags['state-dir'] ?? defaultStateDir();
    let reader: EventReader;
    try {
      reader = flags.redis
        ? await openRedisReader(flags.redis, flags['redis-namespace'])
        : await openJournalReader(dir);
    } catch (err) {
      const { RedisUrlError } = await import('../state/redis/connect.js');
      const { FleetNameError } = await import('../fleet/names.js');
      if (err instanceof RedisUrlError || err instanceof FleetNameError) throw err; // reported with its FT_E_ code by FtCommand
      if (err instanceof StateDirError || err instanceof JournalCorruptError) throw err; // reported with its FT_E_ code by FtCommand
      throw err;
    }
    let records;
    try {
      records = await reader.audit({
        ...(since ? { since } : {}),
        ...(flags.rule ? { ruleId: flags.rule } : {}),
        ...(flags.incident ? { incidentId: flags.incident } : {}),
        ...(flags.limit ? { limit: flags.limit } : {}),
      });
    } catch (err) {
      const { FleetReadError } = await import('../fleet/daemon.js');
      if (err instanceof FleetReadError) throw err; // reported with its FT_E_ code by FtCommand
      throw err;
    } finally {
      await reader.close();
    }
    if (!this.jsonEnabled()) {
      if (records.length === 0) this.log('No audit records match.');
      else {
        this.log(
          table(
            ['TIME', 'OP', 'PHASE', 'OUTCOME', 'RULE', 'TARGET', 'BY', 'DETAIL'],
            records.map((r) => [
              r.at,
              r.op,
              r.phase,
              r.outcome ?? '-',
              r.ruleId ?? '-',
              r.rule ? String(r.rule.target) : r.incident ? String(r.incident.target) : '-',
              r.plannedBy ?? '-',
              detail(r),
            ]),
          ),
        );
      }
    }
    return { records };
  }
}

function detail(r: AuditViewRecord): string {
  if (r.message) return r.message;
  if (r.results && r.results.length > 0)
    return r.results.map((x) => `${x.adapter}=${x.outcome}${x.error ? ` (${x.error})` : ''} ${x.ms}ms`).join('; ');
  if (r.reason) return typeof r.reason === 'string' ? r.reason : r.reason.summary;
  return '';
}
