import { expect } from 'chai';
import { makeRule, Prefix, type FlowSpecRule, type PluginContext, type RouteOwner, type RtbhRule } from '@ft/sdk';
import { requireLab } from '../../../test/helpers/env.js';
import { run } from '../../../test/helpers/net.js';
import { waitFor } from '../../../test/helpers/wait.js';
import { GobgpAction } from '../src/action.js';
import type { ListedPath } from '../src/client.js';
import { gobgpConfigSchema } from '../src/config.js';
import { communities, largeCommunities, nextHop, taggedRuleId } from '../src/decode.js';
import { FAMILIES, type FamilyName } from '../src/render.js';
import { startPeering, type Peering } from './peering.js';

// Issue 19 §6, against two real gobgpd (ctl: ft's speaker, edge: its peer):
// - an RTBH with `communities: []` went out without the RFC 7999 BLACKHOLE community;
// - ft overwrote (and later deleted) the operator's own route with the same prefix or FlowSpec match;
// - two ft installs on one gobgpd took each other's routes for their own (the tag named no owner).
const silent = { debug() {}, info() {}, warn() {}, error() {}, child: () => silent };
const P = (s: string) => Prefix.parse(s);

function ctxFor(owner: RouteOwner): PluginContext {
  return {
    name: 'pop1-gobgp',
    logger: silent,
    owner,
    secret: () => {
      throw new Error('no secrets here');
    },
  } as unknown as PluginContext;
}
const rtbh = (dst: string, over: Partial<RtbhRule> = {}): RtbhRule =>
  makeRule<RtbhRule>({
    kind: 'rtbh',
    tenant: 'isp-a',
    target: P(dst),
    level: 3,
    ttlSeconds: 300,
    communities: ['65535:666'],
    noExport: true,
    ...over,
  } as never);
const flowspec = (dst: string, tenant = 'isp-a'): FlowSpecRule =>
  makeRule<FlowSpecRule>({
    kind: 'flowspec',
    tenant,
    target: P(dst),
    level: 2,
    ttlSeconds: 300,
    match: { destination: P(dst), protocols: [17], sourcePorts: [{ min: 53, max: 53 }] },
    action: { type: 'discard' },
  });

describe("gobgp adapter: the blackhole community, the operator's routes and other installs (two real gobgpd)", function () {
  this.timeout(60_000);
  let lab: Peering;
  const actions: GobgpAction[] = [];
  const action = (owner: RouteOwner) => {
    const a = new GobgpAction(
      gobgpConfigSchema.parse({ address: lab.ctlSpeaker.api, tagAsn: 64500, nextHop4: '192.0.2.66' }),
      ctxFor(owner),
    );
    actions.push(a);
    return a;
  };
  const adjIn = (family: FamilyName): Promise<ListedPath[]> =>
    lab.edgeClient.listPath('ADJ_IN', FAMILIES[family], lab.ctlAddress);
  const atEdge = (family: FamilyName, prefix: string, what: string) =>
    waitFor(async () => (await adjIn(family)).find((p) => p.prefix.includes(prefix)), { what });
  const gobgp = (...args: string[]) => run(['gobgp', '--target', lab.ctlSpeaker.api, ...args]);

  before(async function () {
    requireLab(this, { root: true, commands: ['gobgpd', 'gobgp', 'ip'] });
    lab = await startPeering('gbown');
  });
  after(async () => {
    for (const a of actions) await a.close();
    await lab?.teardown();
  });

  it('an RTBH written with `communities: []` still carries 65535:666 (with and without NO_EXPORT)', async () => {
    const a = action({ tenants: ['isp-a'], installId: '' });
    for (const [dst, noExport] of [
      ['203.0.113.40/32', false],
      ['203.0.113.41/32', true],
    ] as const) {
      const rule = rtbh(dst, { communities: [], noExport });
      await a.apply(rule);
      const path = await atEdge('ipv4-unicast', dst, `${dst} at the edge`);
      expect(communities(path.pattrs), dst).to.have.members(noExport ? [0xffff029a, 0xffffff01] : [0xffff029a]);
      await a.withdraw(rule);
    }
  });

  it("refuses to replace the operator's own route at the same prefix or FlowSpec match, and never deletes it", async () => {
    const a = action({ tenants: ['isp-a'], installId: '' });
    gobgp('global', 'rib', '-a', 'ipv4', 'add', '203.0.113.50/32', 'nexthop', '192.0.2.99');
    gobgp(
      ...'global rib -a ipv4-flowspec add match destination 203.0.113.51/32 protocol udp source-port ==53 then rate-limit 1000'.split(
        ' ',
      ),
    );
    await atEdge('ipv4-unicast', '203.0.113.50/32', "the operator's route at the edge");
    await atEdge('ipv4-flowspec', '203.0.113.51/32', "the operator's FlowSpec route at the edge");
    const bh = rtbh('203.0.113.50/32');
    const fs = flowspec('203.0.113.51/32');
    for (const rule of [bh, fs]) {
      let err: Error | undefined;
      await a.apply(rule).catch((e: Error) => (err = e));
      expect(err?.message, rule.kind).to.match(/without ft's tag .*refusing to replace it/);
      await a.withdraw(rule);
    }
    const op = await atEdge('ipv4-unicast', '203.0.113.50/32', "the operator's route");
    expect(nextHop(op.pattrs)).to.equal('192.0.2.99');
    expect(largeCommunities(op.pattrs)).to.deep.equal([]);
    const opFs = await atEdge('ipv4-flowspec', '203.0.113.51/32', "the operator's FlowSpec route");
    expect(taggedRuleId(opFs.pattrs, 64500)).to.equal(undefined);
    expect((await a.list()).map((r) => r.ruleId)).to.not.include.members([bh.id, fs.id]);
  });

  it("two installs on one gobgpd each list only their own routes and never replace the other's", async () => {
    const tenantA = action({ tenants: ['isp-a'], installId: '' });
    const tenantB = action({ tenants: ['isp-b'], installId: '' });
    const otherInstallOfA = action({ tenants: ['isp-a'], installId: 'pop2' });
    const ra = flowspec('203.0.113.60/32', 'isp-a');
    const rb = flowspec('203.0.113.61/32', 'isp-b');
    await tenantA.apply(ra);
    await tenantB.apply(rb);
    await atEdge('ipv4-flowspec', '203.0.113.61/32', "the second install's rule at the edge");
    expect((await tenantA.list()).map((r) => r.ruleId))
      .to.include(ra.id)
      .and.not.include(rb.id);
    expect((await tenantB.list()).map((r) => r.ruleId))
      .to.include(rb.id)
      .and.not.include(ra.id);
    // Same tenant, another install id: not its routes either.
    expect((await otherInstallOfA.list()).map((r) => r.ruleId)).to.not.include.members([ra.id, rb.id]);
    // The same match from another install is that install's route: refused, not taken over.
    let err: Error | undefined;
    await otherInstallOfA.apply(ra).catch((e: Error) => (err = e));
    expect(err?.message).to.match(/refusing to replace it/);
    await tenantA.withdraw(ra);
    await tenantB.withdraw(rb);
  });
});
