import { expect } from 'chai';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { makeRule, Prefix, type FlowSpecRule, type PluginContext } from '@ft/sdk';
import { GobgpAction, gobgpConfigSchema } from '@ft/bgp-gobgp';
import { requireLab } from '../../../test/helpers/env.js';
import { waitFor } from '../../../test/helpers/wait.js';
import {
  addEdge,
  edgeFlowspecRules,
  flood,
  httpGet,
  labUp,
  victimCounter,
  VICTIM,
  VICTIM6,
  type Lab,
} from '../../../lab/ns/lab.js';
import { startGobgpd } from '../../../lab/ns/topology.js';
import { FAMILIES, GobgpClient, taggedRuleId } from '@ft/bgp-gobgp';
import { runFt } from '../../../test/helpers/cli.js';
import { FlowSpecEnforcer } from '../src/enforcer.js';

const loud = {
  debug: console.error,
  info: console.error,
  warn: console.error,
  error: console.error,
  child() {
    return loud;
  },
};
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
  name: 'lab-gobgp',
  logger: silent,
  secret: () => {
    throw new Error('none');
  },
} as unknown as PluginContext;

function rule(
  match: Partial<FlowSpecRule['match']>,
  action: FlowSpecRule['action'],
  dst = `${VICTIM}/32`,
): FlowSpecRule {
  return makeRule<FlowSpecRule>({
    kind: 'flowspec',
    tenant: 'lab',
    target: Prefix.parse(dst),
    level: 2,
    ttlSeconds: 60,
    match: { destination: Prefix.parse(dst), ...match },
    action,
  });
}

describe('flowspec-enforcer: routes received by the edge gobgpd become nftables rules that stop the attack', function () {
  this.timeout(90_000);
  let lab: Lab;
  let action: GobgpAction;
  let enforcer: FlowSpecEnforcer;

  before(async function () {
    requireLab(this, { root: true, commands: ['gobgpd', 'nft', 'hping3', 'nginx', 'curl', 'ip'] });
    const prefix = `ft-enf${randomBytes(2).toString('hex')}`;
    lab = await labUp({ prefix, dir: mkdtempSync(join(tmpdir(), 'ft-enf-')) });
    action = new GobgpAction(gobgpConfigSchema.parse({ address: lab.ctlGobgp.api, tagAsn: 64500 }), ctx);
    enforcer = new FlowSpecEnforcer({
      gobgp: lab.edgeGobgp.api,
      peer: lab.ctlAddress,
      netns: lab.edge.name,
      logger: process.env.DEBUG_ENF ? loud : silent,
      resyncMs: 5000,
    });
    await enforcer.start();
    await waitFor(async () => (await action.health()).status === 'ok', {
      timeoutMs: 30_000,
      what: 'the ctl ↔ edge session',
    });
  });
  after(async () => {
    await enforcer?.stop();
    await action?.close();
    await lab?.teardown();
  });

  it('drops a UDP flood from source port 53 once the discard is announced, lets HTTP through, and lets the flood pass after withdraw', async () => {
    const counter = victimCounter(lab, 53);
    counter.install();
    flood(lab, { srcPort: 53, count: 200 });
    expect(counter.read(), 'flood reaches the victim before mitigation').to.be.at.least(190);
    expect(httpGet(lab)).to.equal(true);

    const discard = rule({ protocols: [17], sourcePorts: [{ min: 53, max: 53 }] }, { type: 'discard' });
    await action.apply(discard);
    const rules = await waitFor(
      () =>
        edgeFlowspecRules(lab)?.filter((r) => r.comment === `ft ${discard.id}`).length ? edgeFlowspecRules(lab) : null,
      { timeoutMs: 10_000, what: 'the nft drop rule in the edge' },
    );
    expect(JSON.stringify(rules)).to.include('"drop"');

    const before = counter.read();
    flood(lab, { srcPort: 53, count: 200 });
    expect(counter.read() - before, 'flood packets past the edge while the discard is live').to.equal(0);
    expect(httpGet(lab), 'HTTP to the same victim still works').to.equal(true);
    const other = counter.read();
    flood(lab, { srcPort: 54, count: 50 });
    expect(counter.read()).to.equal(other); // counter only counts sport 53: nothing new

    await action.withdraw(discard);
    await waitFor(() => (edgeFlowspecRules(lab) ?? []).length === 0, {
      timeoutMs: 10_000,
      what: 'the drop rule to go',
    });
    const after = counter.read();
    flood(lab, { srcPort: 53, count: 200 });
    expect(counter.read() - after, 'flood passes again after withdraw').to.be.at.least(190);
  });

  it('enforces rate-limit and DSCP mark, and logs-and-skips redirect (no Linux equivalent)', async () => {
    const limit = rule(
      { protocols: [17], sourcePorts: [{ min: 123, max: 123 }] },
      { type: 'rate-limit', bytesPerSecond: 1000 },
    );
    const mark = rule(
      { protocols: [6], destinationPorts: [{ min: 80, max: 80 }] },
      { type: 'mark', dscp: 10 },
      '203.0.113.11/32',
    );
    const redirect = rule(
      { protocols: [17], sourcePorts: [{ min: 1900, max: 1900 }] },
      { type: 'redirect', routeTarget: '64500:999' },
    );
    try {
      for (const r of [limit, mark, redirect]) await action.apply(r);
      await waitFor(() => (edgeFlowspecRules(lab) ?? []).some((r) => r.comment === `ft ${mark.id}`), {
        timeoutMs: 10_000,
        what: 'rate-limit and mark rules',
      });
      // The three routes arrive in separate UPDATEs: wait until the enforcer has seen the redirect too.
      await waitFor(() => enforcer.state.skipped.some((s) => s.reason.includes('redirect')), {
        timeoutMs: 10_000,
        what: 'the redirect route to be skipped',
      });
      const rules = edgeFlowspecRules(lab) ?? [];
      const text = JSON.stringify(rules.filter((r) => r.comment === `ft ${limit.id}`));
      expect(text)
        .to.include('"limit"')
        .and.include('"rate":1000')
        .and.include('"per":"second"')
        .and.include('"rate_unit":"bytes"');
      expect(JSON.stringify(rules.filter((r) => r.comment === `ft ${mark.id}`))).to.include('"dscp"');
      expect(rules.some((r) => r.comment === `ft ${redirect.id}`)).to.equal(false);

      // A 1000 bytes/s limit lets only a trickle of a 200-packet NTP-source burst through.
      const counter = victimCounter(lab, 123);
      counter.install();
      flood(lab, { srcPort: 123, count: 200 });
      expect(counter.read()).to.be.below(50);
    } finally {
      for (const r of [limit, mark, redirect]) await action.withdraw(r);
    }
    await waitFor(() => (edgeFlowspecRules(lab) ?? []).length === 0, { timeoutMs: 10_000, what: 'rules to go' });
  });

  it('enforces IPv6 FlowSpec (RFC 8956): HTTP over IPv6 to the victim is cut while a discard for TCP port 80 is live', async () => {
    expect(httpGet(lab, VICTIM6), 'IPv6 HTTP works before').to.equal(true);
    const block = rule(
      { protocols: [6], destinationPorts: [{ min: 80, max: 80 }] },
      { type: 'discard' },
      `${VICTIM6}/128`,
    );
    await action.apply(block);
    await waitFor(() => (edgeFlowspecRules(lab) ?? []).some((r) => r.comment === `ft ${block.id}`), {
      timeoutMs: 10_000,
      what: 'the IPv6 drop rule',
    });
    expect(httpGet(lab, VICTIM6), 'IPv6 HTTP blocked').to.equal(false);
    expect(httpGet(lab, VICTIM), 'IPv4 HTTP unaffected').to.equal(true);
    await action.withdraw(block);
    await waitFor(() => !(edgeFlowspecRules(lab) ?? []).some((r) => r.comment === `ft ${block.id}`), {
      timeoutMs: 10_000,
      what: 'the IPv6 rule to go',
    });
    expect(httpGet(lab, VICTIM6), 'IPv6 HTTP works again').to.equal(true);
  });

  it('`ft enforcer run --once` installs the received routes into a table of its own and reports them', async () => {
    const discard = rule({ protocols: [17], sourcePorts: [{ min: 19, max: 19 }] }, { type: 'discard' });
    await action.apply(discard);
    await waitFor(() => (edgeFlowspecRules(lab) ?? []).some((r) => r.comment === `ft ${discard.id}`), {
      timeoutMs: 10_000,
      what: 'the route at the edge',
    });
    // Only this test's route (a failed test before may have left others).
    const r = await runFt([
      'enforcer',
      'run',
      '--gobgp',
      lab.edgeGobgp.api,
      '--peer',
      lab.ctlAddress,
      '--netns',
      lab.edge.name,
      '--table',
      'ft_fs_once',
      '--once',
      '--json',
    ]);
    expect(r.code, r.stderr).to.equal(0);
    expect(JSON.parse(r.stdout).installed).to.deep.include({
      nlri: '[destination: 203.0.113.10/32][protocol: ==udp][source-port: ==19]',
      ruleId: discard.id,
    });
    expect((edgeFlowspecRules(lab, 'ft_fs_once') ?? []).map((x) => x.comment)).to.include(`ft ${discard.id}`);
    lab.edge.exec(['nft', 'delete', 'table', 'inet', 'ft_fs_once']);
    const bad = await runFt(['enforcer', 'run', '--gobgp', 'localhost', '--once']);
    expect(bad.code).to.equal(2);
    expect(bad.stderr).to.match(/not host:port/);
    await action.withdraw(discard);
  });

  it('addEdge hangs another edge off ctl whose speaker receives what ft announces (the hook for edge-frr/edge-bird)', async () => {
    const extra = await addEdge(lab.prefix, 'edge-x', 3, { ctlApi: lab.ctlGobgp.api, gobgpPeerAsn: 64502 });
    const speaker = await startGobgpd(extra.node, {
      asn: 64502,
      routerId: extra.edgeAddress,
      dir: join(lab.dir, 'edge-x'),
      listen: true,
      neighbors: [{ address: extra.ctlAddress, asn: 64500, passive: true }],
    });
    const client = await GobgpClient.create({ address: speaker.api });
    const discard = rule({ protocols: [17], sourcePorts: [{ min: 3702, max: 3702 }] }, { type: 'discard' });
    try {
      await action.apply(discard);
      await waitFor(
        async () =>
          (await client.listPath('ADJ_IN', FAMILIES['ipv4-flowspec'], extra.ctlAddress)).some(
            (p) => taggedRuleId(p.pattrs, 64500) === discard.id,
          ),
        { timeoutMs: 30_000, what: 'the route at the extra edge' },
      );
      expect(extra.node.exec(['ip', 'route', 'show', 'default']).stdout.trim()).to.equal('');
    } finally {
      await action.withdraw(discard);
      client.close();
      await speaker.stop();
    }
  });

  // Last: it stops the edge's gobgpd.
  it('removes its rules when the edge gobgpd stays unreachable (its BGP sessions are gone too)', async () => {
    const stale = new FlowSpecEnforcer({
      gobgp: lab.edgeGobgp.api,
      peer: lab.ctlAddress,
      netns: lab.edge.name,
      table: 'ft_fs_stale',
      logger: silent,
      resyncMs: 200,
      staleAfterMs: 1000,
    });
    const discard = rule({ protocols: [17], sourcePorts: [{ min: 17, max: 17 }] }, { type: 'discard' });
    try {
      await action.apply(discard);
      await stale.start();
      await waitFor(() => (edgeFlowspecRules(lab, 'ft_fs_stale') ?? []).some((r) => r.comment === `ft ${discard.id}`), {
        timeoutMs: 10_000,
        what: 'the rule in the second table',
      });
      await lab.edgeGobgp.stop();
      await waitFor(() => edgeFlowspecRules(lab, 'ft_fs_stale') === null && stale.state.installed.length === 0, {
        timeoutMs: 10_000,
        what: 'the stale table to be removed',
      });
    } finally {
      await stale.stop();
    }
  });
});
