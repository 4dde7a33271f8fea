import { expect } from 'chai';
import { collect, HOST_STEPS, type HostStepName, type PluginContext } from '@ft/sdk';
import plugin from '../../plugins/actions-host/src/plugin.js';
import { parsePolicy } from '../../core/policy/index.js';
import { plan } from '../../core/plan/index.js';
import { NOW, incident, testRpki } from '../plan/helpers.js';

// Each host action kind declares the onNode steps it carries (features.hostSteps), and `ft policy validate`
// refuses the rest. The declaration must be the truth: for every kind and step, the rules the planner builds for
// that step render (declared) or are refused by the kind itself (not declared).
const STEP_YAML: Record<HostStepName, string> = {
  synCookies: 'synCookies: true',
  hashlimit: 'hashlimit: 200/s',
  rateLimit: 'rateLimit: 1000/s',
  connlimit: 'connlimit: 50',
  dropUdpSourcePorts: 'dropUdpSourcePorts: auto',
  dropTopSources: 'dropTopSources: 10',
  shape: 'shape: 100Mbps',
};
const sources = [
  { ip: '198.51.100.7', count: 90 },
  { ip: '198.51.100.8', count: 80 },
];
const INCIDENTS = [
  incident({ attack_family: 'syn_flood', top_src_ips: sources }),
  incident({ attack_family: 'udp_flood', vector: ['dns'], top_src_ips: sources }),
  // Sources of both families: only the target's family can go into one rule (it mixed them: every kind refused it).
  incident({
    attack_family: 'udp_flood',
    vector: ['ntp'],
    top_src_ips: [...sources, { ip: '2001:db8:bad::7', count: 70 }],
    target: '2001:db8:100::10',
  }),
];
const ctx = (stateDir: string) =>
  ({
    name: 'k',
    logger: { debug() {}, info() {}, warn() {}, error() {}, child: () => ctx(stateDir).logger },
    stateDir,
    secret: () => {
      throw new Error('none');
    },
    signal: new AbortController().signal,
  }) as unknown as PluginContext;

describe('host action kinds: declared onNode steps are exactly the ones they render', () => {
  const factories = collect(plugin).actions;
  for (const f of factories) {
    it(`${f.kind}: ${f.features?.hostSteps?.join(', ')}`, async () => {
      expect(f.features?.hostSteps, 'declares its steps').to.be.an('array');
      const options = f.kind === 'tc' || f.kind === 'xdp' ? { interface: 'eth0' } : {};
      const action = await f.create(f.configSchema.parse(options), ctx('/nonexistent'));
      for (const step of HOST_STEPS) {
        const policy = parsePolicy(
          [
            'version: 1',
            'tenant: t',
            'protect: [203.0.113.0/24, 2001:db8:100::/48]',
            'onNode:',
            `  - { when: { pps: ">1kpps" }, do: [ { ${f.kind}: { ${STEP_YAML[step]} } } ] }`,
          ].join('\n'),
          'p.yaml',
        );
        const outcomes = INCIDENTS.flatMap((inc) =>
          plan({ policy, incident: inc, active: [], now: NOW, rpki: testRpki() }).ops.map((op) => {
            try {
              action.render(op.rule);
              return 'renders';
            } catch (err) {
              return `refused: ${(err as Error).message}`;
            }
          }),
        );
        expect(outcomes.length, `${f.kind} ${step}: the planner built rules`).to.be.greaterThan(0);
        if (f.features?.hostSteps?.includes(step))
          expect(
            outcomes.every((o) => o === 'renders'),
            `${f.kind} declares ${step}: ${outcomes.join('; ')}`,
          ).to.equal(true);
        else
          expect(
            outcomes.some((o) => o !== 'renders'),
            `${f.kind} does not declare ${step}, yet renders it`,
          ).to.equal(true);
      }
      await action.close?.();
    });
  }
});
