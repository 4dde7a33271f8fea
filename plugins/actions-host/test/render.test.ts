import { collect, makeRule, Prefix, type Action, type HostFilterRule, type ShapeRule } from '@ft/sdk';
import { expect } from 'chai';
import fc from 'fast-check';
import plugin from '../src/plugin.js';
import { parseSave } from '../src/iptables/save.js';
import { removeBatch } from '../src/iptables/engine.js';
import { parseTemp } from '../src/managers/csf.js';
import { parseRichRules } from '../src/managers/firewalld.js';
import { parseAdded } from '../src/managers/ufw.js';
import { portBlocks } from '../src/tc/render.js';
import { parseStatus } from '../src/xdp/status.js';

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
  name: 't',
  logger: silent,
  stateDir: '/nonexistent',
  secret: () => {
    throw new Error('none');
  },
  signal: new AbortController().signal,
};
const create = (kind: string, config: Record<string, unknown> = {}): Promise<Action> =>
  collect(plugin)
    .actions.find((a) => a.kind === kind)!
    .create(config, ctx);

const target = Prefix.parse('203.0.113.10');
const hf = (match: Omit<HostFilterRule['match'], 'destination'>, action: HostFilterRule['action']) =>
  makeRule<HostFilterRule>({
    kind: 'host-filter',
    tenant: 't',
    target,
    match: { destination: target, ...match },
    action,
    level: 0,
    ttlSeconds: 300,
  });

describe('actions-host rendering (pure: no process runs)', () => {
  it('registers one kind per mechanism, all reach host', () => {
    const kinds = collect(plugin).actions.map((a) => [a.kind, a.reach, a.capabilities.join(',')]);
    expect(kinds).to.deep.equal([
      ['iptables', 'host', 'host-filter'],
      ['ipset', 'host', 'host-filter'],
      ['nft', 'host', 'host-filter'],
      ['tc', 'host', 'shape'],
      ['nullroute', 'host', 'rtbh,host-filter'],
      ['xdp', 'host', 'host-filter'],
      ['ufw', 'host', 'host-filter'],
      ['firewalld', 'host', 'host-filter'],
      ['csf', 'host', 'host-filter'],
    ]);
  });

  it("iptables: the planner's SYN-flood rule becomes SYNPROXY in ft's own chains, one iptables-restore batch", async () => {
    const rule = hf({ protocol: 'tcp', tcpFlags: { set: ['syn'], unset: ['ack'] } }, { type: 'syn-cookies' });
    const [cmd] = (await create('iptables', { netns: 'lab1' })).render(rule);
    const c = `FT-${rule.id}`;
    expect(cmd?.argv).to.deep.equal(['ip', 'netns', 'exec', 'lab1', 'iptables-restore', '-w', '5', '--noflush']);
    expect(cmd?.payload).to.equal(
      [
        '*raw',
        ':FT-PREROUTING - [0:0]',
        `:${c} - [0:0]`,
        '-I PREROUTING 1 -m comment --comment ft -j FT-PREROUTING',
        `-A ${c} -d 203.0.113.10/32 -p tcp -m tcp --tcp-flags SYN,ACK,RST,FIN SYN -j CT --notrack`,
        `-A FT-PREROUTING -m comment --comment ft:${rule.id} -j ${c}`,
        'COMMIT',
        '*filter',
        ':FT-INPUT - [0:0]',
        `:${c} - [0:0]`,
        '-I INPUT 1 -m comment --comment ft -j FT-INPUT',
        `-A ${c} -d 203.0.113.10/32 -p tcp -m conntrack --ctstate INVALID,UNTRACKED -j SYNPROXY --sack-perm --timestamp --wscale 7 --mss 1460`,
        `-A ${c} -d 203.0.113.10/32 -p tcp -m conntrack --ctstate INVALID -j DROP`,
        // No target: counts what went through the rule to its target (the collateral check's measure).
        `-A ${c} -d 203.0.113.10/32 -m comment --comment ft-passed`,
        `-A FT-INPUT -m comment --comment ft:${rule.id} -j ${c}`,
        'COMMIT',
        '',
      ].join('\n'),
    );
  });

  it('iptables: more than 15 ports split over several multiport lines', async () => {
    const ports = Array.from({ length: 20 }, (_, i) => ({ min: 1000 + i * 2, max: 1000 + i * 2 }));
    const text = String(
      (await create('iptables')).render(hf({ protocol: 'udp', sourcePorts: ports }, { type: 'drop' }))[0]?.payload,
    );
    const lines = text.split('\n').filter((l) => l.includes('--sports'));
    expect(lines.map((l) => /--sports (\S+)/.exec(l)?.[1]?.split(',').length)).to.deep.equal([15, 5]);
  });

  it('nft: an amplification rule is one transaction in table inet ft with a named source set', async () => {
    const rule = hf(
      {
        sources: [Prefix.parse('198.51.100.0/24'), Prefix.parse('192.0.2.7')],
        protocol: 'udp',
        sourcePorts: [
          { min: 53, max: 53 },
          { min: 1900, max: 1910 },
        ],
      },
      { type: 'drop' },
    );
    const [cmd] = (await create('nft')).render(rule);
    const n = rule.id.replace('-', '_');
    expect(cmd?.argv).to.deep.equal(['nft', '-f', '-']);
    expect(cmd?.payload).to.equal(
      [
        'table inet ft {',
        '  chain input { type filter hook input priority -10; policy accept; }',
        '}',
        `add set inet ft s_${n} { type ipv4_addr; flags interval; auto-merge; elements = { 198.51.100.0/24, 192.0.2.7 }; }`,
        `add chain inet ft r_${n}`,
        `add rule inet ft r_${n} ip daddr 203.0.113.10/32 ip saddr @s_${n} meta l4proto udp udp sport { 53, 1900-1910 } counter drop`,
        `add rule inet ft r_${n} ip daddr 203.0.113.10/32 counter comment "ft passed"`,
        `add rule inet ft input counter jump r_${n} comment "ft:${rule.id}"`,
        '',
      ].join('\n'),
    );
  });

  it('tc: u32 port blocks cover exactly the range, without overlap (property)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 65535 }), fc.integer({ min: 0, max: 3000 }), (min, span) => {
        const max = Math.min(65535, min + span);
        const covered: number[] = [];
        for (const b of portBlocks({ min, max })) {
          const size = 0x10000 - b.mask;
          expect(b.value & ~b.mask & 0xffff, 'value aligned to its mask').to.equal(0);
          for (let p = b.value; p < b.value + size; p++) covered.push(p);
        }
        expect(covered).to.deep.equal(Array.from({ length: max - min + 1 }, (_, i) => min + i));
      }),
      { numRuns: 200 },
    );
  });

  it("tc: a shape rule renders HTB under ft's root f7: with a u32 filter per source", async () => {
    const rule = makeRule<ShapeRule>({
      kind: 'shape',
      tenant: 't',
      target,
      match: {
        destination: target,
        sources: [Prefix.parse('192.0.2.7')],
        protocol: 'udp',
        destinationPorts: [{ min: 53, max: 53 }],
      },
      bitsPerSecond: 10_000_000,
      level: 0,
      ttlSeconds: 60,
    });
    const text = String((await create('tc', { interface: 'eth0' })).render(rule)[0]?.payload);
    expect(text).to.match(
      /^qdisc add dev eth0 root handle f7: htb default 0\nclass add dev eth0 parent f7: classid f7:([0-9a-f]+) htb rate 10000000bit ceil 10000000bit burst 12500\nfilter add dev eth0 parent f7: protocol ip prio \d+ u32 match ip dst 203\.0\.113\.10\/32 match ip src 192\.0\.2\.7\/32 match ip protocol 17 0xff match ip dport 53 0xffff flowid f7:\1\n$/,
    );
  });

  it('option names with anything but letters, digits, _ . - are refused by every kind (property)', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.string({ minLength: 1, maxLength: 12 }).filter((s) => /[^A-Za-z0-9_.-]/.test(s)),
        async (bad) => {
          for (const [kind, key, extra] of [
            ['iptables', 'netns', {}],
            ['nft', 'netns', {}],
            ['tc', 'interface', {}],
            ['xdp', 'interface', {}],
            ['ufw', 'netns', {}],
          ] as const) {
            let err: unknown;
            await create(kind, {
              ...(kind === 'tc' || kind === 'xdp' ? { interface: 'eth0' } : {}),
              ...extra,
              [key]: bad,
            }).catch((e: unknown) => (err = e));
            expect(err, `${kind} ${key}=${JSON.stringify(bad)}`).to.be.instanceOf(Error);
          }
        },
      ),
      { numRuns: 60 },
    );
  });

  it("iptables withdraw deletes exactly the saved lines of ft's chain and the hook it leaves empty", () => {
    const save = [
      '*filter',
      ':INPUT ACCEPT [0:0]',
      ':FT-INPUT - [0:0]',
      ':FT-hf-0123456789abcdef - [0:0]',
      '[5:300] -A INPUT -s 192.0.2.99/32 -m comment --comment "ft:hf-0123456789abcdef" -j DROP',
      '[0:0] -A INPUT -m comment --comment ft -j FT-INPUT',
      '[0:0] -A FT-INPUT -m comment --comment "ft:hf-0123456789abcdef" -j FT-hf-0123456789abcdef',
      '[9:540] -A FT-hf-0123456789abcdef -s 192.0.2.7/32 -d 192.0.2.1/32 -j DROP',
      'COMMIT',
    ].join('\n');
    // The operator's own rule that merely mentions ft's tag in its comment is not ft's and stays.
    expect(removeBatch(parseSave(save), 'FT-hf-0123456789abcdef')).to.equal(
      [
        '*filter',
        '-D FT-INPUT -m comment --comment "ft:hf-0123456789abcdef" -j FT-hf-0123456789abcdef',
        '-F FT-hf-0123456789abcdef',
        '-X FT-hf-0123456789abcdef',
        '-D INPUT -m comment --comment ft -j FT-INPUT',
        '-X FT-INPUT',
        'COMMIT',
        '',
      ].join('\n'),
    );
  });

  it("manager parsers take only entries whose tag is exactly ft's", () => {
    expect(
      parseAdded(
        [
          "Added user rules (see 'ufw status' for running firewall):",
          "ufw deny from 192.0.2.7 to 192.0.2.1 comment 'ft:hf-0123456789abcdef'",
          "ufw allow 22/tcp comment 'keep ft:hf-0123456789abcdef'",
          "ufw allow 80/tcp comment 'web'",
        ].join('\n'),
      ),
    ).to.deep.equal([
      {
        id: 'hf-0123456789abcdef',
        spec: ['deny', 'from', '192.0.2.7', 'to', '192.0.2.1', 'comment', 'ft:hf-0123456789abcdef'],
      },
    ]);
    expect(
      parseRichRules(
        [
          'rule family="ipv4" source address="192.0.2.7" log prefix="ft:hf-0123456789abcdef " level="warning" limit value="1/m" drop',
          'rule family="ipv4" source address="192.0.2.8" log prefix="ssh" drop',
        ].join('\n'),
      ).map((r) => r.id),
    ).to.deep.equal(['hf-0123456789abcdef']);
    // A line laid out as CSF's documentation describes csf -t (IP, port, direction, time left, comment); not checked
    // against a real csf, which the lab cannot install.
    expect(
      parseTemp(
        'DENY  192.0.2.7   *   in   4m 58s   ft:hf-0123456789abcdef\nDENY  192.0.2.8  22  in  1h  brute force\n',
      ),
    ).to.deep.equal([{ id: 'hf-0123456789abcdef', address: '192.0.2.7' }]);
  });

  it('xdp-filter status: one object per mode, ports per protocol', () => {
    const s = parseStatus(
      [
        'Loaded on interfaces:',
        '                                           Enabled features',
        'xdpfilt_alw_all',
        '  eth0 (skb mode)                       tcp,udp,ipv6,ipv4,ethernet,allow',
        '',
        'Filtered ports:',
        '                                           Mode             Hit counter',
        '  53                                       src,udp          7',
        '',
        'Filtered IP addresses:',
        '                                           Mode             Hit counter',
        '  2001:db8::7                              src              0',
        '  192.0.2.7                                src,dst          3',
        '',
      ].join('\n'),
    );
    expect([...s.loaded]).to.deep.equal([['eth0', 'skb']]);
    expect(s.entries.map((e) => `${e.object}=${e.hits}`)).to.deep.equal([
      'port 53 src udp=7',
      'ip 2001:db8::7 src=0',
      'ip 192.0.2.7 src=3',
      'ip 192.0.2.7 dst=3',
    ]);
  });
});
