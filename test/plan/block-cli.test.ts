import { expect } from 'chai';
import { runFt } from '../helpers/cli.js';

// Needs the built CLI: `npx tsc -b && npx oclif manifest`. Renders through the installed @ft/scrubbers adapters.
const ARGS = [
  'mitigate',
  'preview',
  '--policy',
  'policies/examples/cloud-block.yaml',
  '--incident',
  'policies/examples/incident-dns-amplification.json',
  '--now',
  '2026-11-22T00:00:00Z',
];

describe('ft mitigate preview: a level that blocks the top sources through cloud filters', () => {
  it('shows the block rule and the exact HTTP requests cloudflare-waf and hetzner would send, with no RPKI check and no secret', async () => {
    const r = await runFt(ARGS, { FT_CF_API_TOKEN: 'cf-secret-token-value' });
    expect(r.code, r.stderr).to.equal(0);
    const out = r.stdout;
    expect(out).to.include('PLAN     1 to add, 0 to refresh, 0 to withdraw, 0 refused');
    const id = /^ADD {6}(hf-[0-9a-f]{16}) {2}block rule \(off-box filter\) {2}level 1 {2}ttl 10m/m.exec(out)?.[1];
    expect(id, out).to.be.a('string');
    expect(out).to.include('match    to 203.0.113.10/32 from 192.0.2.44/32 198.51.100.7/32');
    expect(out).to.include('via      cf-waf (cloudflare-waf), robot (hetzner)');
    expect(out).to.include(
      "rpki     skipped: not applicable: a block rule is sent to the filter's API, nothing is announced by BGP",
    );
    const zone =
      'https://api.cloudflare.com/client/v4/zones/0123456789abcdef0123456789abcdef/firewall/access_rules/rules';
    for (const ip of ['192.0.2.44', '198.51.100.7']) {
      expect(out).to.include(
        `cloudflare-waf: POST ${zone} {"mode":"block","configuration":{"target":"ip","value":"${ip}"},"notes":"ft:${id} 203.0.113.10/32"}`,
      );
    }
    expect(out).to.include('hetzner: GET https://robot-ws.your-server.de/firewall/321');
    expect(out).to.not.include('cf-secret-token-value');
  });

  it('--json carries the rule with its sources and the filters it goes to', async () => {
    const r = await runFt([...ARGS, '--json']);
    expect(r.code, r.stderr).to.equal(0);
    const ops = JSON.parse(r.stdout).plan.ops;
    expect(ops).to.have.length(1);
    expect(ops[0].rule).to.deep.include({
      kind: 'host-filter',
      level: 1,
      target: '203.0.113.10/32',
      action: { type: 'drop' },
    });
    expect(ops[0].rule.match.sources).to.deep.equal(['192.0.2.44/32', '198.51.100.7/32']);
    expect(ops[0].via).to.deep.equal(['cf-waf', 'robot']);
    expect(ops[0].rendered.filter((c: { format: string }) => c.format === 'http')).to.have.length(3);
  });
});
