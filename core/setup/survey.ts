// Everything `ft setup` looks at before it asks anything, gathered at once (the flow listen takes a few seconds;
// the rest runs beside it).
import type { Registry } from '../plugin-host/registry.js';
import { probeFlow, type FlowProbe } from './flow.js';
import { hostAddresses, isRoot, processes, resolvers, type HostAddress } from './host.js';
import { findAccessLogs, type FoundLog } from './logs.js';
import { findRtrCaches, type FoundCache } from './rtr.js';
import { findSpeakers, type FoundSpeaker } from './speakers.js';

export interface Survey {
  root: boolean;
  addresses: HostAddress[];
  resolvers: { address: string; loopback: boolean }[];
  speakers: FoundSpeaker[];
  logs: FoundLog[];
  flow: FlowProbe;
  caches: FoundCache[];
}

export interface SurveyOptions {
  registry: Registry;
  flowPorts: readonly number[];
  /** How long to listen for flow exporters; 0 skips it. */
  listenSeconds: number;
  /** Parts already answered by flags are not looked for. */
  skip?: { speakers?: boolean; logs?: boolean; flow?: boolean; rtr?: boolean };
}

export async function surveyBox(o: SurveyOptions): Promise<Survey> {
  const procs = await processes();
  const none: FlowProbe = { listened: [], busy: [], exporters: [], datagrams: 0 };
  const [addresses, res, speakers, logs, flow, caches] = await Promise.all([
    hostAddresses(),
    resolvers(),
    o.skip?.speakers ? [] : findSpeakers(procs),
    o.skip?.logs ? [] : findAccessLogs(procs),
    o.skip?.flow ? none : probeFlow(o.registry, o.flowPorts, o.listenSeconds),
    o.skip?.rtr ? [] : findRtrCaches(procs),
  ]);
  return { root: isRoot(), addresses, resolvers: res, speakers, logs, flow, caches };
}

/** The survey in a few lines, for the wizard's first screen and the non-interactive log. */
export function describeSurvey(s: Survey): string[] {
  const lines: string[] = [];
  const up = s.addresses.filter((a) => a.scope !== 'loopback' && a.scope !== 'link-local');
  lines.push(
    up.length > 0
      ? `addresses: ${up.map((a) => `${a.address}/${a.onLink.length} (${a.interface}${a.scope === 'public' ? '' : `, ${a.scope}`})`).join(', ')}`
      : 'addresses: none but loopback and link-local on the interfaces that are up',
  );
  lines.push(
    s.speakers.length > 0
      ? `BGP speakers: ${s.speakers.map((f) => f.source).join('; ')}`
      : 'BGP speakers: none found (gobgpd API, BIRD/FRR control socket, ExaBGP)',
  );
  lines.push(
    s.logs.length > 0
      ? `access logs: ${s.logs.map((l) => `${l.path} (${l.server}; ${l.note})`).join('; ')}`
      : 'access logs: none under the usual paths or held open by a running web server',
  );
  const f = s.flow;
  if (f.listened.length > 0 || f.busy.length > 0)
    lines.push(
      `flow: ${
        f.exporters.length > 0
          ? `${f.exporters.map((e) => `${e.address} → :${e.port}`).join(', ')} (${f.datagrams} datagrams)`
          : `no exporter sending to UDP ${f.listened.join('/')}`
      }${f.busy.map((b) => `; port ${b.port} ${b.reason}`).join('')}`,
    );
  lines.push(
    s.caches.length > 0
      ? `RTR cache: ${s.caches.map((c) => `${c.address} (${c.source}; ${c.synced ? `${c.synced.vrps} VRPs, serial ${c.synced.serial}` : c.error})`).join('; ')}`
      : 'RTR cache: none answered (127.0.0.1:323, :8282, :3323, or a running stayrtr/Routinator)',
  );
  const res = s.resolvers.filter((r) => !r.loopback);
  lines.push(`resolvers: ${res.length > 0 ? res.map((r) => r.address).join(', ') : 'none but a loopback stub'}`);
  lines.push(s.root ? 'running as root' : 'not running as root: on-node actions and the system service need root');
  return lines;
}
