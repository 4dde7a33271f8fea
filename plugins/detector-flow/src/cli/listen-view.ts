import { parseHostPort, type Sample } from '@ft/sdk';
import type { FlowStatus } from '../detector.js';
import { table } from './table.js';

/** "[2001:db8::1]:2055", "auto@127.0.0.1:2055", "sflow@0.0.0.0:6343" → listener spec (validated later by the schema). */
export function parseEndpoint(
  text: string,
  withProtocol: boolean,
): { protocol?: string; address: string; port: number } {
  let rest = text.trim();
  let protocol: string | undefined;
  const at = rest.indexOf('@');
  if (withProtocol && at !== -1) {
    protocol = rest.slice(0, at);
    rest = rest.slice(at + 1);
  }
  let hp;
  try {
    hp = parseHostPort(rest, { portZero: true });
  } catch (err) {
    throw new Error(
      `"${text}" is not ${withProtocol ? '[protocol@]' : ''}address:port (IPv6 as [addr]:port): ${(err as Error).message}`,
      { cause: err },
    );
  }
  return { ...(protocol !== undefined ? { protocol } : {}), address: hp.host, port: hp.port };
}

function si(n: number, unit: string): string {
  const steps: [number, string][] = [
    [1e12, 'T'],
    [1e9, 'G'],
    [1e6, 'M'],
    [1e3, 'k'],
  ];
  for (const [v, p] of steps) if (n >= v) return `${(n / v).toFixed(n / v >= 100 ? 0 : 1)}${p}${unit}`;
  return `${Math.round(n)}${unit}`;
}

/** The live view: targets by bit rate, then one line per exporter. */
export function renderWindow(samples: Sample[], status: FlowStatus, rows: number): string {
  const sorted = [...samples].sort((a, b) => b.bps - a.bps || a.target.localeCompare(b.target)).slice(0, rows);
  const pct = (n: number, of: number) => (of > 0 ? `${Math.round((n / of) * 100)}%` : '-');
  const body = table(
    ['TARGET', 'PPS', 'BPS', 'TCP', 'UDP', 'ICMP', 'SOURCES', 'TOP SOURCE', 'TOP DPORT', 'FLAGS'],
    sorted.map((s) => {
      const p = s.protocols ?? { tcp: 0, udp: 0, icmp: 0, other: 0 };
      const flags = Object.entries(s.tcpFlags ?? {})
        .filter(([, v]) => (v ?? 0) > 0)
        .map(([k]) => k)
        .join(',');
      return [
        s.target,
        si(s.pps, 'pps'),
        si(s.bps, 'bps'),
        pct(p.tcp, s.pps),
        pct(p.udp, s.pps),
        pct(p.icmp, s.pps),
        String(s.sourceCount ?? '-'),
        s.topSrcIps?.[0]?.key ?? '-',
        s.topDstPorts?.[0] ? String(s.topDstPorts[0].key) : '-',
        flags || '-',
      ];
    }),
  );
  const l = status.listener;
  const workers =
    status.workers.length > 1
      ? `  ${status.workers.length} receive workers (${status.workers.map((w) => w.received).join('/')})`
      : '';
  const head = `${new Date().toISOString()}  ${samples.length} target(s)  ${status.totals.datagrams} datagrams  ${status.totals.decodeErrors} decode errors  ${l.notAllowed} not allowed  ${l.socketDrops} kernel drops${workers}`;
  const exporters = status.exporters.map(
    (e) =>
      `exporter ${e.exporter} ${e.protocols.join('/')}: ${e.datagrams} datagrams, ${e.records} records, loss ${(e.estimatedLoss * 100).toFixed(2)}%, ` +
      `${e.templateMisses} template misses, ${e.decodeErrors} errors${e.lastSamplingRate ? `, rate 1:${e.lastSamplingRate}` : ''}` +
      `${e.unknownSampling ? `, ${e.unknownSampling} records at the default rate` : ''}`,
  );
  return [head, '', body, '', ...exporters].join('\n');
}
