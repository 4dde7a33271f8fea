// Test lab shared by the ExaBGP, BIRD and FRR adapter tests: a "speaker" namespace (where the adapter's daemon
// runs) joined by a veth pair to a "peer" namespace running a plain gobgpd that receives what the speaker
// announces. The peer's RIB, read with the gobgp CLI, is the ground truth every test asserts against.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Daemon } from '../../../test/helpers/daemon.js';
import { Netns, link, run } from '../../../test/helpers/net.js';
import { waitFor } from '../../../test/helpers/wait.js';
import { expectedTags } from './rules.js';

export const SPEAKER_ADDR = '192.0.2.1';
export const PEER_ADDR = '192.0.2.2';
/** gobgpd's gRPC port inside the peer namespace (namespaces have their own loopback, so no clash). */
const PEER_API_PORT = 50051;

export interface PeerLab {
  speaker: Netns;
  peer: Netns;
  dir: string;
  gobgp: GobgpPeer;
  cleanup(): Promise<void>;
}

/** Builds the namespaces and starts the receiving gobgpd; `cleanup()` removes everything, even half-built. */
export async function makeLab(label: string, opts: { speakerAs: number; peerAs: number }): Promise<PeerLab> {
  const dir = mkdtempSync(join(tmpdir(), `ft-${label}-`));
  const made: Netns[] = [];
  let gobgp: GobgpPeer | undefined;
  const cleanup = async () => {
    await gobgp?.stop();
    for (const ns of made) ns.delete();
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    const speaker = Netns.create(`${label}s`);
    made.push(speaker);
    const peer = Netns.create(`${label}p`);
    made.push(peer);
    link(speaker, `${SPEAKER_ADDR}/24`, peer, `${PEER_ADDR}/24`);
    gobgp = new GobgpPeer(peer, dir, opts.peerAs, opts.speakerAs);
    await gobgp.start();
    return { speaker, peer, dir, gobgp, cleanup };
  } catch (err) {
    await cleanup();
    throw err;
  }
}

export type GobgpFamily = 'ipv4' | 'ipv6' | 'ipv4-flowspec' | 'ipv6-flowspec';

export interface RibPath {
  /** gobgp's display key: the prefix, or "[destination: ...][protocol: ==udp]..." for FlowSpec. */
  key: string;
  nexthop?: string;
  communities: number[];
  largeCommunities: string[];
  /** Extended communities as gobgp decodes them (e.g. {type:128, subtype:6, as:0, rate:0}). */
  extended: Record<string, unknown>[];
}

export class GobgpPeer {
  private daemon?: Daemon;
  private readonly configPath: string;

  constructor(
    readonly ns: Netns,
    dir: string,
    readonly as: number,
    readonly speakerAs: number,
  ) {
    this.configPath = join(dir, 'gobgpd.toml');
    const families = ['ipv4-unicast', 'ipv6-unicast', 'ipv4-flowspec', 'ipv6-flowspec'];
    writeFileSync(
      this.configPath,
      [
        '[global.config]',
        `  as = ${as}`,
        `  router-id = "${PEER_ADDR}"`,
        '[[neighbors]]',
        '  [neighbors.config]',
        `    neighbor-address = "${SPEAKER_ADDR}"`,
        `    peer-as = ${speakerAs}`,
        '  [neighbors.timers.config]',
        '    connect-retry = 1',
        ...families.flatMap((f) => [
          '  [[neighbors.afi-safis]]',
          '    [neighbors.afi-safis.config]',
          `      afi-safi-name = "${f}"`,
        ]),
        '',
      ].join('\n'),
    );
  }

  async start(): Promise<void> {
    this.daemon = new Daemon(
      this.ns.argv([
        'gobgpd',
        '-f',
        this.configPath,
        '--api-hosts',
        `127.0.0.1:${PEER_API_PORT}`,
        '--pprof-disable',
        '-p',
      ]),
    );
    await waitFor(() => this.cli(['neighbor'], true).status === 0, {
      what: `gobgpd in ${this.ns.name} to answer`,
      timeoutMs: 10_000,
    });
  }

  async stop(): Promise<void> {
    await this.daemon?.stop();
    this.daemon = undefined;
  }

  /** A session flap as a router would see it: the peer goes away and comes back with an empty RIB. */
  async restart(): Promise<void> {
    await this.stop();
    await this.start();
  }

  get output(): string {
    return this.daemon?.output ?? '';
  }

  cli(args: string[], allowFail = false) {
    return this.ns.exec(['gobgp', '-p', String(PEER_API_PORT), ...args], { allowFail });
  }

  sessionState(): string {
    const r = this.cli(['neighbor', SPEAKER_ADDR, '-j'], true);
    if (r.status !== 0) return 'unknown';
    const j = JSON.parse(r.stdout) as { state?: { session_state?: number | string } };
    return String(j.state?.session_state ?? 'unknown');
  }

  async waitEstablished(timeoutMs = 20_000): Promise<void> {
    await waitFor(() => /^(6|established)$/i.test(this.sessionState()), {
      what: 'BGP session established',
      timeoutMs,
      intervalMs: 100,
    });
  }

  rib(family: GobgpFamily): RibPath[] {
    const r = this.cli(['global', 'rib', '-a', family, '-j'], true);
    if (r.status !== 0 || r.stdout.trim() === '') return [];
    const table = JSON.parse(r.stdout) as Record<string, { attrs?: { type: number; [k: string]: unknown }[] }[]>;
    const out: RibPath[] = [];
    for (const [key, paths] of Object.entries(table ?? {})) {
      for (const path of paths) {
        const attrs = path.attrs ?? [];
        const byType = (t: number) => attrs.find((a) => a.type === t) as Record<string, unknown> | undefined;
        const mp = byType(14);
        out.push({
          key,
          nexthop: (byType(3)?.nexthop as string | undefined) ?? (mp?.nexthop as string | undefined),
          communities: (byType(8)?.communities as number[] | undefined) ?? [],
          largeCommunities: (
            (byType(32)?.value as { ASN: number; LocalData1: number; LocalData2: number }[] | undefined) ?? []
          ).map((c) => `${c.ASN}:${c.LocalData1}:${c.LocalData2}`),
          extended: (byType(16)?.value as Record<string, unknown>[] | undefined) ?? [],
        });
      }
    }
    return out;
  }

  /** Polls the RIB until `pick` finds something (routes take a few ms to arrive; never a fixed sleep). */
  async waitFor(
    family: GobgpFamily,
    pick: (paths: RibPath[]) => RibPath | undefined | false,
    what: string,
    timeoutMs = 10_000,
  ): Promise<RibPath> {
    return waitFor(() => pick(this.rib(family)) || undefined, {
      what: `${what} in the peer's ${family} RIB`,
      timeoutMs,
      intervalMs: 25,
    });
  }

  async waitGone(family: GobgpFamily, match: (p: RibPath) => boolean, what: string, timeoutMs = 10_000): Promise<void> {
    await waitFor(() => !this.rib(family).some(match), {
      what: `${what} to leave the peer's ${family} RIB`,
      timeoutMs,
      intervalMs: 25,
    });
  }
}

export const BLACKHOLE = 0xffff029a;
export const NO_EXPORT = 0xffffff01;

/** True when a gobgp FlowSpec key holds every component given (e.g. "[destination: 203.0.113.10/32]"). */
export function keyHas(path: RibPath, ...parts: string[]): boolean {
  return parts.every((p) => path.key.includes(p));
}

export { run };

/**
 * True when a path carries ft's tag for rule `id` under `asn` (written out from the documented scheme,
 * independently of the adapters' own code: see expectedTags), for the rule's tenant (default "lab").
 */
export function taggedFor(asn: number, id: string, tenant = 'lab', installId = ''): (p: RibPath) => boolean {
  const want = expectedTags(asn, id, tenant, installId);
  return (p) => want.every((t) => p.largeCommunities.includes(t));
}
