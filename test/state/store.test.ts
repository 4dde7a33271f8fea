import { expect } from 'chai';
import { chmodSync, mkdtempSync, readFileSync, readdirSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Prefix, makeRule, type FlowSpecRule } from '@ft/sdk';
import { JournalStore } from '../../core/state/journal-store.js';
import { StateDirError, StateLockedError } from '../../core/state/state-dir.js';
import type { RuleRecord } from '../../core/state/store.js';
import { JournalCorruptError } from '../../core/state/journal.js';

const tmp = () => mkdtempSync(join(tmpdir(), 'ft-store-'));

function rule(n: number): FlowSpecRule {
  return makeRule<FlowSpecRule>({
    kind: 'flowspec',
    tenant: 't1',
    target: Prefix.parse(`203.0.113.${n}/32`),
    match: { destination: Prefix.parse(`203.0.113.${n}/32`), protocols: [17], sourcePorts: [{ min: 53, max: 53 }] },
    action: { type: 'discard' },
    level: 2,
    ttlSeconds: 300,
  });
}

function record(n: number): RuleRecord {
  return {
    rule: rule(n),
    via: ['edge'],
    appliedAt: '2026-01-01T00:00:00.000Z',
    expiresAt: '2026-01-01T00:05:00.000Z',
    phase: 'live',
    adapters: { edge: { state: 'installed', failures: 0, updatedAt: '2026-01-01T00:00:00.000Z' } },
    plannedBy: 'planner',
  };
}

describe('JournalStore: the embedded rule store', () => {
  it('live rules survive a restart with their prefixes and ids intact', async () => {
    const dir = tmp();
    const store = await JournalStore.open({ dir });
    await store.putRule(record(1));
    await store.putRule(record(2));
    await store.removeRule(rule(1).id);
    await store.close();

    const again = await JournalStore.open({ dir });
    const rules = await again.rules();
    expect(rules.map((r) => r.rule.id)).to.deep.equal([rule(2).id]);
    const r = rules[0]!.rule as FlowSpecRule;
    expect(r.target.equals(Prefix.parse('203.0.113.2/32'))).to.equal(true);
    expect(r.match.destination.contains(Prefix.parse('203.0.113.2'))).to.equal(true);
    await again.close();
  });

  it('one writer per state directory; a lock left by a dead process is taken over', async () => {
    const dir = tmp();
    const store = await JournalStore.open({ dir });
    await JournalStore.open({ dir }).then(
      () => expect.fail('two writers'),
      (err: Error) => {
        expect(err).to.be.instanceOf(StateLockedError);
        expect(err.message).to.include(`pid ${process.pid}`);
      },
    );
    // Readers (ft mitigate list, ft audit) need no lock.
    const reader = await JournalStore.open({ dir, readOnly: true });
    await store.putRule(record(3));
    expect(await reader.rules()).to.have.length(0); // a reader sees the state as of its open
    await reader.close();
    await store.close();
    writeFileSync(join(dir, 'lock'), '999999\n'); // no such process
    const after = await JournalStore.open({ dir });
    expect((await after.rules()).map((r) => r.rule.id)).to.deep.equal([rule(3).id]);
    await after.close();
  });

  it('compaction keeps the journal bounded and loses nothing', async () => {
    const dir = tmp();
    const store = await JournalStore.open({ dir, compactBytes: 4096 });
    for (let round = 0; round < 30; round++) {
      for (let n = 1; n <= 5; n++)
        await store.putRule({ ...record(n), expiresAt: new Date(Date.UTC(2026, 0, 1, 0, round)).toISOString() });
      await store.removeRule(rule((round % 5) + 1).id);
    }
    await store.close();
    const files = readdirSync(dir).filter((f) => f.startsWith('state-'));
    expect(files.length).to.be.at.most(4); // current + one spare generation
    const total = files.reduce((n, f) => n + statSync(join(dir, f)).size, 0);
    expect(total).to.be.below(3 * 4096 + 8192);
    const again = await JournalStore.open({ dir });
    const ids = (await again.rules()).map((r) => r.rule.id).sort();
    // Round 29 removed rule 5; rules 1..4 were re-put after their last removal.
    expect(ids).to.deep.equal([1, 2, 3, 4].map((n) => rule(n).id).sort());
    expect((await again.rule(rule(1).id))?.expiresAt).to.equal(new Date(Date.UTC(2026, 0, 1, 0, 29)).toISOString());
    await again.close();
  });

  it('concurrent writes while compactions run: the reopened state is exactly the last write of each rule', async () => {
    const dir = tmp();
    const store = await JournalStore.open({ dir, compactBytes: 2048 });
    const expected = new Map<string, string | undefined>();
    const writes: Promise<void>[] = [];
    for (let i = 0; i < 400; i++) {
      const n = (i % 9) + 1;
      const id = rule(n).id;
      if (i % 7 === 3) {
        writes.push(store.removeRule(id));
        expected.set(id, undefined);
      } else {
        const expiresAt = new Date(Date.UTC(2026, 0, 1, 0, 0, i)).toISOString();
        writes.push(store.putRule({ ...record(n), expiresAt }));
        expected.set(id, expiresAt);
      }
    }
    await Promise.all(writes);
    await store.close();
    const again = await JournalStore.open({ dir });
    const got = new Map((await again.rules()).map((r) => [r.rule.id as string, r.expiresAt]));
    for (const [id, exp] of expected) expect(got.get(id), id).to.equal(exp);
    expect(got.size).to.equal([...expected.values()].filter(Boolean).length);
    await again.close();
  });

  it('a crash in the middle of a compaction (snapshot in place, new log not yet created; or a half-written snapshot) loses nothing', async () => {
    const dir = tmp();
    const store = await JournalStore.open({ dir });
    await store.putRule(record(1));
    await store.putRule(record(2));
    await store.compactNow();
    await store.putRule(record(3));
    await store.close();
    // Crash after the next snapshot was renamed into place, before its log existed: simulate by compacting a copy.
    const names = readdirSync(dir)
      .filter((f) => f.startsWith('state-'))
      .sort();
    expect(names).to.deep.equal(['state-00000001.log', 'state-00000002.log', 'state-00000002.snap']); // one spare generation
    const again = await JournalStore.open({ dir });
    await again.compactNow();
    await again.close();
    unlinkSync(join(dir, 'state-00000003.log'));
    writeFileSync(join(dir, 'state-00000004.snap.tmp'), 'half a snapshot');
    const after = await JournalStore.open({ dir });
    expect((await after.rules()).map((r) => r.rule.id).sort()).to.deep.equal([1, 2, 3].map((n) => rule(n).id).sort());
    await after.putRule(record(4));
    await after.close();
    const last = await JournalStore.open({ dir, readOnly: true });
    expect(await last.rules()).to.have.length(4);
    await last.close();
  });

  it('the audit trail rotates, survives restarts and answers queries by rule, incident and time', async () => {
    const dir = tmp();
    const store = await JournalStore.open({ dir, auditSegmentBytes: 2048 });
    const base = Date.now() - 3600_000;
    const at = (i: number) => new Date(base + i * 60_000);
    // One segment from long ago: dropped at the next rotation (retention 90 days).
    await store.appendAudit([
      { id: 'ancient', phase: 'event', at: '2020-01-01T00:00:00.000Z', op: 'alert', message: 'y'.repeat(2100) },
    ]);
    for (let i = 0; i < 60; i++) {
      await store.appendAudit([
        {
          id: `op${i}`,
          phase: 'event',
          at: at(i).toISOString(),
          op: 'add',
          ruleId: rule((i % 3) + 1).id,
          incidentId: `inc-${i % 2}`,
          message: 'x'.repeat(50),
        },
      ]);
    }
    await store.close();
    expect(readdirSync(join(dir, 'audit')).length).to.be.greaterThan(2);
    const reader = await JournalStore.open({ dir, readOnly: true });
    expect(await reader.queryAudit({})).to.have.length(60);
    expect((await reader.queryAudit({ ruleId: rule(1).id })).map((r) => r.id)).to.deep.equal(
      Array.from({ length: 20 }, (_, k) => `op${k * 3}`),
    );
    expect(await reader.queryAudit({ incidentId: 'inc-1' })).to.have.length(30);
    expect((await reader.queryAudit({ since: at(55) })).map((r) => r.id)).to.deep.equal([
      'op55',
      'op56',
      'op57',
      'op58',
      'op59',
    ]);
    expect((await reader.queryAudit({ limit: 2 })).map((r) => r.id)).to.deep.equal(['op58', 'op59']);
    await reader.close();
  });

  it('an unreadable state directory is a clear error naming it', async function () {
    if (process.getuid?.() === 0) {
      // root reads everything: use a path under a regular file instead, which no user can create.
      const file = join(tmp(), 'not-a-dir');
      writeFileSync(file, '');
      await JournalStore.open({ dir: join(file, 'state') }).then(
        () => expect.fail('opened'),
        (err: Error) => {
          expect(err).to.be.instanceOf(StateDirError);
          expect(err.message).to.include(join(file, 'state'));
        },
      );
      const plain = join(tmp(), 'plain');
      writeFileSync(plain, 'x');
      await JournalStore.open({ dir: plain }).then(
        () => expect.fail('opened'),
        (err: Error) => expect(err.message).to.equal(`state directory ${plain}: exists but is not a directory`),
      );
      return;
    }
    const dir = tmp();
    chmodSync(dir, 0o500);
    await JournalStore.open({ dir }).then(
      () => expect.fail('opened'),
      (err: Error) => expect(err.message).to.match(/not writable/),
    );
  });

  it('a corrupt state journal stops the start with a clear error; --repair-state moves it aside and keeps the intact part', async () => {
    const dir = tmp();
    const store = await JournalStore.open({ dir, compactBytes: 64 * 1024 * 1024 });
    await store.putRule(record(1));
    await store.putRule(record(2));
    for (let i = 0; i < 80; i++)
      await store.putRule({
        ...record(3),
        expiresAt: new Date(Date.UTC(2026, 0, 1, 0, 0, i)).toISOString(),
        reason: { summary: 'p'.repeat(64 * 1024) },
      });
    await store.close();
    const log = join(
      dir,
      readdirSync(dir).find((f) => f.endsWith('.log'))!,
    );
    const image = readFileSync(log);
    // Damage the second record's payload: far more than a batch follows it, so this is not a torn write.
    const secondStart = 8 + 8 + image.readUInt32BE(8);
    image.writeUInt8(image.readUInt8(secondStart + 20) ^ 0x01, secondStart + 20);
    writeFileSync(log, image);

    let caught: unknown;
    try {
      await JournalStore.open({ dir });
    } catch (err) {
      caught = err;
    }
    expect(caught).to.be.instanceOf(JournalCorruptError);
    expect((caught as Error).message).to.include(log);
    expect(readFileSync(log).equals(image)).to.equal(true);

    const repaired = await JournalStore.open({ dir, repair: true, compactBytes: 64 * 1024 * 1024 });
    expect((await repaired.rules()).map((r) => r.rule.id)).to.deep.equal([rule(1).id]);
    await repaired.close();
    const aside = readdirSync(dir).filter((f) => f.includes('.corrupt-'));
    expect(aside).to.have.length(1);
    expect(readFileSync(join(dir, aside[0]!)).equals(image)).to.equal(true);
  });
});

describe('JournalStore: state written by an earlier ft', () => {
  it('an incident stored in the reference (snake_case) shape comes back in core model terms', async () => {
    const dir = tmp();
    const { writeJournalFile } = await import('../../core/state/journal.js');
    // What ft wrote before the internal model: the incident record held the reference JSON.
    await writeJournalFile(join(dir, 'state-00000001.log'), [
      {
        k: 'incident',
        i: {
          id: 'inc-old',
          target: '203.0.113.10/32',
          state: 'resolved',
          attack_family: 'udp_flood',
          severity: 'high',
          vector: [],
          confidence: 0.9,
          pps: 10,
          bps: 800,
          peak_pps: 20,
          peak_bps: 1600,
          protocol_breakdown: { tcp: 0, udp: 100, icmp: 0 },
          tcp_flag_breakdown: { SYN: 3 },
          source_ip_count: 2,
          top_src_ips: [
            { ip: '198.51.100.7', count: 5 },
            { ip: 'garbage', count: 4 },
          ],
          top_dst_ports: [],
          top_src_ports: [{ port: 123, count: 9 }],
          spoofing_detected: false,
          botnet_detected: false,
          sources: ['edge'],
          started_at: '2026-01-01T00:00:00.000Z',
          updated_at: '2026-01-01T00:01:00.000Z',
          resolved_at: '2026-01-01T00:02:00.000Z',
        },
      },
    ]);
    const store = await JournalStore.open({ dir });
    const [i] = await store.incidents();
    await store.close();
    expect(i).to.deep.include({
      id: 'inc-old',
      family: 'udp_flood',
      peakBps: 1600,
      startedAt: Date.parse('2026-01-01T00:00:00.000Z'),
      resolvedAt: Date.parse('2026-01-01T00:02:00.000Z'),
      tcpFlags: { syn: 3 },
      detectors: ['edge'],
    });
    // Vectors are decided at the edge from the report's source ports (NTP here), once.
    expect(i!.vectors).to.deep.equal(['ntp']);
    expect(i!.topSources.map((s) => s.address.toString())).to.deep.equal(['198.51.100.7/32']);
  });
});
