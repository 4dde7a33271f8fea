// `ft setup` after the answers: the policy text, checked by the policy loader before anything is written, written
// atomically, then `ft policy validate`, `ft policy explain`, `ft mitigate preview` of a synthetic attack and, as
// root when asked, `ft service install` + start — the commands themselves, run in this process.
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Prefix } from '@ft/sdk';
import type { Registry } from '../plugin-host/registry.js';
import {
  LEVELS,
  SetupInputError,
  formatSpeaker,
  outsideProtect,
  parseAccessLogs,
  parseAsn,
  parseFlow,
  parseLevels,
  parseMode,
  parseNeverTarget,
  parseProtect,
  parseSpeaker,
  previewTarget,
  type SetupAnswers,
  type SpeakerChoice,
} from './answers.js';
import { proposedProtect } from './host.js';
import { renderPolicy, type RenderContext } from './render.js';
import { checkSpeaker } from './speakers.js';
import type { Survey } from './survey.js';
import { writePolicyFile, type WriteResult } from './write.js';

/** The flags that answer questions; undefined: not given (the survey's proposal, or the question, decides). */
export interface AnswerFlags {
  protect?: string[];
  neverTarget?: string[];
  asn?: string;
  speaker?: string;
  accessLog?: string[];
  flow?: string[];
  rtr?: string[];
  levels?: string;
  mode?: string;
}

/** What ft runs and prints through: the oclif config (commands, plugins) and its output. */
export interface SetupHost {
  config: { runCommand(id: string, argv?: string[]): Promise<unknown>; root: string };
  registry: Registry;
  out: SetupOutput;
}

export interface SetupOutput {
  step(text: string): void;
  info(text: string): void;
  warn(text: string): void;
  success(text: string): void;
}

/** What the box suggests for each question, before anyone answers. */
export interface Proposals {
  protect: Prefix[];
  neverTarget: Prefix[];
  speakers: Survey['speakers'];
  accessLogs: Survey['logs'];
  flowExporters?: Prefix[];
  rtr: string[];
}

export function proposals(s: Survey): Proposals {
  const exporters = s.flow.exporters.map((e) => Prefix.parse(e.address));
  return {
    protect: proposedProtect(s.addresses),
    neverTarget: s.resolvers.filter((r) => !r.loopback).map((r) => Prefix.parse(r.address)),
    speakers: s.speakers,
    accessLogs: s.logs,
    ...(exporters.length > 0 ? { flowExporters: exporters } : {}),
    rtr: s.caches.filter((c) => c.synced).map((c) => c.address),
  };
}

/** Addresses of this box that could be protected (public space on interfaces that are up). */
export const ownAddresses = (s: Survey) => s.addresses.filter((a) => a.scope === 'public').map((a) => a.address);

/**
 * The answers without asking: each from its flag, else the survey's proposal; a question with neither is an error
 * naming its flag. A given speaker must answer its health check.
 */
export async function answersFromFlags(
  f: AnswerFlags,
  s: Survey,
  host: SetupHost,
  flowPorts: number[],
): Promise<SetupAnswers> {
  const p = proposals(s);
  const protect = f.protect ? parseProtect(f.protect) : p.protect;
  if (protect.length === 0)
    throw new SetupInputError('--protect', 'required: this box has no public address to propose a prefix from');
  if (f.asn === undefined) throw new SetupInputError('--asn', 'required: the origin AS cannot be read from the box');
  const asn = parseAsn(f.asn);
  let speaker: SpeakerChoice | undefined;
  if (f.speaker !== undefined) {
    speaker = parseSpeaker(f.speaker);
    if (speaker) {
      const c = await checkSpeaker(speaker, asn, host, protect);
      if (c.status === 'fail') throw new SetupInputError('--speaker', `${c.summary}${c.hint ? ` (${c.hint})` : ''}`);
      if (c.status === 'warn') host.out.warn(`${c.summary}${c.hint ? ` — ${c.hint}` : ''}`);
    }
  } else {
    // The first speaker found that answers.
    for (const found of p.speakers) {
      const c = await checkSpeaker(found.choice, asn, host, protect);
      if (c.status !== 'fail') {
        speaker = found.choice;
        host.out.info(`speaker ${c.summary} (${found.source})`);
        break;
      }
      host.out.warn(`speaker left out: ${c.summary} (${found.source})`);
    }
  }
  const accessLogs = f.accessLog
    ? parseAccessLogs(f.accessLog).map((l) => ({ ...l, ...formatOf(l.path, p) }))
    : p.accessLogs.map((l) => ({ path: l.path, ...(l.format ? { format: l.format } : {}) }));
  const flowExporters = f.flow ? parseFlow(f.flow) : p.flowExporters;
  const rtr = f.rtr ?? p.rtr;
  return {
    protect,
    neverTarget: f.neverTarget ? parseNeverTarget(f.neverTarget) : p.neverTarget,
    asn,
    ...(speaker ? { speaker } : {}),
    accessLogs,
    ...(flowExporters ? { flowExporters } : {}),
    flowPorts,
    rtr,
    levels: f.levels !== undefined ? parseLevels(f.levels) : LEVELS.map((l) => l.level),
    mode: f.mode !== undefined ? parseMode(f.mode) : 'preview',
  };
}

/** Every answer given as a flag, checked before the box is looked at: a typo fails at once, not after the survey. */
export function checkFlags(f: AnswerFlags): void {
  if (f.protect) parseProtect(f.protect);
  if (f.neverTarget) parseNeverTarget(f.neverTarget);
  if (f.asn !== undefined) parseAsn(f.asn);
  if (f.speaker !== undefined) parseSpeaker(f.speaker);
  if (f.accessLog) parseAccessLogs(f.accessLog);
  if (f.flow) parseFlow(f.flow);
  if (f.levels !== undefined) parseLevels(f.levels);
  if (f.mode !== undefined) parseMode(f.mode);
}

function formatOf(path: string, p: Proposals): { format?: string } {
  const found = p.accessLogs.find((l) => l.path === path);
  return found?.format ? { format: found.format } : {};
}

/** Warnings about the answers a reader should see before the file is written. */
export function answerWarnings(a: SetupAnswers, s: Survey): string[] {
  const out: string[] = [];
  for (const addr of outsideProtect(ownAddresses(s), a.protect))
    out.push(`this box's address ${addr} is outside protect: ft will never act for it`);
  if (!a.speaker) out.push('no BGP speaker: ft acts on this box only (on-node rules); add one under speakers: later');
  if (a.speaker?.kind === 'frr' && a.levels.some((l) => l !== 3))
    out.push('FRR cannot originate FlowSpec: only level 3 (RTBH) goes through it');
  if (a.rtr.length === 0 && a.speaker)
    out.push('no RTR cache: with rpki: enforce no announcement goes out until rpki.caches lists one');
  if (a.mode === 'enforce') out.push('mode: enforce: ft run will change routers and this firewall for real');
  return out;
}

export interface SetupResult {
  policy: string;
  written: boolean;
  backup?: string;
  text: string;
  preview?: string;
  service?: { installed: boolean; started: boolean; detail?: string };
}

export function renderFor(a: SetupAnswers, s: Survey, host: SetupHost, now = new Date()): string {
  const target = previewTarget(a.protect, a.neverTarget, ownAddresses(s));
  const notes: RenderContext['notes'] = {};
  const found = s.speakers.find((f) => a.speaker && formatSpeaker(f.choice) === formatSpeaker(a.speaker));
  if (found) notes.speaker = `found: ${found.source}`;
  const cache = s.caches.find((c) => a.rtr.includes(c.address));
  if (cache) notes.rtr = `found: ${cache.source}`;
  if (a.flowExporters?.length && s.flow.exporters.length > 0) notes.flow = 'exporters heard by ft setup';
  const res = s.resolvers.map((r) => r.address);
  if (a.neverTarget.some((n) => res.includes(n.address))) notes.neverTarget = "includes this box's resolvers";
  const own = ownAddresses(s);
  return renderPolicy(a, {
    generatedAt: now,
    schemaPath: join(host.config.root, 'policies', 'policy.schema.json'),
    ...(target && own.includes(target) ? { siteAddress: target } : {}),
    notes,
  });
}

/** The policy text checked by the same loader `ft policy validate` uses; a problem here is ft's own bug. */
export async function checkText(text: string, path: string, registry: Registry): Promise<string[]> {
  const { parsePolicy, PolicyError, formatIssue } = await import('../policy/index.js');
  try {
    return parsePolicy(text, path, registry).warnings;
  } catch (err) {
    if (err instanceof PolicyError)
      throw new SetupInputError(
        'policy',
        `the policy ft setup wrote does not validate (please report this):\n${err.issues.map(formatIssue).join('\n')}`,
      );
    throw err;
  }
}

/** The what-if `ft mitigate preview` runs: a DNS amplification at twice the lowest level's rate. */
export function syntheticAttack(a: SetupAnswers, target: string): string {
  const lowest = LEVELS.find((l) => a.speaker && a.levels.includes(l.level));
  const bps = (lowest?.bps ?? 100e6) * 2;
  const text = bps >= 1e9 ? `${bps / 1e9}Gbps` : `${bps / 1e6}Mbps`;
  // ~1 kB packets: enough packets per second for the on-node amplification rule too.
  return `udp_flood ${text} ${Math.round(bps / 8000 / 1000)}kpps to ${target} vector=dns`;
}

export interface FinishOptions {
  path: string;
  text: string;
  force: boolean;
  /** Install and start the system service (root only); undefined: not asked for. */
  service?: { install: boolean; start: boolean; unitDir?: string };
}

export async function writeAndShow(
  a: SetupAnswers,
  s: Survey,
  host: SetupHost,
  o: FinishOptions,
): Promise<SetupResult> {
  const written: WriteResult = await writePolicyFile(o.path, o.text, { force: o.force });
  host.out.success(`wrote ${written.path}${written.backup ? ` (the previous one is kept as ${written.backup})` : ''}`);
  host.out.step(`ft policy validate ${o.path}`);
  await host.config.runCommand('policy:validate', [o.path]);
  host.out.step(`ft policy explain ${o.path}`);
  await host.config.runCommand('policy:explain', [o.path]);
  const result: SetupResult = {
    policy: o.path,
    written: true,
    ...(written.backup ? { backup: written.backup } : {}),
    text: o.text,
  };
  const target = previewTarget(a.protect, a.neverTarget, ownAddresses(s));
  if (target) {
    const sim = syntheticAttack(a, target);
    const argv = ['--policy', o.path, '--simulate', sim, ...a.rtr.slice(0, 1).flatMap((c) => ['--cache', c])];
    host.out.step(`ft mitigate preview ${argv.map((x) => (/\s/.test(x) ? JSON.stringify(x) : x)).join(' ')}`);
    try {
      await host.config.runCommand('mitigate:preview', argv);
      result.preview = sim;
    } catch (err) {
      host.out.warn(`the preview could not run: ${(err as Error).message}`);
    }
  } else host.out.warn('no address in protect outside neverTarget: no attack to preview');
  if (o.service?.install) result.service = await installService(o.path, host, o.service);
  return result;
}

const run = promisify(execFile);

async function installService(
  policy: string,
  host: SetupHost,
  o: { start: boolean; unitDir?: string },
): Promise<NonNullable<SetupResult['service']>> {
  host.out.step(`ft service install --policy ${policy}${o.unitDir ? ` --unit-dir ${o.unitDir}` : ''}`);
  await host.config.runCommand('service:install', [
    '--policy',
    policy,
    ...(o.unitDir ? ['--unit-dir', o.unitDir] : []),
  ]);
  if (!o.start) return { installed: true, started: false };
  for (const argv of [
    ['systemctl', 'daemon-reload'],
    ['systemctl', 'enable', '--now', 'ft.service'],
  ]) {
    host.out.step(argv.join(' '));
    try {
      await run(argv[0] as string, argv.slice(1), { timeout: 60_000 });
    } catch (err) {
      const e = err as { stderr?: string; message: string };
      const detail = (e.stderr || e.message).trim().split('\n')[0] ?? e.message;
      host.out.warn(`${argv.join(' ')} failed: ${detail}`);
      return { installed: true, started: false, detail };
    }
  }
  host.out.success('ft.service is enabled and running');
  return { installed: true, started: true };
}

/** What to run next, after the policy (and perhaps the service) is in place. */
export function nextSteps(path: string, r: SetupResult, root: boolean): string[] {
  const steps: [string, string][] = [
    [`ft doctor --policy ${path}`, 'speakers, RTR cache, this host'],
    ['ft detect', 'live rates and thresholds'],
  ];
  if (r.service?.started) steps.push(['journalctl -u ft -f', 'what the service does']);
  else if (r.service?.installed)
    steps.push(
      ['systemctl daemon-reload && systemctl enable --now ft.service', 'start it'],
      ['journalctl -u ft -f', 'what it does'],
    );
  else if (root)
    steps.push(
      [`ft service install --policy ${path}`, 'the systemd units'],
      ['systemctl enable --now ft.service', 'start it'],
      ['journalctl -u ft -f', 'what it does'],
    );
  else steps.push([`ft run --policy ${path} --watch`, 'in the foreground (on-node rules need root)']);
  steps.push([`ft mitigate preview --policy ${path} --simulate "udp_flood 1Gbps to <address> vector=dns"`, 'what-ifs']);
  return steps.map(([c, why]) => `${c}   # ${why}`);
}
