import { expect } from 'chai';
import { makeRule, Prefix, type FlowSpecRule, type RtbhRule, type PluginContext } from '@ft/sdk';
import { requireLab } from '../../../test/helpers/env.js';
import { run } from '../../../test/helpers/net.js';
import { waitFor } from '../../../test/helpers/wait.js';
import { GobgpAction, renderPath } from '../src/action.js';
import { nlriKey } from '../src/rib-index.js';
import { gobgpConfigSchema } from '../src/config.js';
import { communities, decodeFlowSpec, nextHop, taggedRuleId } from '../src/decode.js';
import { FAMILIES, type FamilyName } from '../src/render.js';
import type { ListedPath } from '../src/client.js';
import fc from 'fast-check';
import { startPeering, waitEstablished, type Peering } from './peering.js';
import { flowspecRule } from './arbitraries.js';

const silent = {
  debug() {},
  info() {},
  warn() {},
  error() {},
  child() {
    return silent;
  },
};
const ctx = {
  name: 'pop1-gobgp',
  logger: silent,
  secret: () => {
    throw new Error('no secrets here');
  },
} as unknown as PluginContext;
const P = (s: string) => Prefix.parse(s);

function flowspec(dst: string, match: Partial<FlowSpecRule['match']>, action: FlowSpecRule['action']): FlowSpecRule {
  return makeRule<FlowSpecRule>({
    kind: 'flowspec',
    tenant: 'example-isp',
    target: P(dst),
    level: 2,
    ttlSeconds: 300,
    match: { destination: P(dst), ...match },
    action,
  });
}
function rtbh(dst: string): RtbhRule {
  return makeRule<RtbhRule>({
    kind: 'rtbh',
    tenant: 'example-isp',
    target: P(dst),
    level: 3,
    ttlSeconds: 300,
    communities: ['65535:666'],
    noExport: true,
  });
}

describe('gobgp adapter against two real gobgpd peered over a veth', function () {
  this.timeout(60_000);
  let lab: Peering;
  let action: GobgpAction;

  before(async function () {
    requireLab(this, { root: true, commands: ['gobgpd', 'gobgp', 'ip'] });
    lab = await startPeering('gbp');
    action = new GobgpAction(
      gobgpConfigSchema.parse({
        address: lab.ctlSpeaker.api,
        tagAsn: 64500,
        nextHop4: '192.0.2.66',
        nextHop6: '2001:db8::66',
      }),
      ctx,
    );
  });
  after(async () => {
    await action?.close();
    await lab?.teardown();
  });

  /** What the edge received from ctl, in one family. */
  const adjIn = (family: FamilyName): Promise<ListedPath[]> =>
    lab.edgeClient.listPath('ADJ_IN', FAMILIES[family], lab.ctlAddress);
  const received = (family: FamilyName, id: string) =>
    waitFor(async () => (await adjIn(family)).find((p) => taggedRuleId(p.pattrs, 64500) === id), {
      timeoutMs: 10_000,
      what: `${id} in the edge's adj-in`,
    });
  const gone = (family: FamilyName, id: string) =>
    waitFor(async () => !(await adjIn(family)).some((p) => taggedRuleId(p.pattrs, 64500) === id), {
      timeoutMs: 10_000,
      what: `${id} withdrawn at the edge`,
    });

  it('announces an IPv4 FlowSpec discard the edge receives with the same match, and withdraws it', async () => {
    const rule = flowspec(
      '203.0.113.10/32',
      { protocols: [17], sourcePorts: [{ min: 53, max: 53 }], packetLength: [{ min: 512, max: 65535 }] },
      { type: 'discard' },
    );
    await action.apply(rule);
    const path = await received('ipv4-flowspec', rule.id);
    expect(path.prefix).to.equal(
      '[destination: 203.0.113.10/32][protocol: ==udp][source-port: ==53][packet-length: >=512&<=65535]',
    );
    const decoded = decodeFlowSpec(path.nlri, path.pattrs);
    expect(decoded.match.destination.toString()).to.equal('203.0.113.10/32');
    expect(decoded.match.protocols).to.deep.equal([17]);
    expect(decoded.match.sourcePorts).to.deep.equal([{ min: 53, max: 53 }]);
    expect(decoded.actions).to.deep.equal([{ type: 'discard' }]);
    await action.withdraw(rule);
    await gone('ipv4-flowspec', rule.id);
  });

  it('announces an IPv6 FlowSpec rate-limit with TCP flags and a port range (RFC 8956)', async () => {
    const rule = flowspec(
      '2001:db8:100::10/128',
      {
        source: P('2001:db8:bad::/48'),
        protocols: [6],
        destinationPorts: [
          { min: 80, max: 80 },
          { min: 8000, max: 8080 },
        ],
        tcpFlags: { set: ['syn'], unset: ['ack'] },
      },
      { type: 'rate-limit', bytesPerSecond: 125000 },
    );
    await action.apply(rule);
    const path = await received('ipv6-flowspec', rule.id);
    const decoded = decodeFlowSpec(path.nlri, path.pattrs);
    expect(decoded.match.destination.toString()).to.equal('2001:db8:100::10/128');
    expect(decoded.match.source?.toString()).to.equal('2001:db8:bad::/48');
    expect(decoded.match.destinationPorts).to.deep.equal([
      { min: 80, max: 80 },
      { min: 8000, max: 8080 },
    ]);
    expect(decoded.match.tcpFlags).to.deep.equal({ set: ['syn'], unset: ['ack'] });
    expect(decoded.actions).to.deep.equal([{ type: 'rate-limit', bytesPerSecond: 125000 }]);
    await action.withdraw(rule);
    await gone('ipv6-flowspec', rule.id);
  });

  it('announces RTBH for IPv4 and IPv6 with 65535:666, NO_EXPORT and the discard next hop', async () => {
    const v4 = rtbh('203.0.113.77/32');
    const v6 = rtbh('2001:db8:100::77/128');
    await action.apply(v4);
    await action.apply(v6);
    const p4 = await received('ipv4-unicast', v4.id);
    const p6 = await received('ipv6-unicast', v6.id);
    expect(p4.prefix).to.equal('203.0.113.77/32');
    expect(p6.prefix).to.equal('2001:db8:100::77/128');
    expect(communities(p4.pattrs)).to.have.members([0xffff029a, 0xffffff01]);
    expect(communities(p6.pattrs)).to.have.members([0xffff029a, 0xffffff01]);
    expect(nextHop(p4.pattrs)).to.equal('192.0.2.66');
    expect(nextHop(p6.pattrs)).to.equal('2001:db8::66');
    await action.withdraw(v4);
    await action.withdraw(v6);
    await gone('ipv4-unicast', v4.id);
    await gone('ipv6-unicast', v6.id);
  });

  it('is idempotent and never touches routes it did not announce', async () => {
    // A route someone else added to the same gobgpd, in the same family, for the same destination.
    run([
      'gobgp',
      '--target',
      lab.ctlSpeaker.api,
      'global',
      'rib',
      '-a',
      'ipv4-flowspec',
      'add',
      'match',
      'destination',
      '203.0.113.20/32',
      'protocol',
      'tcp',
      'then',
      'discard',
    ]);
    const rule = flowspec('203.0.113.20/32', { protocols: [17] }, { type: 'discard' });
    await action.apply(rule);
    await action.apply(rule);
    await received('ipv4-flowspec', rule.id);
    const ours = (await action.list()).filter((r) => r.ruleId === rule.id);
    expect(ours).to.have.length(1);
    expect((await adjIn('ipv4-flowspec')).filter((p) => p.prefix.includes('203.0.113.20/32'))).to.have.length(2);
    await action.withdraw(rule);
    await action.withdraw(rule);
    await gone('ipv4-flowspec', rule.id);
    const left = await adjIn('ipv4-flowspec');
    expect(left.map((p) => p.prefix)).to.include('[destination: 203.0.113.20/32][protocol: ==tcp]');
    expect((await action.list()).map((r) => r.ruleId)).to.not.include(rule.id);
  });

  it('withdrawing an escalated-away rule leaves the rule that replaced it', async () => {
    const match = { protocols: [17], sourcePorts: [{ min: 123, max: 123 }] };
    const limit = flowspec('203.0.113.30/32', match, { type: 'rate-limit', bytesPerSecond: 6_250_000 });
    const discard = flowspec('203.0.113.30/32', match, { type: 'discard' });
    await action.apply(limit);
    await received('ipv4-flowspec', limit.id);
    await action.apply(discard);
    await received('ipv4-flowspec', discard.id);
    await action.withdraw(limit);
    const path = await received('ipv4-flowspec', discard.id);
    expect(decodeFlowSpec(path.nlri, path.pattrs).actions).to.deep.equal([{ type: 'discard' }]);
    await action.withdraw(discard);
    await gone('ipv4-flowspec', discard.id);
  });

  it('after an ft restart, list() finds its tagged paths and withdraws them by reference', async () => {
    const rule = flowspec(
      '203.0.113.40/32',
      { protocols: [17], sourcePorts: [{ min: 389, max: 389 }] },
      { type: 'discard' },
    );
    const rule6 = rtbh('2001:db8:100::40/128');
    await action.apply(rule);
    await action.apply(rule6);
    const restarted = new GobgpAction(gobgpConfigSchema.parse({ address: lab.ctlSpeaker.api, tagAsn: 64500 }), ctx);
    try {
      const refs = await restarted.list();
      expect(refs.map((r) => r.ruleId)).to.include.members([rule.id, rule6.id]);
      for (const ref of refs) await restarted.withdraw(ref);
      await gone('ipv4-flowspec', rule.id);
      await gone('ipv6-unicast', rule6.id);
      expect(await restarted.list()).to.deep.equal([]);
    } finally {
      await restarted.close();
    }
  });

  it('40 random FlowSpec rules reach the edge exactly as modelled (through two real gobgpd), then all withdraw', async () => {
    // Distinct destinations, so no two random rules share an NLRI (that would be one route, the later winning).
    const rules = fc.sample(flowspecRule, { numRuns: 40, seed: 7 }).map((r, i) => {
      const dst = r.match.destination.family === 4 ? `203.0.113.${i}/32` : `2001:db8:100::${i.toString(16)}/128`;
      return makeRule<FlowSpecRule>({ ...r, match: { ...r.match, destination: P(dst) }, target: P(dst) });
    });
    for (const r of rules) await action.apply(r);
    for (const r of rules) {
      const family = r.match.destination.family === 4 ? 'ipv4-flowspec' : 'ipv6-flowspec';
      const path = await received(family, r.id);
      const decoded = decodeFlowSpec(path.nlri, path.pattrs);
      expect(JSON.parse(JSON.stringify(decoded.match)), path.prefix).to.deep.equal(JSON.parse(JSON.stringify(r.match)));
      expect(decoded.actions).to.deep.equal([r.action]);
    }
    // A restarted ft recognises every one of them in gobgpd's RIB: nothing to re-announce, apply is a no-op.
    const restarted = new GobgpAction(gobgpConfigSchema.parse({ address: lab.ctlSpeaker.api, tagAsn: 64500 }), ctx);
    try {
      expect(await restarted.reannounce(rules)).to.equal(0);
      for (const r of rules.slice(0, 5)) expect((await restarted.apply(r)).detail).to.equal('already announced');
    } finally {
      await restarted.close();
    }
    for (const r of rules) await action.withdraw(r);
    const ids = new Set<string>(rules.map((r) => r.id));
    const left = async () =>
      [...(await adjIn('ipv4-flowspec')), ...(await adjIn('ipv6-flowspec'))].filter((p) =>
        ids.has(taggedRuleId(p.pattrs, 64500) ?? ''),
      );
    await waitFor(async () => (await left()).length === 0, { timeoutMs: 10_000, what: 'every random rule withdrawn' });
  });

  it('the CLI lines preview prints announce the same route as AddPath and withdraw it again (checked with the real gobgp CLI, 30 random rules)', async () => {
    const rules = fc.sample(flowspecRule, { numRuns: 30, seed: 11 }).map((r, i) => {
      const dst =
        r.match.destination.family === 4 ? `203.0.113.${100 + i}/32` : `2001:db8:100::1:${i.toString(16)}/128`;
      return makeRule<FlowSpecRule>({ ...r, match: { ...r.match, destination: P(dst) }, target: P(dst) });
    });
    for (const r of rules) {
      const [cmd] = action.render(r);
      const argv = (cmd?.text ?? '').split('   #')[0]!.trim();
      expect(argv.startsWith(`gobgp --target ${lab.ctlSpeaker.api} global rib -a `), argv).to.equal(true);
      const args = renderPath(r, { tagAsn: 64500, nextHop4: '192.0.2.66', nextHop6: '2001:db8::66' }).cliArgs;
      const out = run(['gobgp', '--target', lab.ctlSpeaker.api, ...args], { allowFail: true });
      expect(out.status, `${args.join(' ')}: ${out.stderr}${out.stdout}`).to.equal(0);
    }
    const listed = await action.list();
    for (const r of rules) {
      const path = await received(r.match.destination.family === 4 ? 'ipv4-flowspec' : 'ipv6-flowspec', r.id);
      const decoded = decodeFlowSpec(path.nlri, path.pattrs);
      expect(JSON.parse(JSON.stringify(decoded.match)), path.prefix).to.deep.equal(JSON.parse(JSON.stringify(r.match)));
      expect(decoded.actions, path.prefix).to.deep.equal([r.action]);
      expect(listed.map((x) => x.ruleId)).to.include(r.id);
      // The withdrawal line preview prints (renderWithdraw) takes the route down, run through the real CLI.
      const [del] = action.renderWithdraw(r);
      const delArgv = shellWords((del?.text ?? '').split('   #')[0]!.trim());
      expect(delArgv.slice(0, 8).join(' '), del?.text).to.equal(
        `gobgp --target ${lab.ctlSpeaker.api} global rib -a ${r.match.destination.family === 4 ? 'ipv4' : 'ipv6'}-flowspec del`,
      );
      const out = run(delArgv, { allowFail: true });
      expect(out.status, `${delArgv.join(' ')}: ${out.stderr}${out.stdout}`).to.equal(0);
      const family = r.match.destination.family === 4 ? 'ipv4-flowspec' : 'ipv6-flowspec';
      await waitFor(async () => !(await adjIn(family)).some((p) => taggedRuleId(p.pattrs, 64500) === r.id), {
        timeoutMs: 10_000,
        what: `${r.id} withdrawn by the rendered del line`,
      });
      await action.withdraw(r);
    }
    for (const bh of [rtbh('203.0.113.90/32'), rtbh('2001:db8:100::90/128')]) {
      const args = renderPath(bh, { tagAsn: 64500, nextHop4: '192.0.2.66', nextHop6: '2001:db8::66' }).cliArgs;
      run(['gobgp', '--target', lab.ctlSpeaker.api, ...args]);
      const path = await received(bh.target.family === 4 ? 'ipv4-unicast' : 'ipv6-unicast', bh.id);
      expect(communities(path.pattrs)).to.have.members([0xffff029a, 0xffffff01]);
      expect(nextHop(path.pattrs)).to.equal(bh.target.family === 4 ? '192.0.2.66' : '2001:db8::66');
      await action.withdraw(bh);
    }
  });

  it('reannounce(rules) after an ft restart puts back exactly what gobgpd lacks', async () => {
    const kept = flowspec('203.0.113.70/32', { protocols: [17] }, { type: 'discard' });
    const lost = rtbh('203.0.113.71/32');
    await action.apply(kept);
    const fresh = new GobgpAction(gobgpConfigSchema.parse({ address: lab.ctlSpeaker.api, tagAsn: 64500 }), ctx);
    try {
      expect(await fresh.reannounce([kept, lost]), 'only the missing one is sent').to.equal(1);
      await received('ipv4-unicast', lost.id);
      expect(await fresh.reannounce([kept, lost])).to.equal(0);
      for (const r of [kept, lost]) await fresh.withdraw(r);
      await gone('ipv4-unicast', lost.id);
    } finally {
      await fresh.close();
    }
  });

  it("two ft instances on one gobgpd see each other's announcements (one withdraws what the other applied)", async () => {
    const other = new GobgpAction(gobgpConfigSchema.parse({ address: lab.ctlSpeaker.api, tagAsn: 64500 }), ctx);
    try {
      await other.list(); // connected and indexed before the announcement below
      const rule = flowspec(
        '203.0.113.80/32',
        { protocols: [17], sourcePorts: [{ min: 161, max: 161 }] },
        { type: 'discard' },
      );
      await action.apply(rule);
      await received('ipv4-flowspec', rule.id);
      // The other instance learns it from gobgpd's watch stream, which may trail the peer's RIB by a moment (CI).
      const r = renderPath(rule, { tagAsn: 64500, nextHop4: '192.0.2.66', nextHop6: '2001:db8::66' });
      const seen = () =>
        (other as unknown as { rib: { get(k: string): { id: string } | undefined } }).rib.get(
          nlriKey(r.familyName, r.path.nlri),
        )?.id === rule.id;
      await waitFor(seen, { timeoutMs: 5000, what: 'the other instance to see the announcement on its watch stream' });
      expect((await other.apply(rule)).detail, 'the other instance knows it is already announced').to.equal(
        'already announced',
      );
      await other.withdraw(rule);
      await gone('ipv4-flowspec', rule.id);
    } finally {
      await other.close();
    }
  });

  it('health reflects the BGP session, and routes come back after a session flap', async () => {
    expect((await action.health()).status).to.equal('ok');
    const rule = flowspec(
      '203.0.113.50/32',
      { protocols: [17], sourcePorts: [{ min: 1900, max: 1900 }] },
      { type: 'discard' },
    );
    await action.apply(rule);
    await received('ipv4-flowspec', rule.id);
    // The session's TCP connection dies under both speakers (as on a link failure): the edge drops what it learned.
    lab.edge.exec(['ss', '-K', 'dst', lab.ctlAddress]);
    await waitFor(async () => (await action.health()).status !== 'ok', {
      timeoutMs: 5000,
      what: 'health to notice the session drop',
    });
    await waitEstablished(lab.edgeClient, lab.ctlAddress);
    await received('ipv4-flowspec', rule.id);
    await action.withdraw(rule);
    await gone('ipv4-flowspec', rule.id);
  });

  it('re-announces what is live after gobgpd itself restarts with an empty RIB', async () => {
    const rule = flowspec(
      '203.0.113.60/32',
      { protocols: [17], sourcePorts: [{ min: 11211, max: 11211 }] },
      { type: 'discard' },
    );
    const bh = rtbh('203.0.113.61/32');
    await action.apply(rule);
    await action.apply(bh);
    await lab.restartCtl();
    await waitEstablished(lab.edgeClient, lab.ctlAddress);
    await received('ipv4-flowspec', rule.id);
    await received('ipv4-unicast', bh.id);
    expect(action.reannounced).to.be.at.least(2);
    await action.withdraw(rule);
    await action.withdraw(bh);
    await gone('ipv4-flowspec', rule.id);
  });
});

/** Splits a line the way sh would, for the quoting shellQuote produces (single quotes, '\'' inside). */
function shellWords(line: string): string[] {
  const out: string[] = [];
  let word = '';
  let quoted = false;
  let inWord = false;
  let escaped = false;
  for (const ch of line) {
    if (escaped) {
      word += ch;
      escaped = false;
    } else if (quoted) {
      if (ch === "'") quoted = false;
      else word += ch;
    } else if (ch === "'") {
      quoted = true;
      inWord = true;
    } else if (ch === '\\') {
      escaped = true;
      inWord = true;
    } else if (ch === ' ') {
      if (inWord) out.push(word);
      word = '';
      inWord = false;
    } else {
      word += ch;
      inWord = true;
    }
  }
  if (inWord) out.push(word);
  return out;
}
