// Flow exporters already sending to this box: the `flow` detector itself listens on each port for a few seconds
// (one instance per port, so a port another collector holds does not hide the others) and says who it heard.
import { Secret, type Detector } from '@ft/sdk';
import type { Registry } from '../plugin-host/registry.js';

export interface FlowProbe {
  /** Ports we listened on. */
  listened: number[];
  /** Ports we could not bind, with why (another collector, perhaps `ft run` itself). */
  busy: { port: number; reason: string }[];
  /** Exporter addresses heard, with the port each was heard on. */
  exporters: { address: string; port: number }[];
  datagrams: number;
}

function metric(d: Detector, name: string) {
  return (d.metrics?.() ?? []).filter((m) => m.name === name);
}

/** Listens `seconds` on each of `ports` (IPv4 and IPv6) and reports the exporters heard. */
export async function probeFlow(registry: Registry, ports: readonly number[], seconds: number): Promise<FlowProbe> {
  const result: FlowProbe = { listened: [], busy: [], exporters: [], datagrams: 0 };
  const entry = registry.detector('flow');
  if (!entry || ports.length === 0 || seconds <= 0) return result;
  const { createJsonLogger } = await import('../log/logger.js');
  // The probe's own bind errors are reported in the result; the detector's log lines would only repeat them.
  const logger = createJsonLogger({ level: 'silent' });
  const controller = new AbortController();
  const running: { port: number; detector: Detector }[] = [];
  for (const port of ports) {
    const config = entry.factory.configSchema.parse({
      listeners: [
        { address: '0.0.0.0', port },
        { address: '::', port },
      ],
      // Reports once per window; a short one so a few seconds see several.
      windowMs: 500,
    });
    try {
      const detector = await entry.factory.create(config, {
        name: `setup-flow-${port}`,
        logger,
        stateDir: '/nonexistent',
        signal: controller.signal,
        secret: (ref) => new Secret('', ref),
      });
      await detector.start(() => undefined);
      running.push({ port, detector });
      result.listened.push(port);
    } catch (err) {
      const e = err as NodeJS.ErrnoException;
      result.busy.push({
        port,
        reason: e.code === 'EADDRINUSE' ? 'in use by another collector' : (e.code ?? e.message),
      });
    }
  }
  try {
    if (running.length > 0) await new Promise((r) => setTimeout(r, seconds * 1000));
    for (const { port, detector } of running) {
      for (const m of metric(detector, 'ft_flow_exporter_last_seen_seconds')) {
        const address = m.labels?.exporter;
        if (address && !result.exporters.some((e) => e.address === address)) result.exporters.push({ address, port });
      }
      for (const m of metric(detector, 'ft_flow_datagrams_total')) result.datagrams += m.value;
    }
  } finally {
    for (const { detector } of running) await detector.stop().catch(() => undefined);
    controller.abort();
  }
  return result;
}
