// What every RuleStore must do, whatever is behind it: the embedded journal runs it here, the fleet's Redis store
// runs the same suite (`describeRuleStoreContract('redis', open)`).
import { expect } from 'chai';
import { Prefix, makeRule, type FlowSpecRule } from '@ft/sdk';
import type { Incident } from '../../core/model/incident.js';
import type { RuleRecord, RuleStore } from '../../core/state/store.js';

export function contractRule(n: number, tenant = 'acme'): FlowSpecRule {
  return makeRule<FlowSpecRule>({
    kind: 'flowspec',
    tenant,
    target: Prefix.parse(`203.0.113.${n}/32`),
    match: { destination: Prefix.parse(`203.0.113.${n}/32`), protocols: [17] },
    action: { type: 'discard' },
    level: 1,
    ttlSeconds: 300,
  });
}

function contractRecord(n: number, tenant = 'acme'): RuleRecord {
  return {
    rule: contractRule(n, tenant),
    via: ['edge'],
    appliedAt: '2026-01-01T00:00:00.000Z',
    expiresAt: '2026-01-01T00:05:00.000Z',
    phase: 'live',
    adapters: { edge: { state: 'installed', failures: 0, updatedAt: '2026-01-01T00:00:00.000Z' } },
    plannedBy: 'planner',
  };
}

function incident(id: string): Incident {
  return {
    id,
    target: Prefix.parse('203.0.113.9/32'),
    state: 'open',
    family: 'udp_flood',
    severity: 'high',
    vectors: ['ntp'],
    confidence: 0.9,
    pps: 1,
    bps: 1,
    peakPps: 1,
    peakBps: 1,
    protocols: { tcp: 0, udp: 1, icmp: 0 },
    tcpFlags: {},
    sourceCount: 1,
    topSources: [{ address: Prefix.parse('198.51.100.7'), count: 3 }],
    topDstPorts: [],
    topSrcPorts: [],
    spoofed: false,
    botnet: false,
    detectors: ['t'],
    startedAt: Date.parse('2026-01-01T00:00:00.000Z'),
    updatedAt: Date.parse('2026-01-01T00:00:00.000Z'),
  };
}

/** `open` gives a fresh, empty store; `reopen` (optional) the same store after a restart. */
export function describeRuleStoreContract(
  name: string,
  open: () => Promise<{ store: RuleStore; reopen?: () => Promise<RuleStore> }>,
): void {
  describe(`RuleStore contract: ${name}`, () => {
    it('puts, replaces and removes live rules; prefixes come back as Prefix', async () => {
      const { store, reopen } = await open();
      await store.putRule(contractRecord(1));
      await store.putRule({ ...contractRecord(1), expiresAt: '2026-01-01T00:10:00.000Z' });
      await store.putRule(contractRecord(2));
      await store.removeRule(contractRule(2).id);
      await store.removeRule(contractRule(3).id); // not there: a no-op
      const check = async (s: RuleStore) => {
        const rules = await s.rules();
        expect(rules.map((r) => r.rule.id)).to.deep.equal([contractRule(1).id]);
        expect(rules[0]!.expiresAt).to.equal('2026-01-01T00:10:00.000Z');
        expect(rules[0]!.rule.target.equals(Prefix.parse('203.0.113.1/32'))).to.equal(true);
        expect((await s.rule(contractRule(1).id))?.adapters.edge?.state).to.equal('installed');
        expect(await s.rule(contractRule(2).id)).to.equal(undefined);
      };
      await check(store);
      await store.close();
      if (reopen) {
        const again = await reopen();
        await check(again);
        await again.close();
      }
    });

    it('slots under the cap: granted below it, refused at it, kept by a rule that already holds one, per tenant', async () => {
      const { store } = await open();
      for (const n of [1, 2]) {
        const slot = await store.claimSlot('acme', contractRule(n).id, 2);
        expect(slot.granted).to.equal(true);
        await store.putRule(contractRecord(n));
      }
      expect(await store.claimSlot('acme', contractRule(3).id, 2)).to.deep.equal({ granted: false, used: 2 });
      expect((await store.claimSlot('acme', contractRule(1).id, 2)).granted).to.equal(true);
      expect((await store.claimSlot('other', contractRule(3, 'other').id, 2)).granted).to.equal(true);
      await store.removeRule(contractRule(2).id);
      expect((await store.claimSlot('acme', contractRule(3).id, 2)).granted).to.equal(true);
      await store.close();
    });

    it('appends audit records and answers by rule, incident, time and limit, oldest first', async () => {
      const { store } = await open();
      const base = Date.now() - 60_000;
      for (let i = 0; i < 6; i++) {
        await store.appendAudit([
          {
            id: `op${i}`,
            phase: 'start',
            at: new Date(base + i * 1000).toISOString(),
            op: 'add',
            ruleId: contractRule(i % 2).id,
            incidentId: i < 3 ? 'inc-a' : 'inc-b',
          },
        ]);
      }
      expect((await store.queryAudit({})).map((r) => r.id)).to.deep.equal(['op0', 'op1', 'op2', 'op3', 'op4', 'op5']);
      expect((await store.queryAudit({ ruleId: contractRule(1).id })).map((r) => r.id)).to.deep.equal([
        'op1',
        'op3',
        'op5',
      ]);
      expect((await store.queryAudit({ incidentId: 'inc-b' })).map((r) => r.id)).to.deep.equal(['op3', 'op4', 'op5']);
      expect((await store.queryAudit({ since: new Date(base + 3500) })).map((r) => r.id)).to.deep.equal(['op4', 'op5']);
      expect((await store.queryAudit({ until: new Date(base + 1500) })).map((r) => r.id)).to.deep.equal(['op0', 'op1']);
      expect((await store.queryAudit({ incidentId: 'inc-a', limit: 2 })).map((r) => r.id)).to.deep.equal([
        'op1',
        'op2',
      ]);
      await store.close();
    });

    it('keeps incidents by id, the latest state winning', async () => {
      const { store } = await open();
      await store.putIncident(incident('i1'));
      await store.putIncident({
        ...incident('i1'),
        state: 'resolved',
        resolvedAt: Date.parse('2026-01-01T00:01:00.000Z'),
      });
      await store.putIncident(incident('i2'));
      const got = (await store.incidents()).sort((a, b) => a.id.localeCompare(b.id));
      expect(got.map((i) => [i.id, i.state])).to.deep.equal([
        ['i1', 'resolved'],
        ['i2', 'open'],
      ]);
      expect(got[0]!.target.equals(Prefix.parse('203.0.113.9/32'))).to.equal(true);
      // Core's model comes back as it went in: addresses as Prefix, times as epoch ms.
      expect(got[0]!.topSources[0]!.address.equals(Prefix.parse('198.51.100.7/32'))).to.equal(true);
      expect(got[0]!.resolvedAt).to.equal(Date.parse('2026-01-01T00:01:00.000Z'));
      await store.close();
    });
  });
}
