// BGP speakers `ft setup` can find on this box — a gobgpd API, a BIRD or FRR control socket, an ExaBGP process —
// and the check that one answers, which is `ft doctor`'s speaker check (the adapter's own health()) run on a
// one-speaker policy.
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Prefix, parseHostPort } from '@ft/sdk';
import type { CheckResult } from '../doctor/types.js';
import type { Registry } from '../plugin-host/registry.js';
import { SetupInputError, formatSpeaker, type SpeakerChoice } from './answers.js';
import { optionValue, type HostProcess } from './host.js';
import { renderPolicy } from './render.js';

export interface FoundSpeaker {
  choice: SpeakerChoice;
  /** How it was found, for the prompt ("gobgpd pid 812 --api-hosts 127.0.0.1:50051"). */
  source: string;
}

const GOBGP_DEFAULT_API = ':50051';
const BIRD_SOCKETS = ['/run/bird/bird.ctl', '/var/run/bird/bird.ctl'];
const FRR_VTY_DIRS = ['/run/frr', '/var/run/frr'];

/** gobgpd's --api-hosts entry as an address ft can dial: a wildcard host is reached on loopback. */
function dialable(apiHost: string): string {
  if (apiHost.startsWith('unix://')) return apiHost;
  let hp;
  try {
    hp = parseHostPort(apiHost, { wildcard: true });
  } catch {
    return apiHost;
  }
  if (hp.host === '' || hp.host === '0.0.0.0') return `127.0.0.1:${hp.port}`;
  if (hp.host === '::') return `[::1]:${hp.port}`;
  return apiHost;
}

/** Connects (TCP host:port, or a Unix socket path) within `timeoutMs`; undefined when something accepts, else why not. */
export function connectError(
  to: { host: string; port: number } | { path: string },
  timeoutMs = 1000,
): Promise<string | undefined> {
  return new Promise((resolve) => {
    const s = connect({ ...to, timeout: timeoutMs });
    const done = (why: string | undefined) => {
      s.destroy();
      resolve(why);
    };
    s.once('connect', () => done(undefined));
    s.once('timeout', () => done(`no answer within ${timeoutMs} ms`));
    s.once('error', (err: NodeJS.ErrnoException) => done(err.code ?? err.message));
  });
}

export const canConnect = async (host: string, port: number, timeoutMs = 1000) =>
  (await connectError({ host, port }, timeoutMs)) === undefined;

/**
 * Whether anything answers where the speaker should be: gobgpd's API (TCP or Unix socket), BIRD's control socket,
 * FRR's bgpd vty socket. This decides "does not answer"; the adapter's health check then says how it is doing.
 */
export async function unreachable(s: SpeakerChoice): Promise<string | undefined> {
  let to: { host: string; port: number } | { path: string };
  switch (s.kind) {
    case 'gobgp': {
      const where = s.where as string;
      if (where.startsWith('unix://')) to = { path: where.slice('unix://'.length) };
      else {
        let hp;
        try {
          hp = parseHostPort(where);
        } catch {
          return undefined; // the adapter's schema names what is wrong with it
        }
        to = { host: hp.host, port: hp.port };
      }
      break;
    }
    case 'bird':
      to = { path: s.where ?? BIRD_SOCKETS.find((x) => existsSync(x)) ?? (BIRD_SOCKETS[0] as string) };
      break;
    case 'frr':
      to = {
        path: join(s.where ?? FRR_VTY_DIRS.find((d) => existsSync(join(d, 'bgpd.vty'))) ?? '/var/run/frr', 'bgpd.vty'),
      };
      break;
    case 'exabgp':
      return undefined; // ExaBGP dials ft, not the other way round
  }
  const why = await connectError(to);
  if (!why) return undefined;
  const at = 'path' in to ? to.path : `${to.host}:${to.port}`;
  return `nothing answers at ${at} (${why})`;
}

export async function findSpeakers(procs: readonly HostProcess[]): Promise<FoundSpeaker[]> {
  const out: FoundSpeaker[] = [];
  const add = (choice: SpeakerChoice, source: string) => {
    if (!out.some((o) => formatSpeaker(o.choice) === formatSpeaker(choice))) out.push({ choice, source });
  };
  for (const p of procs) {
    if (p.name === 'gobgpd') {
      const hosts = (optionValue(p.argv, '--api-hosts') ?? GOBGP_DEFAULT_API).split(',');
      for (const h of hosts)
        add({ kind: 'gobgp', where: dialable(h.trim()) }, `gobgpd (pid ${p.pid}), API ${h.trim()}`);
    } else if (/^bird[26]?$/.test(p.name)) {
      const socket = optionValue(p.argv, '-s') ?? BIRD_SOCKETS.find((s) => existsSync(s)) ?? BIRD_SOCKETS[0];
      add({ kind: 'bird', where: socket }, `${p.name} (pid ${p.pid}), control socket ${socket}`);
    } else if (p.name === 'bgpd' && p.argv[0]?.includes('frr')) {
      const dir = optionValue(p.argv, '--vty_socket');
      add({ kind: 'frr', ...(dir ? { where: dir } : {}) }, `FRR bgpd (pid ${p.pid})`);
    } else if (p.argv.slice(0, 3).some((a) => /(^|\/)exabgp$/.test(a))) {
      add({ kind: 'exabgp' }, `ExaBGP (pid ${p.pid})`);
    }
  }
  // A speaker in a container shows no process here: its default endpoints still may.
  if (!out.some((o) => o.choice.kind === 'gobgp') && (await canConnect('127.0.0.1', 50051)))
    add({ kind: 'gobgp', where: '127.0.0.1:50051' }, "something listens on 127.0.0.1:50051 (gobgpd's API port)");
  for (const s of BIRD_SOCKETS)
    if (!out.some((o) => o.choice.kind === 'bird') && existsSync(s))
      add({ kind: 'bird', where: s }, `BIRD control socket ${s}`);
  for (const d of FRR_VTY_DIRS)
    if (!out.some((o) => o.choice.kind === 'frr') && existsSync(join(d, 'bgpd.vty')))
      add({ kind: 'frr' }, `FRR vty socket ${d}/bgpd.vty`);
  // Only what can be reached from here is proposed ("a speaker it can reach"); ExaBGP dials ft instead.
  const reachable = await Promise.all(out.map(async (f) => (await unreachable(f.choice)) === undefined));
  return out.filter((_, i) => reachable[i]);
}

export interface SpeakerCheck {
  /** ok: answers with its sessions up; warn: answers, but something to look at; fail: nothing answers. */
  status: 'ok' | 'warn' | 'fail';
  summary: string;
  hint?: string;
}

/**
 * Whether the speaker answers, by `ft doctor`'s own checks on a policy naming only it: the adapter validates its
 * options and runs its health check. ExaBGP's bridge only connects once `ft run` listens, so its "down" is a warning.
 */
export async function checkSpeaker(
  speaker: SpeakerChoice,
  asn: number | undefined,
  host: { config: unknown; registry: Registry },
  protect: readonly Prefix[] = [Prefix.parse('192.0.2.0/24')],
): Promise<SpeakerCheck> {
  const { runDoctor } = await import('../doctor/checks.js');
  const { speakersCheck } = await import('../doctor/policy.js');
  const { parsePolicy, PolicyError } = await import('../policy/index.js');
  const dir = await mkdtemp(join(tmpdir(), 'ft-setup-speaker-'));
  try {
    const policyPath = join(dir, 'speaker.yaml');
    const text = renderPolicy(
      {
        protect: [...protect],
        neverTarget: [],
        asn: asn ?? 64512,
        speaker,
        accessLogs: [],
        flowPorts: [],
        rtr: [],
        levels: [],
        mode: 'preview',
      },
      { generatedAt: new Date(), schemaPath: 'policy.schema.json', notes: {} },
    );
    // The adapter's own schema first: a malformed address is a reason, not a failed connection.
    try {
      parsePolicy(text, policyPath, host.registry);
    } catch (err) {
      if (!(err instanceof PolicyError)) throw err;
      throw new SetupInputError(
        'speaker',
        `${formatSpeaker(speaker)}: ${err.issues.map((i) => `${i.path.replace(/^speakers\.edge-[a-z]+\./, '')}: ${i.message}`).join('; ')}`,
      );
    }
    const why = await unreachable(speaker);
    if (why)
      return {
        status: 'fail',
        summary: `${formatSpeaker(speaker)}: ${why}`,
        hint: speakerHint(speaker),
      };
    await writeFile(policyPath, text);
    const report = await runDoctor({ probe: false, policyPath, config: host.config }, [speakersCheck]);
    const c: CheckResult | undefined = report.checks.find((r) => r.id.startsWith('speaker.'));
    if (!c) return { status: 'fail', summary: `${formatSpeaker(speaker)}: not checked` };
    // doctor names the policy's instance ("edge-gobgp (gobgp): …"); here the speaker as the operator wrote it.
    const summary = `${formatSpeaker(speaker)}: ${c.summary.replace(/^edge-[a-z]+ \([^)]*\): /, '')}`;
    if (c.status !== 'ok' && speaker.kind === 'exabgp')
      return {
        status: 'warn',
        summary,
        hint: "ExaBGP connects to ft's socket once `ft run` starts: configure its process section (docs/adapters/bgp-exabgp.md)",
      };
    // It answered: sessions not (yet) established are for the operator to look at, not a reason to refuse it.
    if (c.status === 'ok') return { status: 'ok', summary };
    return { status: 'warn', summary, hint: 'the speaker answers; check its BGP sessions before going live' };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

function speakerHint(s: SpeakerChoice): string {
  switch (s.kind) {
    case 'gobgp':
      return 'is gobgpd running, and is this its --api-hosts address?';
    case 'bird':
      return 'is BIRD running, and is this its control socket (bird -s)?';
    case 'frr':
      return 'is FRR bgpd running (and ft root, to reach its vty sockets)?';
    case 'exabgp':
      return '';
  }
}
