// The policy `ft setup` writes: the same layout and comments as policies/default.yaml, with what the box showed and
// the operator answered filled in. Pure: answers in, YAML text out (validated by the policy loader before writing).
import type { Prefix } from '@ft/sdk';
import { LEVELS, type AccessLog, type SetupAnswers, type SpeakerChoice } from './answers.js';

export interface RenderContext {
  /** When and by what the file was written (first comment line). */
  generatedAt: Date;
  /** policies/policy.schema.json of this ft, for editors' completion (absolute: the policy may live in /etc/ft). */
  schemaPath: string;
  /** The box's own protected address, for the l7 detector's default site (an HTTP flood must name an address). */
  siteAddress?: string;
  /** Where each answer came from, for the comments ("found: gobgpd pid 812"). */
  notes: { speaker?: string; rtr?: string; flow?: string; neverTarget?: string };
}

export const SPEAKER_NAME = (s: SpeakerChoice) => `edge-${s.kind}`;

/** YAML double-quoted scalar: JSON's string syntax is valid YAML, whatever a path or address holds. */
const q = (s: string) => JSON.stringify(s);
const list = (ps: readonly Prefix[]) => ps.map((p) => p.toString());
const pad = (s: string, width = 32) => (s.length >= width ? `${s} ` : s.padEnd(width));

function speakerLines(s: SpeakerChoice, asn: number, note: string | undefined): string[] {
  const name = SPEAKER_NAME(s);
  const found = note ? `   # ${note}` : '';
  switch (s.kind) {
    case 'gobgp':
      return [`  ${name}: { adapter: gobgp, address: ${q(s.where as string)}, tagAsn: ${asn} }${found}`];
    case 'bird':
      return [
        '  # ft owns one include file; bird.conf must `include` it (create it empty before BIRD first starts).',
        `  ${name}: { adapter: bird, socket: ${q(s.where ?? '/run/bird/bird.ctl')}, includeFile: /etc/bird/ft-routes.conf, tagAsn: ${asn} }${found}`,
      ];
    case 'frr':
      return [
        '  # FRR carries RTBH only (it cannot originate FlowSpec); asn is that of its `router bgp`.',
        `  ${name}: { adapter: frr, asn: ${asn}${s.where ? `, vtySocket: ${q(s.where)}` : ''} }${found}`,
      ];
    case 'exabgp':
      return [
        "  # ExaBGP's process section must run ft's bridge against this socket: see docs/adapters/bgp-exabgp.md.",
        `  ${name}: { adapter: exabgp${s.where ? `, socket: ${q(s.where)}` : ''}, tagAsn: ${asn} }${found}`,
      ];
  }
}

function l7Lines(logs: readonly AccessLog[], siteAddress: string | undefined): string[] {
  const files = logs.map((l) => (l.format ? `{ path: ${q(l.path)}, format: ${l.format} }` : q(l.path)));
  return [
    '  # HTTP floods from the access logs, followed through logrotate. Lines without a vhost count for site',
    '  # "default"; a site needs an address for an http_flood incident (and its rules) to name.',
    `  web: { detector: l7, files: [${files.join(', ')}]${siteAddress ? `, sites: { default: ${q(siteAddress)} }` : ''} }`,
  ];
}

function flowLines(a: SetupAnswers, note: string | undefined): string[] {
  const listeners = a.flowPorts.flatMap((port) => [
    `{ address: 0.0.0.0, port: ${port} }`,
    `{ address: "::", port: ${port} }`,
  ]);
  const exporters = a.flowExporters ?? [];
  return [
    `  # sFlow/NetFlow/IPFIX from your routers${note ? ` (${note})` : ''}. Only the exporters listed feed detection:`,
    '  # anyone can send UDP to this box. Add each router as it starts exporting.',
    `  flow:`,
    `    detector: flow`,
    `    listeners: [${listeners.join(', ')}]`,
    `    allowedExporters: [${list(exporters).map(q).join(', ')}]${exporters.length === 0 ? '   # empty: any exporter' : ''}`,
    `    protect: [${list(a.protect).join(', ')}]`,
  ];
}

export function renderPolicy(a: SetupAnswers, ctx: RenderContext): string {
  const out: string[] = [];
  const push = (...lines: string[]) => out.push(...lines);
  const speaker = a.speaker;
  push(
    `# yaml-language-server: $schema=${ctx.schemaPath}`,
    '#',
    `# Written by \`ft setup\` on ${ctx.generatedAt.toISOString()} from what this box showed and the answers given.`,
    '# Check it with `ft policy validate`, read it back with `ft policy explain`, and try an attack with',
    '# `ft mitigate preview --simulate "udp_flood 1Gbps to <address> vector=dns"`. See docs/policy.md for every key.',
    'version: 1',
    'tenant: default',
    `${pad(`mode: ${a.mode}`)}# ${a.mode === 'preview' ? 'plan and log only; switch to enforce once the previews look right' : 'carry the plan out (preview: plan and log only)'}`,
    `${pad(`asn: ${a.asn}`)}# our origin AS (RPKI validates our announcements against it)`,
    '',
    'defaults:',
    `  ${pad('ttl: 5m', 30)}# rules expire after 5 minutes unless the attack goes on`,
    `  ${pad('maxRules: 200', 30)}# live rules per tenant, counted across the whole fleet`,
    `  ${pad('rpki: enforce', 30)}# no announcement without a passing RPKI check (warn | off)`,
    `  ${pad('cooldown: 2m', 30)}# escalation comes down only after 2m without the higher level being wanted`,
    `  ${pad('minPrefixLength: { v4: 24, v6: 48 }', 30)}# no rule ever targets a shorter prefix`,
    '',
  );
  if (a.rtr.length > 0)
    push(
      `rpki:                           # RTR caches checked before every announcement${ctx.notes.rtr ? ` (${ctx.notes.rtr})` : ''}`,
      `  caches: [${a.rtr.map(q).join(', ')}]`,
      '',
    );
  else
    push(
      '# No RTR cache answered on this box: with rpki: enforce nothing is announced until one is listed here, e.g.',
      '# rpki: { caches: ["127.0.0.1:8282"] }   (stayrtr, Routinator on 3323, any RFC 8210 cache)',
      '',
    );
  push(
    'protect:                        # nothing outside these is ever targeted',
    ...list(a.protect).map((p) => `  - ${p}`),
  );
  if (a.neverTarget.length === 0)
    push("neverTarget: []                 # add your resolvers, routers' loopbacks, monitoring");
  else
    push(
      `neverTarget:                    # never blackholed, never filtered${ctx.notes.neverTarget ? ` (${ctx.notes.neverTarget})` : ''}`,
      ...list(a.neverTarget).map((p) => `  - ${p}`),
    );
  push(
    '',
    "detection:                      # the reference product's detection defaults",
    '  baseline: { window: 300, percentile: 99, recalcEvery: 10, factor: 3 }',
    '  resolve: { ratio: 80%, after: 10s }',
    '  severity: { medium: 2, high: 5, critical: 10 }',
    '',
    'detectors:                      # what `ft run` watches',
    "  local: { detector: proc, interfaces: auto }   # this box's interface counters",
  );
  if (a.accessLogs.length > 0) push(...l7Lines(a.accessLogs, ctx.siteAddress));
  if (a.flowExporters !== undefined) push(...flowLines(a, ctx.notes.flow));
  push('');
  if (speaker) push('speakers:', ...speakerLines(speaker, a.asn, ctx.notes.speaker), '');
  else
    push(
      '# No BGP speaker: ft acts on this box only. Add one under `speakers:` and levels below (docs/policy.md).',
      '',
    );

  const levels = speaker ? LEVELS.filter((l) => a.levels.includes(l.level)) : [];
  // FRR originates no FlowSpec: its levels would be refused at validation, so only RTBH goes through it.
  const usable = speaker?.kind === 'frr' ? levels.filter((l) => l.level === 3) : levels;
  if (usable.length > 0) {
    push("escalation:                     # the reference product's levels");
    for (const l of usable)
      push(
        `  - { level: ${l.level}, name: ${pad(`${l.name},`, 21)}when: { bps: "${l.when}" }, do: ${l.do}, via: [${SPEAKER_NAME(speaker as SpeakerChoice)}] }`,
      );
  } else push('escalation: []');
  push(
    '  # Level 4 (>5Gbps: divert to a cloud scrubber) needs a scrubbing provider; see docs/cloud-adapters.md:',
    '  # - { level: 4, name: scrubbing, when: { bps: ">5Gbps" }, do: { scrub: { provider: scrub } } }',
    '',
    'onNode:                         # on this box first, whatever the level',
    '  - when: { family: syn_flood, pps: ">10kpps" }',
    '    do: [ { iptables: { synCookies: true } } ]',
    '  - when: { vector: [dns, ntp, memcached, cldap, ssdp, chargen], pps: ">10kpps" }',
    '    do: [ { nft: { dropUdpSourcePorts: auto } } ]',
  );
  if (a.accessLogs.length > 0)
    push(
      '  - when: { family: http_flood }',
      "    do: [ { ipset: { dropTopSources: 50 } } ]   # the flood's busiest clients",
    );
  push(
    '',
    `${pad('atCap: refuse')}# refuse new rules and alert at the cap; \`aggregate\` merges FlowSpec into a covering rule`,
    `${pad('rollback: { collateralDrop: 90% }')}# legitimate traffic falls by more than this → roll the rule back`,
    `${pad('onShutdown: withdraw')}# withdraw every rule when ft stops`,
    '',
  );
  return out.join('\n');
}
