// The lab's scenarios by name (`ft lab scenario NAME`). Each returns its steps, its timeline and ok.
import { carpetBomb } from './carpet-bomb.js';
import type { ScenarioResult } from './common.js';
import { escalation } from './escalation.js';
import { synFlood } from './syn-flood.js';
import { udpAmplification, type LabContext } from './udp-amplification.js';

export const SCENARIOS = ['udp-amplification', 'carpet-bomb', 'syn-flood', 'escalation', 'crash'] as const;
export type ScenarioName = (typeof SCENARIOS)[number];

export async function runScenario(name: ScenarioName, lab: LabContext): Promise<ScenarioResult> {
  const seconds = (v: string | undefined, fallback: number) => {
    const n = Number(v ?? fallback);
    if (!Number.isInteger(n) || n < 1 || n > 600)
      throw new Error(`expected whole seconds 1..600, got ${JSON.stringify(v)}`);
    return n;
  };
  switch (name) {
    case 'udp-amplification':
    case 'carpet-bomb': {
      const exporter = process.env.FT_LAB_EXPORT ?? 'sflow';
      if (exporter !== 'netflow' && exporter !== 'sflow')
        throw new Error(`FT_LAB_EXPORT must be netflow or sflow, got ${JSON.stringify(exporter)}`);
      const windowMs = Number(process.env.FT_LAB_WINDOW_MS ?? 100);
      if (!Number.isInteger(windowMs) || windowMs < 100 || windowMs > 60_000)
        throw new Error(
          `FT_LAB_WINDOW_MS must be whole milliseconds 100..60000, got ${JSON.stringify(process.env.FT_LAB_WINDOW_MS)}`,
        );
      const o = {
        ttlSeconds: seconds(process.env.FT_LAB_POLICY_TTL, 20),
        floodSeconds: seconds(process.env.FT_LAB_FLOOD_SECONDS, 8),
        export: exporter,
        windowMs,
      } as const;
      return name === 'carpet-bomb' ? carpetBomb(lab, o) : udpAmplification(lab, o);
    }
    case 'escalation':
      return escalation(lab, { stageSeconds: seconds(process.env.FT_LAB_STAGE_SECONDS, 5) });
    case 'crash':
      return escalation(lab, { crash: true, stageSeconds: seconds(process.env.FT_LAB_STAGE_SECONDS, 5) });
    case 'syn-flood':
      return synFlood(lab, { floodSeconds: seconds(process.env.FT_LAB_FLOOD_SECONDS, 6) });
  }
}
