import { Flags } from '@oclif/core';
import { FtCommand } from '../../cli/command.js';
import type { RuleStore } from '../../state/store.js';

export interface ListedRule {
  id: string;
  kind: string;
  level: number;
  target: string;
  tenant: string;
  phase: 'live' | 'withdrawing';
  appliedAt: string;
  expiresAt: string;
  remainingSeconds: number;
  incidentId?: string;
  plannedBy: string;
  adapters: { name: string; state: string; error?: string }[];
}

export default class MitigateList extends FtCommand {
  static override summary = 'List the rules ft holds live: remaining TTL, level, target, and where each is installed.';
  static override description =
    'Reads the rule store (safe while `ft run` is running; it shows the state as of the last write): the embedded one under --state-dir, ' +
    'or with --redis (or FT_REDIS_URL) the fleet\'s, where a fleet controller keeps its live rules. A rule in phase "withdrawing" ' +
    'is on its way out and still retried on the adapters listed with withdraw-failed.';
  static override enableJsonFlag = true;
  static override flags = {
    'state-dir': Flags.string({ summary: 'Rule store directory (default: as `ft run`).' }),
    redis: Flags.string({
      summary:
        'Read the fleet rule store on this Redis instead (as `ft run --redis`; password in the URL or FT_REDIS_PASSWORD).',
      env: 'FT_REDIS_URL',
    }),
    'redis-namespace': Flags.string({ summary: 'Redis key namespace of the fleet deployment.', default: 'ft' }),
  };
  static override examples = [
    '<%= config.bin %> mitigate list',
    '<%= config.bin %> mitigate list --json',
    '<%= config.bin %> mitigate list --redis redis://10.0.0.5:6379',
  ];

  async run(): Promise<{ rules: ListedRule[] }> {
    const { flags } = await this.parse(MitigateList);
    const { defaultStateDir, StateDirError, JournalStore, JournalCorruptError } = await import('../../state/index.js');
    const { table } = await import('../../cli/table.js');
    const { formatDuration } = await import('@ft/sdk');
    const dir = flags['state-dir'] ?? defaultStateDir();
    let store: Pick<RuleStore, 'rules' | 'close'>;
    if (flags.redis) store = await this.fleetStore(flags.redis, flags['redis-namespace']);
    else
      try {
        store = await JournalStore.open({ dir, readOnly: true });
      } catch (err) {
        if (
          err instanceof StateDirError &&
          err.message.endsWith('does not exist (nothing has been recorded there yet)')
        ) {
          if (!this.jsonEnabled()) this.log(`No live rules (nothing recorded in ${dir} yet).`);
          return { rules: [] };
        }
        if (err instanceof StateDirError || err instanceof JournalCorruptError) throw err; // reported with its FT_E_ code by FtCommand
        throw err;
      }
    const now = Date.now();
    let records;
    try {
      records = await store.rules();
    } catch (err) {
      const { FleetReadError } = await import('../../fleet/daemon.js');
      if (err instanceof FleetReadError) throw err; // reported with its FT_E_ code by FtCommand
      throw err;
    } finally {
      await store.close();
    }
    const rules: ListedRule[] = records
      .map((r) => ({
        id: r.rule.id,
        kind: r.rule.kind,
        level: r.rule.level,
        target: String(r.rule.target),
        tenant: r.rule.tenant,
        phase: r.phase,
        appliedAt: r.appliedAt,
        expiresAt: r.expiresAt,
        remainingSeconds: Math.max(0, Math.round((Date.parse(r.expiresAt) - now) / 1000)),
        ...(r.incidentId ? { incidentId: r.incidentId } : {}),
        plannedBy: r.plannedBy,
        adapters: r.via.map((v) => ({
          name: v,
          state: r.adapters[v]?.state ?? 'unknown',
          ...(r.adapters[v]?.error ? { error: r.adapters[v].error } : {}),
        })),
      }))
      .sort((a, b) => a.expiresAt.localeCompare(b.expiresAt));
    if (!this.jsonEnabled()) {
      if (rules.length === 0) this.log('No live rules.');
      else {
        this.log(
          table(
            ['ID', 'KIND', 'LEVEL', 'TARGET', 'TTL LEFT', 'ADAPTERS', 'INCIDENT', 'BY'],
            rules.map((r) => [
              r.phase === 'withdrawing' ? `${r.id} (withdrawing)` : r.id,
              r.kind,
              String(r.level),
              r.target,
              r.remainingSeconds > 0 ? formatDuration(r.remainingSeconds) : 'expired',
              r.adapters.map((a) => `${a.name}:${a.state}`).join(' '),
              r.incidentId ?? '-',
              r.plannedBy,
            ]),
          ),
        );
      }
    }
    return { rules };
  }

  private async fleetStore(url: string, namespace: string) {
    const { readFleetStore } = await import('../../fleet/daemon.js');
    const { RedisUrlError } = await import('../../state/redis/connect.js');
    const { FleetNameError } = await import('../../fleet/names.js');
    try {
      return await readFleetStore(url, namespace, 'mitigate-list');
    } catch (err) {
      if (err instanceof RedisUrlError || err instanceof FleetNameError) throw err; // reported with its FT_E_ code by FtCommand
      throw err;
    }
  }
}
