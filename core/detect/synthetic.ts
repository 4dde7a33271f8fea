import { Prefix, type Sample } from '@ft/sdk';
import { DEFAULT_DETECTION, type DetectionSettings } from '../model/detection.js';
import { DetectionEngine, type DetectionEvent } from './engine.js';

/** TEST-NET-1: never a real host, so a synthetic incident can never be mistaken for (or turned into) a real one. */
export const SYNTHETIC_TARGET = '192.0.2.1/32';

export interface SyntheticRun {
  target: string;
  events: DetectionEvent[];
  /** ms from the flood's first sample to the open event, in the run's virtual time. */
  detectedAfterMs: number;
}

/**
 * Replays a short scripted attack through a real DetectionEngine on a virtual clock (starting now): 3 s of ordinary web traffic,
 * 3 s of NTP reflection (UDP from source port 123, 468-byte answers from many reflectors), then quiet until the
 * incident resolves. What `ft detect --test` prints; it touches no interface and sends nothing anywhere.
 */
export function runSynthetic(base: DetectionSettings = DEFAULT_DETECTION, startAt = Date.now()): SyntheticRun {
  let now = startAt;
  const settings: DetectionSettings = { ...base, static: { pps: 50_000 }, resolveAfterMs: 2000 };
  const engine = new DetectionEngine({ settings, clock: () => now });
  const prefix = Prefix.parse(SYNTHETIC_TARGET);
  const step = settings.tickMs;
  const sample = (pps: number, flood: boolean): Sample => {
    const s: Sample = {
      source: 'synthetic',
      sourceKind: 'synthetic',
      target: SYNTHETIC_TARGET,
      prefix,
      at: now,
      windowMs: step,
      direction: 'in',
      pps,
      bps: pps * (flood ? 468 : 600) * 8,
      protocols: flood
        ? { tcp: pps * 0.02, udp: pps * 0.98, icmp: 0, other: 0 }
        : { tcp: pps * 0.9, udp: pps * 0.08, icmp: pps * 0.02, other: 0 },
      tcpFlags: { syn: pps * (flood ? 0.002 : 0.05), ack: pps * (flood ? 0.018 : 0.85) },
    };
    if (flood) {
      s.topSrcPorts = [
        { key: 123, count: pps * 0.95 },
        { key: 443, count: pps * 0.02 },
      ];
      s.topDstPorts = [
        { key: 80, count: pps * 0.5 },
        { key: 27015, count: pps * 0.45 },
      ];
      s.topSrcIps = Array.from({ length: 5 }, (_, i) => ({ key: `198.51.100.${10 + i}`, count: Math.round(pps / 40) }));
      s.sourceCount = 2400;
      s.packetLength = { min: 468, max: 490, mean: 472 };
    }
    return s;
  };
  const events: DetectionEvent[] = [];
  let floodStart = 0;
  let opened = -1;
  for (let i = 0; i < 400; i++) {
    now += step;
    const flood = i >= 30 && i < 60;
    if (i === 30) floodStart = now;
    engine.ingest(sample(flood ? 200_000 : 800, flood));
    for (const e of engine.tick(now)) {
      if (e.type === 'open' && opened < 0) opened = now;
      events.push(e);
      if (e.type === 'resolve') return { target: SYNTHETIC_TARGET, events, detectedAfterMs: opened - floodStart };
    }
  }
  throw new Error('synthetic attack did not resolve: the detection engine is broken');
}
