import { Flags } from '@oclif/core';
import { FtCommand } from '../cli/command.js';
import type { SetupResult } from '../setup/run.js';

export default class Setup extends FtCommand {
  static override summary =
    'Set ft up for this box: look at it, ask what it cannot tell, write a validated policy, preview an attack, install the service.';
  static override description =
    'Looks at the box first — interfaces and addresses (up ones, IPv4 and IPv6), BGP speakers it can reach (a gobgpd API, ' +
    'a BIRD or FRR control socket, an ExaBGP process), web-server access logs (nginx, Apache, Caddy, HAProxy, LiteSpeed), ' +
    'flow exporters already sending (it listens a few seconds on UDP 2055/4739/6343), an RTR cache, its resolvers, root or ' +
    'not — then asks only what it cannot know: the prefixes to protect, never-targets, the origin AS, the escalation levels ' +
    'and preview or enforce. It writes a commented policy (never over an existing one without --force; the old one is kept ' +
    'as a .bak), runs `ft policy validate` and `ft policy explain` on it, previews a synthetic attack on the first protected ' +
    'address with `ft mitigate preview`, and as root, when asked, runs `ft service install` and starts ft.service. ' +
    'Every question has a flag; with --yes nothing is asked (a question with neither a flag nor a proposal from the box is ' +
    'an error naming its flag). See docs/setup.md.';
  static override flags = {
    policy: Flags.string({
      char: 'p',
      summary: 'Where to write the policy (default /etc/ft/policy.yaml as root, ~/.config/ft/policy.yaml otherwise).',
    }),
    protect: Flags.string({ summary: 'A prefix to protect (repeatable, or comma-separated).', multiple: true }),
    'never-target': Flags.string({
      summary:
        'An address or prefix never to target (repeatable); "none" for none. Default: the resolvers of /etc/resolv.conf.',
      multiple: true,
    }),
    asn: Flags.string({ summary: 'Origin AS of the announcements (64500 or AS64500).' }),
    speaker: Flags.string({
      summary:
        'BGP speaker: gobgp@HOST:PORT, gobgp@unix:///PATH, bird@/run/bird/bird.ctl, frr, exabgp, or none. Default: the first one found that answers.',
    }),
    'access-log': Flags.string({
      summary: 'A web-server access log for the l7 detector (repeatable); "none" for none. Default: the ones found.',
      multiple: true,
    }),
    flow: Flags.string({
      summary:
        'A flow exporter (address or prefix) allowed to feed the flow detector (repeatable); "any" for every exporter, "none" for no flow detector. Default: the exporters heard.',
      multiple: true,
    }),
    rtr: Flags.string({
      summary:
        'RTR cache HOST:PORT for rpki.caches (repeatable); "none" for none. Default: the caches found that answer.',
      multiple: true,
    }),
    levels: Flags.string({ summary: 'Escalation levels to enable, e.g. 1,2,3 (the reference ladder) or none.' }),
    mode: Flags.string({ summary: 'preview (plan and log only) or enforce.', options: ['preview', 'enforce'] }),
    'flow-ports': Flags.string({ summary: 'UDP ports to listen on for flow exporters.', default: '2055,4739,6343' }),
    'listen-seconds': Flags.integer({
      summary: 'How long to listen for flow exporters (0: not at all).',
      default: 3,
      min: 0,
      max: 60,
    }),
    yes: Flags.boolean({ char: 'y', default: false, summary: 'Ask nothing: take the flags, else what the box shows.' }),
    'dry-run': Flags.boolean({ default: false, summary: 'Print the policy; write nothing, install nothing.' }),
    force: Flags.boolean({ default: false, summary: 'Replace an existing policy file (the old one is kept as .bak).' }),
    service: Flags.boolean({
      allowNo: true,
      summary: 'As root: run `ft service install` and start ft.service (asked when not given).',
    }),
    start: Flags.boolean({
      allowNo: true,
      default: true,
      summary: 'With --service: also enable and start ft.service.',
    }),
    'unit-dir': Flags.string({ summary: 'With --service: where the units go (default /etc/systemd/system).' }),
  };
  static override examples = [
    'sudo <%= config.bin %> setup',
    'sudo <%= config.bin %> setup --yes --protect 203.0.113.0/24,2001:db8:100::/48 --asn 64500 --speaker gobgp@127.0.0.1:50051 --access-log /var/log/nginx/access.log',
    '<%= config.bin %> setup --yes --protect 203.0.113.0/24 --asn 64500 --speaker none --dry-run',
  ];

  async run(): Promise<SetupResult | undefined> {
    const { flags } = await this.parse(Setup);
    const { join, resolve } = await import('node:path');
    const { loadRegistry } = await import('../plugin-host/load.js');
    const { SetupInputError, parsePorts, parseRtr } = await import('../setup/answers.js');
    const { parseCacheAddress } = await import('../rpki/index.js');
    const run = await import('../setup/run.js');
    const { surveyBox, describeSurvey } = await import('../setup/survey.js');
    const { isRoot } = await import('../setup/host.js');

    const interactive = !flags.yes && Boolean(process.stdin.isTTY && process.stdout.isTTY);
    const fail = (err: unknown): never => {
      if (err instanceof SetupInputError) this.error(err.message, { exit: 2 });
      throw err;
    };
    if (!flags.yes && !interactive)
      this.error('ft setup asks its questions on a terminal: run it in one, or pass --yes with the answers as flags', {
        exit: 2,
      });
    if (flags.service && !isRoot()) this.error('--service: installing the system service needs root', { exit: 2 });

    const root = isRoot();
    const defaultPath = flags.policy
      ? resolve(flags.policy)
      : root
        ? '/etc/ft/policy.yaml'
        : join(this.config.configDir, 'policy.yaml');
    const answerFlags: import('../setup/run.js').AnswerFlags = {
      ...(flags.protect ? { protect: flags.protect } : {}),
      ...(flags['never-target'] ? { neverTarget: flags['never-target'] } : {}),
      ...(flags.asn !== undefined ? { asn: flags.asn } : {}),
      ...(flags.speaker !== undefined ? { speaker: flags.speaker } : {}),
      ...(flags['access-log'] ? { accessLog: flags['access-log'] } : {}),
      ...(flags.flow ? { flow: flags.flow } : {}),
      ...(flags.levels !== undefined ? { levels: flags.levels } : {}),
      ...(flags.mode !== undefined ? { mode: flags.mode } : {}),
    };
    let flowPorts: number[];
    try {
      flowPorts = parsePorts('--flow-ports', flags['flow-ports']);
      if (flags.rtr) answerFlags.rtr = parseRtr(flags.rtr, parseCacheAddress);
      run.checkFlags(answerFlags);
      if (!interactive && flags.asn === undefined)
        throw new SetupInputError('--asn', 'required: the origin AS cannot be read from the box');
    } catch (err) {
      return fail(err);
    }

    const registry = await loadRegistry(this.config);
    const wizard = interactive ? await import('../setup/wizard.js') : undefined;
    const out: import('../setup/run.js').SetupOutput = wizard
      ? wizard.clackOutput
      : {
          step: (t) => this.log(`→ ${t}`),
          info: (t) => this.log(`  ${t}`),
          warn: (t) => this.logToStderr(`warning: ${t}`),
          success: (t) => this.log(`ok ${t}`),
        };
    const host = { config: this.config, registry, out };

    let prompts: typeof import('@clack/prompts') | undefined;
    if (wizard) {
      prompts = await import('@clack/prompts');
      prompts.intro('ft setup');
    }
    const spin = prompts?.spinner();
    spin?.start(`Looking at this box (listening ${flags['listen-seconds']} s for flow exporters)`);
    const survey = await surveyBox({
      registry,
      flowPorts,
      listenSeconds: flags.flow ? 0 : flags['listen-seconds'],
      skip: {
        speakers: flags.speaker !== undefined,
        logs: Boolean(flags['access-log']),
        flow: Boolean(flags.flow),
        rtr: Boolean(flags.rtr),
      },
    });
    spin?.stop('This box:');
    if (prompts) prompts.note(describeSurvey(survey).join('\n'), 'Found');
    else for (const line of describeSurvey(survey)) out.info(line);

    let answers;
    let path = defaultPath;
    let force = flags.force;
    let service: { install: boolean; start: boolean; unitDir?: string } | undefined;
    try {
      if (wizard) {
        const r = await wizard.runWizard(survey, host, answerFlags, {
          defaultPath,
          pathGiven: flags.policy !== undefined,
          force: flags.force,
          flowPorts,
          ...(flags.service !== undefined ? { service: flags.service } : {}),
          dryRun: flags['dry-run'],
        });
        ({ answers, path, force } = r);
        if (r.service) service = { ...r.service, start: r.service.install && flags.start };
      } else {
        answers = await run.answersFromFlags(answerFlags, survey, host, flowPorts);
        for (const w of run.answerWarnings(answers, survey)) out.warn(w);
        if (flags.service) service = { install: true, start: flags.start };
      }
      if (service && flags['unit-dir']) service.unitDir = resolve(flags['unit-dir']);
      const text = run.renderFor(answers, survey, host);
      for (const w of await run.checkText(text, path, registry)) out.warn(w);
      if (flags['dry-run']) {
        if (prompts) prompts.outro('Dry run: nothing was written. The policy:');
        this.log(text);
        return { policy: path, written: false, text };
      }
      const result = await run.writeAndShow(answers, survey, host, {
        path,
        text,
        force,
        ...(service ? { service } : {}),
      });
      const next = run.nextSteps(path, result, root);
      if (prompts) {
        prompts.note(next.join('\n'), 'Next');
        prompts.outro(`ft is set up: ${path}`);
      } else this.log(`next:\n  ${next.join('\n  ')}`);
      return result;
    } catch (err) {
      if (wizard && err instanceof wizard.SetupCancelled) {
        prompts?.cancel(err.message);
        process.exitCode = 130;
        return undefined;
      }
      return fail(err);
    }
  }
}
