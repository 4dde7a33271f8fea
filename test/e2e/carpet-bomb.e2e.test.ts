import { expect } from 'chai';
import { randomBytes } from 'node:crypto';
import { run } from '../helpers/net.js';
import { labScenario } from './scenario.js';

describe('lab scenario carpet-bomb (sFlow from pmacctd sfprobe): a flood over a whole /24, each host under its threshold → one incident for the /24 → one FlowSpec rule for it → dropped at the edge → withdrawn', function () {
  this.timeout(180_000);
  const prefix = `ftc${randomBytes(3).toString('hex')}`;
  const lab = labScenario({
    name: 'carpet-bomb',
    labPrefix: prefix,
    env: { FT_LAB_POLICY_TTL: '20', FT_LAB_FLOOD_SECONDS: '8', FT_LAB_EXPORT: 'sflow' },
    commands: ['gobgpd', 'stayrtr', 'pmacctd', 'nft', 'hping3', 'nginx', 'curl', 'timeout'],
  });
  const { step, at } = lab;

  it('detects the attack at the prefix, not at any host, and classifies it (UDP, NTP source port)', () => {
    expect(step(/incident for 203\.0\.113\.0\/24 and none for a single host/).ok, lab.stderr).to.equal(true);
    expect(step(/classified/).ok, step(/classified/).detail).to.equal(true);
    expect(at('attack start')).to.be.below(at('incident open'));
  });

  it('mitigates it with one FlowSpec discard for the whole /24 after a Valid RPKI check, never RTBH, and the edge drops it', () => {
    expect(step(/FlowSpec discard for 203\.0\.113\.0\/24, RPKI Valid/).ok, lab.stderr).to.equal(true);
    expect(step(/no RTBH/).ok).to.equal(true);
    expect(step(/edge drops the flood/).ok, lab.stderr).to.equal(true);
    expect(step(/no flood packet reached the victim/).ok, step(/no flood packet reached the victim/).detail).to.equal(
      true,
    );
    expect(at('incident open')).to.be.at.most(at('plan: FlowSpec discard'));
    expect(at('announced') - 50).to.be.at.most(at('first packet dropped at the edge'));
  });

  it('withdraws the rule after the attack stops, from the RIB and nftables, while ft keeps running', () => {
    expect(step(/rule withdrawn/).ok, step(/rule withdrawn/).detail).to.equal(true);
    expect(step(/still running/).ok).to.equal(true);
    expect(at('withdrawn')).to.be.above(at('attack end'));
    const table = run(
      ['ip', 'netns', 'exec', `${prefix}-edge-linux`, 'nft', '-j', 'list', 'table', 'inet', 'ft_flowspec'],
      { allowFail: true },
    );
    const rules =
      table.status === 0
        ? (JSON.parse(table.stdout) as { nftables: { rule?: unknown }[] }).nftables.filter((i) => i.rule)
        : [];
    expect(rules).to.deep.equal([]);
    expect(lab.outcome?.ok, lab.stderr).to.equal(true);
  });
});
