import { expect } from 'chai';
import fc from 'fast-check';
import { existsSync } from 'node:fs';
import { collect, makeRule, Prefix, type FlowSpecRule, type PluginContext, type RtbhRule } from '@ft/sdk';
import { IN_CI } from '../../../test/helpers/env.js';
import plugin from '../src/plugin.js';
import { decodeFlowSpec, communities, nextHop, taggedRuleId } from '../src/decode.js';
import { itemsToRanges, OP_AND, OP_EQ, OP_GT, OP_LT } from '../src/flowspec-ops.js';
import { DEFAULT_PROTO_DIR, loadGobgpApi, type GobgpApi } from '../src/proto.js';
import { renderFlowSpec, renderRtbh, type AnyJson } from '../src/render.js';
import { ruleIdFromTag, tagFor } from '../src/tag.js';
import { gobgpConfigSchema } from '../src/config.js';
import { flowspecRule } from './arbitraries.js';

const OPTS = { tagAsn: 64500, nextHop4: '192.0.2.1', nextHop6: '100::1' };
const ctx = {
  name: 'p',
  logger: {
    debug() {},
    info() {},
    warn() {},
    error() {},
    child() {
      return this;
    },
  },
  secret: () => {
    throw new Error('x');
  },
} as unknown as PluginContext;

describe('gobgp rendering and decoding', () => {
  let api: GobgpApi;
  before(async function () {
    if (!existsSync(`${DEFAULT_PROTO_DIR}/gobgp.proto`)) {
      if (IN_CI) throw new Error('GoBGP protos missing in CI (lab/setup installs golang-github-osrg-gobgp-dev)');
      this.skip();
    }
    api = await loadGobgpApi();
  });

  // What gobgpd would receive and send back: the path packed with the real .proto types, then unpacked.
  const wire = (j: AnyJson) => api.unpack(api.pack(j));

  it('any FlowSpec rule survives render → protobuf wire → decode unchanged (match, action, rule id tag)', () => {
    fc.assert(
      fc.property(flowspecRule, (rule) => {
        const { path } = renderFlowSpec(rule, OPTS);
        const pattrs = path.pattrs.map(wire);
        const decoded = decodeFlowSpec(wire(path.nlri), pattrs);
        expect(JSON.parse(JSON.stringify(decoded.match))).to.deep.equal(JSON.parse(JSON.stringify(rule.match)));
        expect(decoded.actions).to.deep.equal([rule.action]);
        expect(taggedRuleId(pattrs, 64500)).to.equal(rule.id);
        expect(taggedRuleId(pattrs, 64501), 'a tag under another ASN is not ours').to.equal(undefined);
      }),
      { numRuns: 150 },
    );
  });

  it('RTBH carries 65535:666, NO_EXPORT and the discard next hop, v4 in NEXT_HOP and v6 in MP_REACH', () => {
    const v6 = makeRule<RtbhRule>({
      kind: 'rtbh',
      tenant: 't',
      target: Prefix.parse('2001:db8:100::9/128'),
      level: 3,
      ttlSeconds: 60,
      communities: ['65535:666', '64500:9999'],
      noExport: true,
    });
    const r6 = renderRtbh(v6, OPTS);
    const p6 = r6.path.pattrs.map(wire);
    expect(communities(p6)).to.deep.equal([0xffff029a, 64500 * 65536 + 9999, 0xffffff01]);
    expect(nextHop(p6)).to.equal('100::1');
    expect(r6.path.pattrs.map((a) => a['@type'].split('.').pop())).to.include('MpReachNLRIAttribute');
    const v4 = makeRule<RtbhRule>({
      kind: 'rtbh',
      tenant: 't',
      target: Prefix.parse('203.0.113.9/32'),
      level: 3,
      ttlSeconds: 60,
      communities: ['65535:666'],
      noExport: false,
      nextHop: '192.0.2.66',
    });
    const r4 = renderRtbh(v4, OPTS);
    expect(nextHop(r4.path.pattrs.map(wire))).to.equal('192.0.2.66');
    expect(r4.cliArgs.join(' ')).to.equal(
      `global rib -a ipv4 add 203.0.113.9/32 origin igp nexthop 192.0.2.66 community 65535:666 large-community ${tagFor(
        v4,
        64500,
      )
        .map((c) => `${c.global_admin}:${c.local_data1}:${c.local_data2}`)
        .join(',')}`,
    );
  });

  it('refuses what cannot be announced correctly, naming the problem', () => {
    const base = {
      kind: 'flowspec' as const,
      tenant: 't',
      target: Prefix.parse('203.0.113.1/32'),
      level: 1,
      ttlSeconds: 60,
    };
    const mk = (
      match: Partial<FlowSpecRule['match']>,
      action: FlowSpecRule['action'] = { type: 'discard' },
      dst = '203.0.113.1/32',
    ) => makeRule<FlowSpecRule>({ ...base, match: { destination: Prefix.parse(dst), ...match }, action });
    expect(() => renderFlowSpec(mk({ sourcePorts: [{ min: 10, max: 70000 }] }), OPTS)).to.throw(
      /source port range 10-70000/,
    );
    expect(() => renderFlowSpec(mk({}, { type: 'rate-limit', bytesPerSecond: 0 }), OPTS)).to.throw(
      /not a positive number/,
    );
    expect(() => renderFlowSpec(mk({}, { type: 'redirect', routeTarget: 'nope' }), OPTS)).to.throw(/route target/);
    expect(() =>
      renderFlowSpec(mk({ fragment: ['dont-fragment'] }, { type: 'discard' }, '2001:db8::1/128'), OPTS),
    ).to.throw(/IPv6 has no dont-fragment/);
    expect(() => renderFlowSpec(mk({ source: Prefix.parse('2001:db8::/32') }), OPTS)).to.throw(/different IP families/);
    const bh = makeRule<RtbhRule>({
      kind: 'rtbh',
      tenant: 't',
      target: Prefix.parse('203.0.113.9/32'),
      level: 3,
      ttlSeconds: 60,
      communities: ['65535:66666'],
      noExport: true,
    });
    expect(() => renderRtbh(bh, OPTS)).to.throw(/community "65535:66666"/);
  });

  it('decodes every RFC 8955 numeric comparison a foreign controller may send, including != and AND chains', () => {
    expect(itemsToRanges([{ op: OP_EQ | 0x80, value: 53 }], 65535)).to.deep.equal([{ min: 53, max: 53 }]);
    expect(itemsToRanges([{ op: OP_LT | OP_GT, value: 80 }], 65535)).to.deep.equal([
      { min: 0, max: 79 },
      { min: 81, max: 65535 },
    ]);
    expect(
      itemsToRanges(
        [
          { op: OP_GT, value: 1023 },
          { op: OP_AND | OP_LT, value: 2049 },
          { op: OP_EQ, value: 53 },
        ],
        65535,
      ),
    ).to.deep.equal([
      { min: 53, max: 53 },
      { min: 1024, max: 2048 },
    ]);
    expect(itemsToRanges([{ op: OP_GT | 0x30, value: 65535 }], 65535)).to.deep.equal([]);
  });

  it('tags name the rule, and only a path with both ft large communities counts as ours', () => {
    const id = 'fs-0123456789abcdef' as FlowSpecRule['id'];
    const tag = tagFor({ id, kind: 'flowspec', tenant: 'example-isp' }, 4200000000);
    expect(ruleIdFromTag(tag, 4200000000)).to.equal(id);
    expect(ruleIdFromTag([tag[1] as (typeof tag)[number]], 4200000000), 'id without marker').to.equal(undefined);
    expect(
      ruleIdFromTag([...tag, { global_admin: 4200000000, local_data1: 1, local_data2: 2 }], 4200000000),
      'ambiguous',
    ).to.equal(undefined);
  });

  it('preview renders the exact request and CLI line without connecting, even to an unreachable speaker', async () => {
    const factory = collect(plugin).actions.find((a) => a.kind === 'gobgp');
    expect(factory?.reach).to.equal('network');
    expect(factory?.capabilities).to.deep.equal(['flowspec', 'rtbh']);
    const action = await factory!.create(gobgpConfigSchema.parse({ address: '192.0.2.250:50051' }), ctx);
    const rule = makeRule<FlowSpecRule>({
      kind: 'flowspec',
      tenant: 't',
      target: Prefix.parse('203.0.113.10/32'),
      level: 2,
      ttlSeconds: 60,
      match: { destination: Prefix.parse('203.0.113.10/32'), protocols: [17], sourcePorts: [{ min: 53, max: 53 }] },
      action: { type: 'rate-limit', bytesPerSecond: 125000 },
    });
    const [cmd] = action.render(rule);
    expect(cmd?.format).to.equal('grpc');
    expect(cmd?.text).to.match(
      /^gobgp -u 192\.0\.2\.250 -p 50051 global rib -a ipv4-flowspec add match destination 203\.0\.113\.10\/32 protocol ==udp source-port ==53 then rate-limit 125000 origin igp large-community 64512:1718878209:\d+,64512:1718910976:2166136261,64512:\d+:\d+ /,
    );
    expect((cmd?.payload as { method: string }).method).to.equal('apipb.GobgpApi/AddPath');
    await action.close?.();
  });

  it('refuses a DeletePath without an NLRI (GoBGP would delete the whole family), before anything is sent', async () => {
    const { GobgpClient } = await import('../src/client.js');
    const client = await GobgpClient.create({ address: '192.0.2.250:50051', timeoutMs: 200 });
    try {
      await client.deletePath({ family: { afi: 'AFI_IP', safi: 'SAFI_FLOW_SPEC_UNICAST' } } as never);
      expect.fail('a family-only delete went out');
    } catch (err) {
      expect((err as Error).message).to.match(/refusing DeletePath without an NLRI/);
    } finally {
      client.close();
    }
  });

  it('says which package to install when the GoBGP .proto files are missing', async () => {
    try {
      await loadGobgpApi('/nonexistent/gobgp/api');
      expect.fail('loaded protos from nowhere');
    } catch (err) {
      expect((err as Error).message).to.match(
        /gobgp\.proto.*missing in \/nonexistent\/gobgp\/api.*golang-github-osrg-gobgp-dev/,
      );
    }
  });

  it('rejects config typos and malformed addresses before anything runs', () => {
    expect(() => gobgpConfigSchema.parse({ adress: '127.0.0.1:50051' })).to.throw(/adress/);
    expect(() => gobgpConfigSchema.parse({ address: 'localhost' })).to.throw(/host:port/);
    expect(() => gobgpConfigSchema.parse({ address: '127.0.0.1:50051', nextHop4: '2001:db8::1' })).to.throw(/IPv4/);
    expect(gobgpConfigSchema.parse({ address: 'unix:///run/gobgpd.sock' }).address).to.equal('unix:///run/gobgpd.sock');
  });
});
