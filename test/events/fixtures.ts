import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Prefix } from '@ft/sdk';
import { draft, readForward, type EventDraft, type EventSource, type FtEvent } from '../../core/events/index.js';

export function tempDir(prefix = 'ft-events-'): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** A small operational event; `n` makes each one distinguishable. */
export function speakerDown(n: number): EventDraft {
  return draft('speaker.down', {
    speaker: `pop${n % 7}-gobgp`,
    adapter: 'gobgp',
    status: 'down',
    detail: `probe ${n}`,
  });
}

export function ruleRefused(n: number): EventDraft {
  const target = Prefix.parse(`203.0.113.${n % 256}`);
  return draft('rule.refused', {
    ruleId: `bh-${n.toString(16).padStart(16, '0')}`,
    kind: 'rtbh',
    target,
    level: 3,
    action: 'announce community 65535:666 no-export',
    via: ['pop1-gobgp'],
    rule: {
      id: `bh-${n.toString(16).padStart(16, '0')}`,
      kind: 'rtbh',
      tenant: 'example-isp',
      target,
      level: 3,
      ttlSeconds: 300,
      communities: ['65535:666'],
      noExport: true,
    } as never,
    rail: 'never-target',
    message: `refused ${n}`,
  });
}

/** Every event a log holds from `from` on, and how many retention removed before them. */
export async function allEvents(
  source: Pick<EventSource, 'cursor'>,
  from = 1,
): Promise<{ events: FtEvent[]; lost: number }> {
  const events: FtEvent[] = [];
  let lost = 0;
  for await (const r of readForward(source, from, 1000)) {
    events.push(...r.events);
    lost += r.lost?.count ?? 0;
  }
  return { events, lost };
}
