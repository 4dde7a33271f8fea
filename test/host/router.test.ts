import { makeRule, Prefix, type RtbhRule } from '@ft/sdk';
import { expect } from 'chai';
import { requireLab } from '../helpers/env.js';
import { link, Netns } from '../helpers/net.js';
import { create } from './harness.js';
import { hostRule } from './lab.js';

const VICTIM = '198.51.100.10';
const NEIGHBOUR = '198.51.100.11';

/**
 * ft on a router: attacker 192.0.2.7 → router (ft's namespace, forwarding) → two hosts behind it. Rules hook
 * FORWARD (iptables chain option, nft hook option) or null-route the target (rtbh), and only the target suffers.
 */
describe('host actions on a forwarding box (iptables FORWARD, nft forward, nullroute rtbh)', function () {
  this.timeout(60_000);
  const made: Netns[] = [];
  let atk: Netns;
  let router: Netns;

  before(function () {
    requireLab(this, { root: true, commands: ['ip', 'ping', 'iptables-restore', 'nft'] });
    atk = Netns.create('rt-atk');
    made.push(atk);
    router = Netns.create('rt-fw');
    made.push(router);
    const victims = Netns.create('rt-vic');
    made.push(victims);
    link(atk, '192.0.2.7/24', router, '192.0.2.1/24');
    const { bIf } = link(router, '198.51.100.1/24', victims, `${VICTIM}/24`);
    victims.exec(['ip', 'addr', 'add', `${NEIGHBOUR}/24`, 'dev', bIf]);
    atk.exec(['ip', 'route', 'add', '198.51.100.0/24', 'via', '192.0.2.1']);
    victims.exec(['ip', 'route', 'add', '192.0.2.0/24', 'via', '198.51.100.1']);
    router.exec(['sysctl', '-q', '-w', 'net.ipv4.ip_forward=1']);
    // The router's own rules, which must come through every test unchanged.
    router.exec([
      'iptables',
      '-A',
      'FORWARD',
      '-s',
      '192.0.2.99',
      '-m',
      'comment',
      '--comment',
      'operator rule',
      '-j',
      'DROP',
    ]);
    router.exec(['nft', 'add', 'table', 'inet', 'operator']);
    router.exec([
      'nft',
      'add',
      'chain',
      'inet',
      'operator',
      'opfwd',
      '{ type filter hook forward priority 0; policy accept; }',
    ]);
    router.exec(['nft', 'add', 'rule', 'inet', 'operator', 'opfwd', 'ip', 'saddr', '198.51.100.1', 'counter', 'drop']);
    router.exec(['ip', 'route', 'add', 'blackhole', '203.0.113.99/32']);
  });
  after(() => {
    for (const ns of made) ns.delete();
  });

  const reaches = (to: string) =>
    atk.exec(['ping', '-n', '-q', '-c', '2', '-i', '0.2', '-W', '1', to], { allowFail: true, timeoutMs: 10_000 })
      .status === 0;
  const snapshot = () => {
    const x = (argv: string[]) => router.exec(argv, { allowFail: true }).stdout;
    return [
      x(['iptables-save'])
        .split('\n')
        .filter((l) => !l.startsWith('#'))
        .join('\n')
        .replace(/\[\d+:\d+\]/g, ''),
      x(['nft', 'list', 'ruleset']).replace(/packets \d+ bytes \d+/g, ''),
      x(['ip', '-4', 'route', 'show', 'table', 'all']),
    ].join('\n--\n');
  };

  for (const [kind, config] of [
    ['iptables', { chain: 'FORWARD' }],
    ['nft', { hook: 'forward' }],
  ] as const) {
    it(`${kind} hooked to forwarding drops the attacker's traffic to the target only`, async () => {
      expect(reaches(VICTIM)).to.equal(true);
      const pristine = snapshot();
      const action = await create(kind, { ...config, netns: router.name });
      const rule = hostRule({ sources: ['192.0.2.7'] }, { type: 'drop' }, VICTIM);
      await action.apply(rule);
      expect(reaches(VICTIM), 'target').to.equal(false);
      expect(reaches(NEIGHBOUR), 'its neighbour').to.equal(true);
      expect((await action.counters!()).find((c) => c.ruleId === rule.id)?.packets ?? 0).to.be.at.least(2);
      await action.withdraw(rule);
      expect(reaches(VICTIM)).to.equal(true);
      expect(snapshot()).to.equal(pristine);
    });
  }

  it('nullroute: an RTBH rule blackholes the target on the router, its neighbour stays reachable', async () => {
    const pristine = snapshot();
    const action = await create('nullroute', { netns: router.name });
    const rule = makeRule<RtbhRule>({
      kind: 'rtbh',
      tenant: 't',
      target: Prefix.parse(`${VICTIM}/32`),
      communities: ['65535:666'],
      noExport: true,
      level: 3,
      ttlSeconds: 60,
    });
    await action.apply(rule);
    expect(reaches(VICTIM), 'blackholed').to.equal(false);
    expect(reaches(NEIGHBOUR)).to.equal(true);
    await action.withdraw(rule);
    expect(reaches(VICTIM)).to.equal(true);
    expect(snapshot()).to.equal(pristine);
  });
});
