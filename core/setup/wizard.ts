// The interactive `ft setup`: what the box showed first, then only the questions the box cannot answer, each
// checked as it is typed (a bad answer is asked again with the reason). Prompts are @clack/prompts.
import * as p from '@clack/prompts';
import { Prefix } from '@ft/sdk';
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
  type AccessLog,
  type Level,
  type Mode,
  type SetupAnswers,
  type SpeakerChoice,
} from './answers.js';
import { answerWarnings, ownAddresses, proposals, type AnswerFlags, type SetupHost, type SetupOutput } from './run.js';
import { checkSpeaker } from './speakers.js';
import type { Survey } from './survey.js';
import { exists, unwritableReason } from './write.js';

/** Ctrl-C or Escape at any question: nothing has been written. */
export class SetupCancelled extends Error {
  constructor() {
    super('setup cancelled: nothing was written');
    this.name = 'SetupCancelled';
  }
}

export const clackOutput: SetupOutput = {
  step: (t) => p.log.step(t),
  info: (t) => p.log.info(t),
  warn: (t) => p.log.warn(t),
  success: (t) => p.log.success(t),
};

function answered<T>(v: T): Exclude<T, symbol> {
  if (p.isCancel(v)) throw new SetupCancelled();
  return v as Exclude<T, symbol>;
}

/** A parser as a prompt validator: its reason is shown under the input, and the question stays open. */
const reason =
  (parse: (text: string) => unknown) =>
  (text: string | undefined): string | undefined => {
    try {
      parse(text ?? '');
      return undefined;
    } catch (err) {
      if (err instanceof SetupInputError) return err.reason;
      return (err as Error).message;
    }
  };

const joined = (ps: readonly Prefix[]) => ps.map((x) => x.toString()).join(', ');

async function askProtect(s: Survey, proposed: Prefix[]): Promise<Prefix[]> {
  for (;;) {
    const text = answered(
      await p.text({
        message: 'Prefixes to protect (ft never targets anything outside them)',
        placeholder: '203.0.113.0/24, 2001:db8:100::/48',
        initialValue: joined(proposed),
        validate: reason(parseProtect),
      }),
    );
    const protect = parseProtect(text);
    const outside = outsideProtect(ownAddresses(s), protect);
    if (outside.length === 0) return protect;
    p.log.warn(`This box's own address ${outside.join(', ')} is outside these prefixes: ft will never act for it.`);
    if (answered(await p.confirm({ message: 'Keep these prefixes anyway?', initialValue: false }))) return protect;
    proposed = protect;
  }
}

async function askSpeaker(
  s: Survey,
  host: SetupHost,
  asn: number,
  protect: Prefix[],
): Promise<SpeakerChoice | undefined> {
  const found = proposals(s).speakers;
  for (;;) {
    let choice: SpeakerChoice | undefined;
    const picked = answered(
      await p.select<string>({
        message:
          found.length > 0
            ? 'BGP speaker ft announces FlowSpec and RTBH through'
            : 'No BGP speaker found on this box. Which one should ft use?',
        options: [
          ...found.map((f) => ({ value: formatSpeaker(f.choice), label: formatSpeaker(f.choice), hint: f.source })),
          { value: 'other', label: 'another speaker…', hint: 'gobgp@HOST:PORT, bird@SOCKET, frr, exabgp' },
          { value: 'none', label: 'none', hint: 'on-node rules only, nothing leaves this box' },
        ],
      }),
    );
    if (picked === 'none') return undefined;
    if (picked === 'other') {
      const text = answered(
        await p.text({
          message: 'Speaker as KIND@WHERE',
          placeholder: 'gobgp@127.0.0.1:50051',
          validate: reason((t) => {
            if (parseSpeaker(t) === undefined)
              throw new SetupInputError('speaker', 'choose "none" in the list instead');
          }),
        }),
      );
      choice = parseSpeaker(text);
    } else choice = parseSpeaker(picked);
    if (!choice) return undefined;
    const spin = p.spinner();
    spin.start(`Asking ${formatSpeaker(choice)}`);
    let check;
    try {
      check = await checkSpeaker(choice, asn, host, protect);
    } catch (err) {
      spin.error(`${formatSpeaker(choice)}: ${err instanceof SetupInputError ? err.reason : (err as Error).message}`);
      continue;
    }
    if (check.status === 'fail') {
      spin.error(`${check.summary}${check.hint ? ` — ${check.hint}` : ''}`);
      continue;
    }
    if (check.status === 'ok') spin.stop(check.summary);
    else {
      spin.stop(`${formatSpeaker(choice)} answers`);
      p.log.warn(`${check.summary}${check.hint ? ` — ${check.hint}` : ''}`);
    }
    return choice;
  }
}

export interface WizardResult {
  answers: SetupAnswers;
  path: string;
  force: boolean;
  service?: { install: boolean; start: boolean };
}

/** Asks what `flags` leaves open; returns once the operator confirmed writing the policy. */
export async function runWizard(
  s: Survey,
  host: SetupHost,
  flags: AnswerFlags,
  o: {
    defaultPath: string;
    pathGiven: boolean;
    force: boolean;
    flowPorts: number[];
    service?: boolean;
    dryRun: boolean;
  },
): Promise<WizardResult> {
  const found = proposals(s);
  const protect = flags.protect ? parseProtect(flags.protect) : await askProtect(s, found.protect);
  const neverTarget = flags.neverTarget
    ? parseNeverTarget(flags.neverTarget)
    : parseNeverTarget(
        answered(
          await p.text({
            message:
              'Never-targets: addresses ft must never filter or blackhole (resolvers, router loopbacks, monitoring)',
            placeholder: 'none',
            initialValue: joined(found.neverTarget),
            validate: reason((t) => parseNeverTarget(t.trim() === '' ? 'none' : t)),
          }),
        ).trim() || 'none',
      );
  const asn = parseAsn(
    flags.asn ??
      answered(
        await p.text({
          message: 'Origin AS of your announcements (RPKI checks them against it)',
          placeholder: '64500',
          validate: reason(parseAsn),
        }),
      ),
  );
  let speaker: SpeakerChoice | undefined;
  if (flags.speaker !== undefined) {
    speaker = parseSpeaker(flags.speaker);
    if (speaker) {
      const c = await checkSpeaker(speaker, asn, host, protect);
      if (c.status === 'fail') throw new SetupInputError('--speaker', c.summary);
    }
  } else speaker = await askSpeaker(s, host, asn, protect);

  let levels: Level[] = [];
  if (speaker) {
    levels = flags.levels
      ? parseLevels(flags.levels)
      : answered(
          await p.multiselect<Level>({
            message: 'Escalation levels (the reference ladder; level 4, scrubbing, is written commented out)',
            options: LEVELS.map((l) => ({ value: l.level, label: `${l.level}: ${l.name}`, hint: `bps ${l.when}` })),
            initialValues: LEVELS.map((l) => l.level),
            required: false,
          }),
        );
  }

  let accessLogs: AccessLog[];
  if (flags.accessLog) accessLogs = parseAccessLogs(flags.accessLog);
  else if (found.accessLogs.length > 0)
    accessLogs = answered(
      await p.multiselect<string>({
        message: 'Access logs the l7 detector watches for HTTP floods',
        options: found.accessLogs.map((l) => ({ value: l.path, label: l.path, hint: `${l.server}; ${l.note}` })),
        initialValues: found.accessLogs.map((l) => l.path),
        required: false,
      }),
    ).map((path) => {
      const f = found.accessLogs.find((l) => l.path === path);
      return { path, ...(f?.format ? { format: f.format } : {}) };
    });
  else accessLogs = [];

  let flowExporters: Prefix[] | undefined;
  if (flags.flow) flowExporters = parseFlow(flags.flow);
  else if (found.flowExporters)
    flowExporters = answered(
      await p.confirm({
        message: `Feed the flow detector from the exporters heard (${joined(found.flowExporters)})?`,
        initialValue: true,
      }),
    )
      ? found.flowExporters
      : undefined;

  const rtr = flags.rtr ?? found.rtr;
  if (!flags.rtr && rtr.length > 0) p.log.info(`RPKI: checking announcements against the RTR cache ${rtr.join(', ')}`);

  const mode: Mode = flags.mode
    ? parseMode(flags.mode)
    : answered(
        await p.select<Mode>({
          message: 'Mode',
          options: [
            { value: 'preview', label: 'preview', hint: 'plan and log only: start here' },
            { value: 'enforce', label: 'enforce', hint: 'carry the plan out on routers and this firewall' },
          ],
          initialValue: 'preview',
        }),
      );

  const answers: SetupAnswers = {
    protect,
    neverTarget,
    asn,
    ...(speaker ? { speaker } : {}),
    accessLogs,
    ...(flowExporters ? { flowExporters } : {}),
    flowPorts: o.flowPorts,
    rtr,
    levels,
    mode,
  };

  let path = o.defaultPath;
  let force = o.force;
  if (!o.dryRun)
    for (;;) {
      if (!o.pathGiven)
        path = answered(
          await p.text({
            message: 'Write the policy to',
            initialValue: path,
            validate: (t) => (t && t.startsWith('/') ? undefined : 'an absolute path'),
          }),
        );
      const why = await unwritableReason(path);
      if (why) {
        if (o.pathGiven) throw new SetupInputError('--policy', why);
        p.log.error(why);
        continue;
      }
      if (!force && (await exists(path))) {
        const replace = answered(
          await p.confirm({
            message: `${path} exists. Replace it (the old one is kept as a .bak beside it)?`,
            initialValue: false,
          }),
        );
        if (!replace) {
          if (o.pathGiven) throw new SetupInputError('--policy', `${path} exists; not replaced`);
          continue;
        }
        force = true;
      }
      break;
    }

  for (const w of answerWarnings(answers, s)) p.log.warn(w);
  if (!o.dryRun && !answered(await p.confirm({ message: `Write the policy to ${path}?`, initialValue: true })))
    throw new SetupCancelled();
  let service: WizardResult['service'];
  if (!o.dryRun && s.root) {
    const install =
      o.service ??
      answered(
        await p.confirm({ message: 'Install ft as a systemd service (ft.service) and start it?', initialValue: false }),
      );
    service = { install, start: install };
  }
  return { answers, path, force, ...(service ? { service } : {}) };
}
