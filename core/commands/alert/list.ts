import { Flags } from '@oclif/core';
import { FtCommand } from '../../cli/command.js';
import { loadCommandPolicy } from '../../cli/policy.js';
import type { ChannelStatus } from '../../alerts/status.js';

export interface ListedChannel {
  channel: string;
  kind: string;
  destination?: string;
  state: ChannelStatus['state'] | 'never ran';
  hears: string[];
  repeats: string;
  rateLimit: { perSecond: number; burst: number };
  pending?: number;
  delivered?: number;
  lastDelivery?: ChannelStatus['lastDelivery'];
  lastError?: string;
  brokenReason?: string;
  updatedAt?: string;
}

export default class AlertList extends FtCommand {
  static override summary =
    "List the policy's alert channels with their health, what they hear and their last delivery.";
  static override description =
    'Health and last delivery come from the status each channel of a running (or the last) `ft run` keeps in the state directory; ' +
    'a channel that never ran shows "never ran". broken: the service said the hook or key is gone (fix it, restart ft: its undelivered alerts are re-sent); ' +
    'failing: deliveries are being retried.';
  static override enableJsonFlag = true;
  static override flags = {
    policy: Flags.string({ char: 'p', summary: 'Policy YAML file.', required: true }),
    'state-dir': Flags.string({ summary: 'State directory (default: as `ft run`).' }),
  };
  static override examples = ['<%= config.bin %> alert list --policy /etc/ft/policy.yaml'];

  async run(): Promise<{ channels: ListedChannel[] }> {
    const { flags } = await this.parse(AlertList);
    const { explainAlerts } = await import('../../policy/alerts.js');
    const { readStatuses } = await import('../../alerts/status.js');
    const { defaultStateDir } = await import('../../state/index.js');
    const { table } = await import('../../cli/table.js');
    const { policy, registry } = await loadCommandPolicy(this, flags.policy);
    const statuses = await readStatuses(flags['state-dir'] ?? defaultStateDir());
    const hears = new Map(explainAlerts(policy.alerts).channels.map((c) => [c.channel, c.hears]));
    const channels: ListedChannel[] = [...policy.alerts.channels.values()].map((c) => {
      const f = registry.alertChannel(c.kind)?.factory;
      const s = statuses.get(c.name);
      return {
        channel: c.name,
        kind: c.kind,
        state: s?.state ?? 'never ran',
        hears: hears.get(c.name) ?? [],
        repeats: f?.repeats ?? '',
        rateLimit: c.rateLimit ?? f?.rateLimit ?? { perSecond: 0, burst: 0 },
        ...(s
          ? {
              destination: s.destination,
              pending: s.pending,
              delivered: s.delivered,
              ...(s.lastDelivery ? { lastDelivery: s.lastDelivery } : {}),
              ...(s.lastError ? { lastError: s.lastError } : {}),
              ...(s.brokenReason ? { brokenReason: s.brokenReason } : {}),
              updatedAt: s.updatedAt,
            }
          : {}),
      };
    });
    if (!this.jsonEnabled()) {
      if (channels.length === 0) this.log(`${flags.policy} has no alert channels: alerts go to ft's log only.`);
      else
        this.log(
          table(
            ['CHANNEL', 'KIND', 'STATE', 'PENDING', 'DELIVERED', 'LAST DELIVERY', 'LAST ERROR'],
            channels.map((c) => [
              c.channel,
              c.kind,
              c.state,
              c.pending === undefined ? '-' : String(c.pending),
              c.delivered === undefined ? '-' : String(c.delivered),
              c.lastDelivery ? `${c.lastDelivery.at} ${c.lastDelivery.kind} (${c.lastDelivery.ms} ms)` : '-',
              (c.brokenReason ?? c.lastError ?? '-').slice(0, 80),
            ]),
          ),
        );
    }
    return { channels };
  }
}
