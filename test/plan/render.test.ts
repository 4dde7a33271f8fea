import { expect } from 'chai';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { z } from 'zod';
import { collect, defineAction, definePlugin, type Rule } from '@ft/sdk';
import { createJsonLogger } from '../../core/log/logger.js';
import { createRenderers, plan } from '../../core/plan/index.js';
import { Registry } from '../../core/plugin-host/registry.js';
import { parsePolicy } from '../../core/policy/index.js';
import { NOW, incident, testRpki } from './helpers.js';

function registry(created: string[]): Registry {
  const r = new Registry();
  r.add(
    'render-test',
    collect(
      definePlugin((ft) => {
        ft.action(
          defineAction({
            kind: 'fake-bgp',
            description: 'renders FlowSpec only',
            reach: 'network',
            capabilities: ['flowspec', 'rtbh'],
            configSchema: z.object({ peer: z.string() }).strict(),
            async create(config) {
              created.push(`fake-bgp ${config.peer}`);
              return {
                capabilities: ['flowspec'],
                render: (rule: Rule) => [
                  {
                    adapter: 'fake-bgp',
                    format: 'text' as const,
                    text: `announce ${rule.kind} ${String(rule.target)} to ${config.peer}`,
                  },
                ],
                apply: async () => {
                  throw new Error('preview must never apply');
                },
                withdraw: async () => {
                  throw new Error('preview must never withdraw');
                },
                list: async () => [],
                health: async () => ({ status: 'ok' as const }),
              };
            },
          }),
        );
        ft.action(
          defineAction({
            kind: 'broken',
            description: 'create() fails',
            reach: 'network',
            capabilities: ['flowspec'],
            configSchema: z.object({}).strict(),
            async create() {
              throw new Error('cannot load my protos');
            },
          }),
        );
      }),
    ),
  );
  return r;
}

const POLICY = `version: 1
tenant: t
asn: 64500
protect: [203.0.113.0/24]
speakers:
  a: { adapter: fake-bgp, peer: 192.0.2.1 }
  b: { adapter: broken }
  c: { adapter: not-installed-anywhere }
escalation:
  - { level: 1, when: { bps: ">100Mbps" }, do: { flowspec: { then: discard } }, via: [a, b, c] }
  - { level: 2, when: { bps: ">1Gbps" }, do: { rtbh: {} }, via: [a] }
`;

describe('createRenderers: exact commands from installed adapters, for preview', () => {
  it('renders through each installed action, and says which cannot render and why', async () => {
    const created: string[] = [];
    const reg = registry(created);
    const policy = parsePolicy(POLICY, 'p.yaml', reg);
    const r = await createRenderers(policy, reg, {
      logger: createJsonLogger({ level: 'silent' }),
      stateDir: mkdtempSync(join(tmpdir(), 'ft-render-')),
    });
    try {
      expect(created).to.deep.equal(['fake-bgp 192.0.2.1']);
      expect([...r.unavailable.entries()]).to.deep.equal([
        ['b', 'broken could not be prepared for rendering: cannot load my protos'],
        ['c', 'action kind "not-installed-anywhere" is not installed'],
      ]);
      const p = plan({
        policy,
        incident: incident({ bps: 500e6 }),
        active: [],
        now: NOW,
        rpki: testRpki(),
        render: r.render,
      });
      expect(p.ops[0]?.rendered).to.deep.equal([
        { adapter: 'fake-bgp', format: 'text', text: 'announce flowspec 203.0.113.10/32 to 192.0.2.1' },
      ]);
      // An instance whose action cannot carry the rule kind renders nothing for it (it would not run it either).
      const rtbh = plan({
        policy,
        incident: incident({ bps: 2e9 }),
        active: [],
        now: NOW,
        rpki: testRpki(),
        render: r.render,
      });
      expect(rtbh.ops[0]?.rule.kind).to.equal('rtbh');
      expect(rtbh.ops[0]?.rendered).to.deep.equal([]);
    } finally {
      await r.close();
    }
  });
});
