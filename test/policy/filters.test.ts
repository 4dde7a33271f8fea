import { expect } from 'chai';
import { z } from 'zod';
import { collect, defineAction, definePlugin } from '@ft/sdk';
import { Registry } from '../../core/plugin-host/registry.js';
import { PolicyError, parsePolicy, type PolicyIssue } from '../../core/policy/index.js';
import { explainPolicy } from '../../core/policy/explain.js';

/** Kinds shaped like the installed ones: a cloud block-rule API (network, host-filter), a divert scrubber, a host action. */
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
        ft.action(action('gobgp', 'network', ['flowspec', 'rtbh'], z.object({}).strict()));
        ft.action(
          action(
            'cloudflare-waf',
            'network',
            ['host-filter'],
            z.object({ zoneId: z.string().regex(/^[0-9a-f]{32}$/, 'a 32-hex zone id'), apiToken: z.string() }).strict(),
          ),
        );
        ft.action(action('ovh-vac', 'network', ['divert'], z.object({}).strict()));
        ft.action(action('nft', 'host', ['host-filter'], z.object({}).strict()));
      }),
    ),
  );
  return r;
}

function issuesOf(text: string): PolicyIssue[] {
  try {
    parsePolicy(text, 'f.yaml', registry());
  } catch (err) {
    if (err instanceof PolicyError) return err.issues;
    throw err;
  }
  throw new Error('expected the policy to be refused');
}

const HEAD = 'version: 1\ntenant: t\nasn: 64500\nprotect: [203.0.113.0/24]\n';
const ZONE = '0123456789abcdef0123456789abcdef';
const CF = `filters:\n  cf-waf: { adapter: cloudflare-waf, zoneId: "${ZONE}", apiToken: FT_CF_API_TOKEN }\n`;

describe('policy: off-box block filters (cloud block-rule APIs)', () => {
  it('accepts a level that blocks the top sources via a `filters` entry, with its options validated by the adapter', () => {
    const p = parsePolicy(
      `${HEAD}${CF}speakers:\n  s1: { adapter: gobgp }\nescalation:\n  - level: 2\n    when: { pps: ">100kpps" }\n    do: { flowspec: { then: discard }, block: { sources: top, count: 50 } }\n    via: [s1, cf-waf]\n`,
      'f.yaml',
      registry(),
    );
    expect(p.filters.get('cf-waf')).to.deep.include({
      adapter: 'cloudflare-waf',
      validated: true,
      options: { zoneId: ZONE, apiToken: 'FT_CF_API_TOKEN' },
    });
    const l = p.escalation[0];
    expect(l?.do.block).to.deep.equal({ sources: 'top', count: 50 });
    // FlowSpec goes only to the speaker, the block only to the filter.
    expect(l?.via).to.deep.equal(['s1']);
    expect(l?.filters).to.deep.equal(['cf-waf']);
    expect(p.warnings).to.deep.equal([]);
    const said = explainPolicy(p).targets[0]?.levels[0]?.does;
    expect(said).to.equal(
      'FlowSpec discard (match built from the attack) via s1 (gobgp); block the top 50 source addresses (not when spoofed, never inside protect or never-target) via cf-waf (cloudflare-waf)',
    );
  });

  it('count defaults to 100; no asn is needed when nothing is announced', () => {
    const p = parsePolicy(
      `version: 1\ntenant: t\nprotect: [203.0.113.0/24]\n${CF}escalation:\n  - { level: 1, when: { bps: ">1Gbps" }, do: { block: {} }, via: cf-waf }\n`,
      'f.yaml',
      registry(),
    );
    expect(p.escalation[0]?.do.block).to.deep.equal({ sources: 'top', count: 100 });
  });

  it('a block via an unknown filter name is an error at that name (file:line:column), with a hint', () => {
    const issues = issuesOf(
      `${HEAD}${CF}escalation:\n  - level: 1\n    when: { bps: ">1Gbps" }\n    do: { block: { count: 10 } }\n    via: [cf-wfa]\n`,
    );
    expect(issues).to.have.length(1);
    expect(issues[0]).to.deep.include({
      file: 'f.yaml',
      line: 11,
      column: 11,
      path: 'escalation[0].via[0]',
      message: 'no filter named "cf-wfa": did you mean "cf-waf"?',
    });
  });

  it('block without a filter in via, a filter on a level that blocks nothing, and a speaker as filter are refused', () => {
    const noVia = issuesOf(`${HEAD}${CF}escalation:\n  - { level: 1, when: { bps: ">1Gbps" }, do: { block: {} } }\n`);
    expect(noVia.map((i) => [i.path, i.message])).to.deep.include([
      'escalation[0].via',
      'block needs `via`: the filters (from `filters`) that carry it (nothing leaves the box unless the policy says so)',
    ]);
    const idle = issuesOf(
      `${HEAD}${CF}speakers:\n  s1: { adapter: gobgp }\nescalation:\n  - { level: 1, when: { bps: ">1Gbps" }, do: { flowspec: { then: discard } }, via: [s1, cf-waf] }\n`,
    );
    expect(idle.map((i) => i.message)).to.include('filters carry only `do: { block }`: this level blocks nothing');
    const wrong = issuesOf(
      `${HEAD}filters:\n  f: { adapter: gobgp }\n  g: { adapter: nft }\nescalation:\n  - { level: 1, when: { bps: ">1Gbps" }, do: { block: {} }, via: [f, g] }\n`,
    );
    const byPath = Object.fromEntries(wrong.map((i) => [i.path, i.message]));
    expect(byPath['filters.f.adapter']).to.equal('"gobgp" provides flowspec, rtbh, not host-filter');
    expect(byPath['filters.g.adapter']).to.include('only changes this host');
  });

  it('a block-rule API under scrubbers or on-node is refused with a pointer to `filters`', () => {
    const issues = issuesOf(
      `${HEAD}scrubbers:\n  sc: { adapter: cloudflare-waf, zoneId: "${ZONE}", apiToken: X }\nonNode:\n  - when: { family: syn_flood }\n    do: [ { cloudflare-waf: { dropTopSources: 5 } } ]\n`,
    );
    const byPath = Object.fromEntries(issues.map((i) => [i.path, i]));
    expect(byPath['scrubbers.sc.adapter']?.message).to.include('a block-rule API goes under `filters`');
    expect(byPath['onNode[0].do[0].cloudflare-waf']?.message).to.include('a block-rule API goes under `filters`');
    expect(byPath['scrubbers.sc.adapter']).to.deep.include({ line: 6, column: 18 });
  });

  it('a filter name must not also be a speaker', () => {
    const issues = issuesOf(
      `${HEAD}speakers:\n  x: { adapter: gobgp }\nfilters:\n  x: { adapter: cloudflare-waf, zoneId: "${ZONE}", apiToken: X }\n`,
    );
    expect(issues.map((i) => i.message)).to.include('"x" is also a speaker or scrubber: names must be unique');
  });
});
