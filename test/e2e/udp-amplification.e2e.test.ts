import { expect } from 'chai';
import { randomBytes } from 'node:crypto';
import { run } from '../helpers/net.js';
import { labScenario } from './scenario.js';

for (const exporter of ['sflow', 'netflow'] as const)
  describe(`lab scenario udp-amplification (${exporter === 'sflow' ? 'sFlow from pmacctd sfprobe' : 'NetFlow v9 from softflowd'}): flood → ft run → RPKI → FlowSpec via gobgpd → dropped at the edge → withdrawn`, function () {
    this.timeout(180_000);
    const prefix = `fte${randomBytes(3).toString('hex')}`;
    const lab = labScenario({
      name: 'udp-amplification',
      labPrefix: prefix,
      env: { FT_LAB_POLICY_TTL: '20', FT_LAB_FLOOD_SECONDS: '8', FT_LAB_EXPORT: exporter },
      commands: [
        'gobgpd',
        'stayrtr',
        exporter === 'sflow' ? 'pmacctd' : 'softflowd',
        'nft',
        'hping3',
        'nginx',
        'curl',
        'timeout',
      ],
    });
    const { step, at } = lab;

    it('ft classifies the flood as DNS reflection, announces FlowSpec after a Valid RPKI check, and the edge drops it', () => {
      expect(step(/classified/).ok, step(/classified/).detail).to.equal(true);
      expect(step(/RPKI verdict/).ok, step(/RPKI verdict/).detail).to.equal(true);
      expect(step(/edge drops the flood/).ok, lab.stderr).to.equal(true);
      expect(step(/no flood packet reached the victim/).ok, step(/no flood packet reached the victim/).detail).to.equal(
        true,
      );
      // The order a network engineer expects, on one clock: detection, plan, announcement, route, drop.
      expect(at('attack start')).to.be.below(at('incident open'));
      expect(at('incident open')).to.be.at.most(at('plan: FlowSpec discard'));
      expect(at('plan: FlowSpec discard')).to.be.at.most(at('announced'));
      expect(at('announced') - 50).to.be.at.most(at('first packet dropped at the edge'));
      expect(at('first packet dropped at the edge')).to.be.below(at('attack end'));
    });

    it('legitimate HTTP to the attacked address and its neighbour keeps working during the attack', () => {
      expect(step(/HTTP to 203\.0\.113\.10 \(the attacked address\)/).ok).to.equal(true);
      expect(step(/HTTP to 203\.0\.113\.11 still answers during/).ok).to.equal(true);
    });

    it('withdraws the rule after the attack stops, from the RIB and nftables, while ft keeps running', () => {
      expect(step(/rule withdrawn/).ok, step(/rule withdrawn/).detail).to.equal(true);
      expect(step(/still running/).ok).to.equal(true);
      expect(at('withdrawn')).to.be.above(at('attack end'));
      // Checked here too, not only by the scenario: nothing of the rule is left at the edge.
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
