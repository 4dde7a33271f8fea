import { expect } from 'chai';
import { z } from 'zod';
import { collect, defineAction, defineDetector, definePlugin } from '@ft/sdk';
import { Registry } from '../../core/plugin-host/registry.js';
import { PolicyError, parsePolicy, type PolicyIssue } from '../../core/policy/index.js';

function registry(): Registry {
  const r = new Registry();
  const action = (
    kind: string,
    reach: 'host' | 'network',
    capabilities: ('flowspec' | 'rtbh' | 'divert' | 'host-filter')[],
    schema: z.ZodType,
  ) =>
    defineAction({
      kind,
      description: kind,
      reach,
      capabilities,
      configSchema: schema,
      create: async () => {
        throw new Error('not in this test');
      },
    });
  r.add(
    'test-plugins',
    collect(
      definePlugin((ft) => {
        ft.action(
          action(
            'gobgp',
            'network',
            ['flowspec', 'rtbh'],
            z
              .object({
                address: z.string().regex(/^[0-9.]+:[0-9]+$/, 'must be host:port'),
                pop: z.string().optional(),
              })
              .strict(),
          ),
        );
        ft.action(action('frr', 'network', ['rtbh'], z.object({}).strict()));
        ft.action(action('nft', 'host', ['host-filter'], z.object({ table: z.string().default('ft') }).strict()));
        ft.detector(
          defineDetector({
            kind: 'proc',
            description: 'proc',
            configSchema: z.object({ interfaces: z.array(z.string()).default([]) }).strict(),
            create: async () => {
              throw new Error('no');
            },
          }),
        );
      }),
    ),
  );
  return r;
}

function issuesOf(text: string): PolicyIssue[] {
  try {
    parsePolicy(text, 'a.yaml', registry());
  } catch (err) {
    if (err instanceof PolicyError) return err.issues;
    throw err;
  }
  throw new Error('expected the policy to be refused');
}

const HEAD = 'version: 1\ntenant: t\nasn: 64500\nprotect: [203.0.113.0/24]\n';

describe("policy loader: adapter options are validated by each plugin's configSchema", () => {
  it('accepts valid options and hands the adapter its parsed config (with defaults, and pop when it wants it)', () => {
    const p = parsePolicy(
      `${HEAD}speakers:\n  s1: { adapter: gobgp, address: "127.0.0.1:50051", pop: ams1 }\nescalation:\n  - { level: 1, when: { bps: ">1Gbps" }, do: { flowspec: { then: discard } }, via: [s1] }\nonNode:\n  - when: { family: syn_flood }\n    do: [ { nft: { synCookies: true } } ]\n`,
      'a.yaml',
      registry(),
    );
    expect(p.speakers.get('s1')).to.deep.include({
      validated: true,
      options: { address: '127.0.0.1:50051', pop: 'ams1' },
    });
    expect(p.nodeActions.get('nft')).to.deep.include({ validated: true, options: { table: 'ft' } });
    expect(p.warnings).to.deep.equal([]);
  });

  it("an adapter option typo is a policy error at the option's own line and column", () => {
    const issues = issuesOf(`${HEAD}speakers:\n  s1:\n    adapter: gobgp\n    adress: "127.0.0.1:50051"\n`);
    expect(issues.map((i) => [i.line, i.column, i.path])).to.deep.include([8, 5, 'speakers.s1.adress']);
    expect(issues.find((i) => i.path === 'speakers.s1.adress')?.message).to.match(/unknown key "adress"/);
  });

  it('an invalid option value names what the adapter expected', () => {
    const issues = issuesOf(`${HEAD}speakers:\n  s1: { adapter: gobgp, address: "localhost" }\n`);
    expect(issues).to.have.length(1);
    expect(issues[0]).to.deep.include({
      line: 6,
      column: 34,
      path: 'speakers.s1.address',
      message: 'must be host:port',
    });
  });

  it('a near-miss of an installed kind is a typo (error); an unknown kind is a warning (plugin not installed here)', () => {
    const issues = issuesOf(`${HEAD}speakers:\n  s1: { adapter: gobpg }\n`);
    expect(issues[0]).to.deep.include({ line: 6, column: 18, path: 'speakers.s1.adapter' });
    expect(issues[0]?.message).to.include('did you mean "gobgp"');
    const p = parsePolicy(`${HEAD}speakers:\n  s1: { adapter: radware, x: 1 }\n`, 'a.yaml', registry());
    expect(p.warnings).to.have.length(2);
    expect(p.warnings[1]).to.include('speakers.s1: action kind "radware" is not installed here');
    expect(p.speakers.get('s1')?.validated).to.equal(false);
  });

  it('a host action used as a speaker, or a network action used on-node, is refused', () => {
    const issues = issuesOf(
      `${HEAD}speakers:\n  s1: { adapter: nft }\nonNode:\n  - when: { family: syn_flood }\n    do: [ { gobgp: { synCookies: true } } ]\n`,
    );
    const byPath = Object.fromEntries(issues.map((i) => [i.path, i]));
    expect(byPath['speakers.s1.adapter']?.message).to.include('only changes this host');
    expect(byPath['onNode[0].do[0].gobgp']?.message).to.include('sends rules off this box');
    expect(byPath['onNode[0].do[0].gobgp']).to.deep.include({ line: 9, column: 13 });
  });

  it('a level routed to a speaker that cannot carry its rule kind is refused', () => {
    const issues = issuesOf(
      `${HEAD}speakers:\n  r: { adapter: frr }\nescalation:\n  - { level: 1, when: { bps: ">1Gbps" }, do: { flowspec: { then: discard } }, via: [r] }\n`,
    );
    expect(issues[0]).to.deep.include({ path: 'escalation[0].via[0]', line: 8, column: 85 });
    expect(issues[0]?.message).to.equal('speaker "r" (frr) cannot carry FlowSpec');
  });

  it('detector options are validated by the detector kind', () => {
    const issues = issuesOf(`${HEAD}detectors:\n  local: { detector: proc, interfaces: eth0 }\n`);
    expect(issues[0]).to.deep.include({ path: 'detectors.local.interfaces', line: 6, column: 40 });
    expect(issues[0]?.message).to.equal('expected a list, got "eth0"');
  });
});
