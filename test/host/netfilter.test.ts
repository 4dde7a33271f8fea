import type { Action, HostFilterAction, Rule } from '@ft/sdk';
import { expect } from 'chai';
import { requireLab } from '../helpers/env.js';
import { applyAndCrash, create, expectRefused, reconcileAll } from './harness.js';
import { ALLOWED, ALLOWED6, BLOCKED, BLOCKED6, FOREIGN_SRC, HostLab, hostRule, manySources, TARGET } from './lab.js';

/** What the kernel says about ft's objects, read with the tool itself (not through the plugin). */
function kernelView(lab: HostLab, kind: string): string {
  const x = (argv: string[]) => lab.fw.exec(argv, { allowFail: true }).stdout;
  if (kind === 'nft') return x(['nft', 'list', 'table', 'inet', 'ft']);
  return x(['iptables-save']) + x(['ip6tables-save']) + (kind === 'ipset' ? x(['ipset', 'list']) : '');
}

for (const kind of ['iptables', 'ipset', 'nft'] as const) {
  describe(`host action ${kind} (real ${kind === 'nft' ? 'nftables' : kind} in a namespace)`, function () {
    this.timeout(120_000);
    let lab: HostLab | undefined;
    let action: Action;
    let pristine: string;
    const config = () => ({ netns: lab!.fw.name });

    before(async function () {
      requireLab(this, { root: true, commands: ['ip', 'ping', 'iptables-restore', 'ipset', 'nft', 'hping3'] });
      lab = HostLab.create(kind.slice(0, 4));
      lab.installForeign();
      pristine = lab.snapshot();
      action = await create(kind, config());
    });
    after(() => lab?.delete());

    it('drops the blocked source and lets another through; list, counters, idempotent apply; withdraw restores the ruleset exactly', async () => {
      const l = lab!;
      expect(l.reaches(BLOCKED), 'before any rule').to.equal(true);
      const rule = hostRule({ sources: [BLOCKED] });
      await action.apply(rule);
      const installed = kernelView(l, kind);
      expect(installed).to.contain(rule.id);
      expect(installed).to.contain(BLOCKED);
      expect(l.reaches(BLOCKED), 'blocked source').to.equal(false);
      expect(l.reaches(ALLOWED), 'other source').to.equal(true);
      expect(l.reaches(FOREIGN_SRC), "operator's own drop still in force").to.equal(false);
      expect((await action.list()).map((r) => r.ruleId)).to.deep.equal([rule.id]);
      const counted = (await action.counters!()).find((c) => c.ruleId === rule.id);
      expect(counted?.packets, 'drops counted for the collateral check').to.be.at.least(2);
      // And what went through to the target (the other source's echo requests), read at the same instant.
      expect(counted?.passed, 'passed counted for the collateral check').to.be.at.least(2);
      await action.apply(rule);
      expect(kernelView(l, kind).split(rule.id).length).to.equal(installed.split(rule.id).length);
      await action.withdraw(rule);
      expect(await action.list()).to.deep.equal([]);
      expect(l.reaches(BLOCKED), 'after withdraw').to.equal(true);
      expect(l.snapshot()).to.equal(pristine);
      await action.withdraw(rule); // withdrawing what is not there is a no-op
    });

    if (kind !== 'ipset') {
      it('installs every action type the kernel accepts, and rate-limits for real', async () => {
        const l = lab!;
        const actions: HostFilterAction[] = [
          { type: 'reject' },
          { type: 'hashlimit', packetsPerSecond: 100, burst: 10, per: 'source' },
          { type: 'connlimit', maxConnections: 20 },
          { type: 'syn-cookies' },
        ];
        const rules: Rule[] = actions.map((a, i) =>
          hostRule({ protocol: 'tcp', destinationPorts: [{ min: 80 + i, max: 80 + i }] }, a),
        );
        rules.push(
          hostRule(
            {
              protocol: 'udp',
              sourcePorts: [
                { min: 53, max: 53 },
                { min: 123, max: 123 },
                { min: 1900, max: 1910 },
              ],
            },
            { type: 'drop' },
          ),
        );
        for (const r of rules) await action.apply(r);
        expect((await action.list()).map((r) => r.ruleId).sort()).to.deep.equal(rules.map((r) => r.id).sort());
        const view = kernelView(l, kind);
        for (const r of rules) expect(view).to.contain(r.id);
        // 5 pps with a burst of 2: of 30 pings sent 10 ms apart, far fewer than 30 come back, but some do.
        const limited = hostRule(
          { protocol: 'icmp', sources: [ALLOWED] },
          { type: 'rate-limit', packetsPerSecond: 5, burst: 2 },
        );
        await action.apply(limited);
        const ping = l.peer.exec(['ping', '-n', '-q', '-c', '30', '-i', '0.01', '-W', '1', '-I', ALLOWED, TARGET], {
          allowFail: true,
          timeoutMs: 10_000,
        }).stdout;
        const received = Number(/(\d+) received/.exec(ping)?.[1]);
        expect(received).to.be.greaterThan(0).and.lessThan(15);
        for (const r of [...rules, limited]) await action.withdraw(r);
        expect(l.snapshot()).to.equal(pristine);
      });
    }

    if (kind !== 'ipset') {
      it('answers SYNs with SYN cookies (SYNPROXY) where the kernel alone would reset', async () => {
        const l = lab!;
        // SYNPROXY's documented prerequisite, set inside the test namespace only.
        l.fw.exec(['sysctl', '-q', '-w', 'net.netfilter.nf_conntrack_tcp_loose=0']);
        const synFlags = () =>
          l.peer.exec(['timeout', '5', 'hping3', '-S', '-p', '8080', '-c', '2', '-i', 'u200000', TARGET], {
            allowFail: true,
          }).stdout;
        expect(synFlags(), 'nothing listens on 8080: the kernel resets').to.match(/flags=RA/);
        const rule = hostRule(
          { protocol: 'tcp', destinationPorts: [{ min: 8080, max: 8080 }], tcpFlags: { set: ['syn'], unset: ['ack'] } },
          { type: 'syn-cookies' },
        );
        await action.apply(rule);
        const answered = synFlags();
        expect(answered, 'SYNPROXY answers with a cookie SYN-ACK').to.match(/flags=SA/);
        expect(answered).to.not.match(/flags=RA/);
        await action.withdraw(rule);
        l.fw.exec(['sysctl', '-q', '-w', 'net.netfilter.nf_conntrack_tcp_loose=1']);
        expect(l.snapshot()).to.equal(pristine);
      });
    }

    if (kind === 'iptables') {
      it('a built-in table that was there before ft (empty, ip raw) is still there after ft withdraws', async () => {
        const l = lab!;
        // An operator's tool touched the raw table once: iptables-nft leaves it, empty, in the kernel.
        l.fw.exec(['iptables', '-t', 'raw', '-N', 'OPERATOR-TMP']);
        l.fw.exec(['iptables', '-t', 'raw', '-X', 'OPERATOR-TMP']);
        const before = l.snapshot();
        expect(l.fw.exec(['nft', 'list', 'tables']).stdout).to.contain('table ip raw');
        const rule = hostRule(
          { protocol: 'tcp', destinationPorts: [{ min: 8081, max: 8081 }], tcpFlags: { set: ['syn'], unset: ['ack'] } },
          { type: 'syn-cookies' },
        );
        await action.apply(rule);
        await action.withdraw(rule);
        expect(l.snapshot()).to.equal(before);
        // Back to the state of the other tests: the operator removes it again.
        l.fw.exec(['nft', 'delete', 'table', 'ip', 'raw']);
        expect(l.snapshot()).to.equal(pristine);
      });
    }

    if (kind !== 'iptables') {
      it('puts 10,000 IPv6 sources in one set in one call, blocks a member, passes a non-member', async () => {
        const l = lab!;
        const rule = hostRule({ sources: [...manySources(10_000), BLOCKED6] }, { type: 'drop' }, '2001:db8:1::1');
        const rendered = action.render(rule);
        const batches = rendered.filter((c) => typeof c.payload === 'string' && c.payload.includes(BLOCKED6));
        expect(batches, 'the addresses travel in exactly one batch').to.have.length(1);
        const t0 = Date.now();
        await action.apply(rule);
        const ms = Date.now() - t0;
        const view =
          kind === 'ipset'
            ? l.fw.exec(['ipset', 'list', `ft-${rule.id}`, '-t']).stdout
            : l.fw.exec(['nft', 'list', 'set', 'inet', 'ft', `s_${rule.id.replace('-', '_')}`]).stdout;
        if (kind === 'ipset') expect(view).to.match(/Number of entries: 10001/);
        else expect(view.match(/2001:db8:ff/g)?.length).to.equal(10_000);
        expect(l.reaches(BLOCKED6), 'member of the set').to.equal(false);
        expect(l.reaches(ALLOWED6), 'not a member').to.equal(true);
        await action.withdraw(rule);
        expect(l.snapshot()).to.equal(pristine);
        expect(ms, 'sanity bound only; timings live in lab/bench/host.bench.ts').to.be.lessThan(30_000);
      });
    }

    it('reconcile removes what a killed ft process left behind, and only that', async () => {
      const l = lab!;
      const rule = hostRule({ sources: [BLOCKED] });
      applyAndCrash(kind, config(), rule);
      expect(l.reaches(BLOCKED), 'the orphan still drops').to.equal(false);
      const fresh = await create(kind, config());
      const refs = await fresh.list();
      expect(refs.map((r) => r.ruleId)).to.deep.equal([rule.id]);
      expect(await reconcileAll(fresh)).to.equal(1);
      expect(await fresh.list()).to.deep.equal([]);
      expect(l.snapshot()).to.equal(pristine);
    });

    it('refuses bad input with a clear error and applies nothing', async () => {
      const l = lab!;
      await expectRefused(l, action, hostRule({ sources: ['2001:db8::7'] }), /match\.sources\[0\].*IPv6.*IPv4/);
      await expectRefused(
        l,
        action,
        hostRule({ sources: [BLOCKED], protocol: 'udp', destinationPorts: [{ min: 0, max: 0 }] }),
        /destinationPorts\[0\]\.min.*not a port/,
      );
      await expectRefused(
        l,
        action,
        hostRule({ sources: [BLOCKED], protocol: 'tcp', sourcePorts: [{ min: 1, max: 70000 }] }),
        /sourcePorts\[0\]\.max.*not a port/,
      );
      const hostile = { ...hostRule({ sources: [BLOCKED] }), id: 'hf-0000000000000000; reboot' } as unknown as Rule;
      await expectRefused(l, action, hostile, /not an ft rule id/);
      let err: unknown;
      try {
        await create(kind, { netns: 'x; rm -rf /' });
      } catch (e) {
        err = e;
      }
      expect(String(err)).to.match(/netns|letters, digits/);
      expect(l.snapshot()).to.equal(pristine);
    });
  });
}

describe('host actions iptables + ipset + nft at the same time in one namespace', function () {
  this.timeout(120_000);
  let lab: HostLab | undefined;

  before(function () {
    requireLab(this, { root: true, commands: ['ip', 'ping', 'iptables-restore', 'ipset', 'nft'] });
    lab = HostLab.create('conc');
    lab.installForeign();
  });
  after(() => lab?.delete());

  it('concurrent applies and withdraws through instances sharing FT-INPUT and table inet ft lose nothing', async () => {
    const l = lab!;
    const pristine = l.snapshot();
    const cfg = { netns: l.fw.name };
    const [ipt, ips, nft, nftFwd] = await Promise.all([
      create('iptables', cfg),
      create('ipset', cfg),
      create('nft', cfg),
      create('nft', { ...cfg, hook: 'forward' }),
    ]);
    const rules = Array.from({ length: 6 }, (_, i) =>
      hostRule({
        sources: [`198.51.100.${10 + i}`],
        protocol: 'udp',
        destinationPorts: [{ min: 1000 + i, max: 1000 + i }],
      }),
    );
    const pairs: [Action, Rule][] = [
      [ipt, rules[0]!],
      [ips, rules[1]!],
      [ipt, rules[2]!],
      [ips, rules[3]!],
      [nft, rules[4]!],
      [nftFwd, rules[5]!],
    ];
    await Promise.all(pairs.map(([a, r]) => a.apply(r)));
    expect((await ipt.list()).map((r) => r.ruleId).sort()).to.deep.equal([rules[0]!.id, rules[2]!.id].sort());
    expect((await ips.list()).map((r) => r.ruleId).sort()).to.deep.equal([rules[1]!.id, rules[3]!.id].sort());
    expect((await nft.list()).map((r) => r.ruleId)).to.deep.equal([rules[4]!.id]);
    expect((await nftFwd.list()).map((r) => r.ruleId)).to.deep.equal([rules[5]!.id]);
    const save = l.fw.exec(['iptables-save', '-t', 'filter']).stdout;
    expect(
      save.match(/-A INPUT -m comment --comment ft -j FT-INPUT/g),
      'one hook, however many instances',
    ).to.have.length(1);
    expect(save.match(/-A FT-INPUT /g)).to.have.length(4);
    await Promise.all(pairs.map(([a, r]) => a.withdraw(r)));
    expect(l.snapshot()).to.equal(pristine);
  });
});
