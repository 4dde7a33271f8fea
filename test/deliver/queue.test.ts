// The delivery line alert channels and export sinks share: pacing, coalescing, retry classes, dead destinations,
// backpressure. Waits are asserted as lower bounds only (a busy machine only makes them longer).
import { expect } from 'chai';
import type { DeliveryOutcome } from '@ft/sdk';
import { DeliveryQueue, type Settled } from '../../core/deliver/index.js';
import { waitFor } from '../helpers/wait.js';

interface Item {
  key: string;
  n: number;
  parts?: number[];
}

function line(
  answer: (i: Item, attempt: number) => DeliveryOutcome | Promise<DeliveryOutcome>,
  o: Partial<ConstructorParameters<typeof DeliveryQueue<Item>>[0]> = {},
) {
  const sent: { item: Item; at: number; attempt: number }[] = [];
  const settled: { item: Item; s: Settled }[] = [];
  const broken: string[] = [];
  const recovered: number[] = [];
  const q = new DeliveryQueue<Item>({
    name: 'test',
    rate: { perSecond: 1000, burst: 1000 },
    retry: { baseMs: 20, maxMs: 100 },
    send: async (item, a) => {
      sent.push({ item: { ...item }, at: performance.now(), attempt: a.attempt });
      return answer(item, a.attempt);
    },
    keyOf: (i) => i.key,
    merge: (w, n) => ({ ...n, parts: [...(w.parts ?? [w.n]), n.n] }),
    onSettled: (item, s) => void settled.push({ item, s }),
    onBroken: (reason) => void broken.push(reason),
    onRecovered: (ms) => void recovered.push(ms),
    ...o,
  });
  return { q, sent, settled, broken, recovered };
}

const ok: DeliveryOutcome = { result: 'delivered' };

describe('core/deliver: one destination’s delivery queue', () => {
  it('paces sends to the rate limit after the burst', async () => {
    const { q, sent } = line(() => ok, { rate: { perSecond: 20, burst: 2 } });
    for (let n = 0; n < 5; n++) q.offer({ key: `k${n}`, n });
    await q.idle();
    expect(sent.map((s) => s.item.n)).to.deep.equal([0, 1, 2, 3, 4]);
    // 2 at once, then one per 50 ms.
    expect((sent[4]?.at ?? 0) - (sent[0]?.at ?? 0)).to.be.at.least(145);
    await q.close();
  });

  it('coalesces items with one key while they wait; the one in flight is never changed; amendments need a waiting item', async () => {
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const { q, sent } = line(async (i) => {
      if (i.n === 1) await gate;
      return ok;
    });
    q.offer({ key: 'inc', n: 1 });
    await waitFor(() => sent.length === 1, { timeoutMs: 30_000, what: 'the first send' });
    expect(q.offer({ key: 'inc', n: 2 })).to.equal('queued'); // the first is in flight: not merged
    expect(q.offer({ key: 'inc', n: 3 })).to.equal('merged');
    expect(q.offer({ key: 'other', n: 9 }, { mergeOnly: true })).to.equal('dropped');
    release();
    await q.idle();
    expect(sent.map((s) => s.item.parts ?? [s.item.n])).to.deep.equal([[1], [2, 3]]);
    await q.close();
  });

  it('retries what may work later with growing waits and honours the service’s own wait; gives up at the deadline', async () => {
    let calls = 0;
    const { q, sent, settled } = line(
      (i) => {
        if (i.key === 'server-wait') return ++calls < 2 ? { result: 'retry', reason: '429', waitMs: 300 } : ok;
        if (i.key === 'never') return { result: 'retry', reason: '503' };
        return ok;
      },
      { retry: { baseMs: 20, maxMs: 40, deadlineMs: 600 } },
    );
    q.offer({ key: 'server-wait', n: 1 });
    q.offer({ key: 'after', n: 2 });
    await q.idle();
    // The server's wait holds the whole destination: the next item waited too.
    expect((sent[1]?.at ?? 0) - (sent[0]?.at ?? 0)).to.be.at.least(295);
    expect(sent[2]?.item.key).to.equal('after');
    expect((sent[2]?.at ?? 0) - (sent[0]?.at ?? 0)).to.be.at.least(295);
    q.offer({ key: 'never', n: 3 });
    q.offer({ key: 'next', n: 4 });
    await waitFor(() => settled.some((x) => x.item.key === 'next'), {
      timeoutMs: 30_000,
      what: 'the next item after the expiry',
    });
    const never = settled.find((x) => x.item.key === 'never')?.s;
    expect(never?.result).to.equal('expired');
    expect(never?.attempts).to.be.at.least(2);
    expect(never?.tookMs).to.be.at.least(600);
    expect(never?.reason).to.match(/^not delivered within 1 s: 503$/);
    await q.close();
  });

  it('drops a refused item and goes on; stops at a dead destination keeping its items; resumes when told', async () => {
    let dead = true;
    const { q, sent, settled, broken, recovered } = line((i) =>
      i.key === 'bad'
        ? { result: 'rejected', reason: '400 invalid_payload' }
        : dead
          ? { result: 'dead', reason: '410' }
          : ok,
    );
    q.offer({ key: 'bad', n: 1 });
    q.offer({ key: 'a', n: 2 });
    q.offer({ key: 'b', n: 3 });
    await q.idle();
    expect(settled.map((x) => [x.item.key, x.s.result])).to.deep.equal([['bad', 'rejected']]);
    expect(broken).to.deep.equal(['410']);
    expect(q.stats()).to.deep.include({ state: 'broken', pending: 2, brokenReason: '410' });
    const attempts = sent.length;
    dead = false;
    q.resume();
    await q.idle();
    expect(sent.length).to.equal(attempts + 2);
    expect(settled.map((x) => x.item.key)).to.deep.equal(['bad', 'a', 'b']);
    expect(recovered).to.have.length(1);
    await q.close();
  });

  it('abandons an attempt with no answer at its timeout (even from a channel that ignores the signal) and tries again', async () => {
    const { q, sent, settled } = line(
      (_i, attempt) => (attempt === 1 ? new Promise<DeliveryOutcome>(() => undefined) : ok),
      { timeoutMs: 200 },
    );
    q.offer({ key: 'hang', n: 1 });
    await waitFor(() => settled.length === 1, { timeoutMs: 30_000, what: 'the second attempt' });
    expect(settled[0]?.s).to.deep.include({ result: 'delivered', attempts: 2 });
    expect((sent[1]?.at ?? 0) - (sent[0]?.at ?? 0)).to.be.at.least(195);
    expect(q.stats().lastError).to.equal('no answer within 200 ms');
    await q.close();
  });

  it('makes push() wait when maxPending items wait (backpressure), and lets it go as they leave', async () => {
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const { q } = line(
      async () => {
        await gate;
        return ok;
      },
      { maxPending: 2 },
    );
    q.offer({ key: 'a', n: 1 });
    await waitFor(() => q.stats().inFlight, { timeoutMs: 30_000, what: 'a in flight' });
    expect(q.offer({ key: 'b', n: 2 })).to.equal('queued');
    expect(q.offer({ key: 'c', n: 3 })).to.equal('queued');
    expect(q.offer({ key: 'd', n: 4 })).to.equal('full');
    let pushed = false;
    const p = q.push({ key: 'd', n: 4 }).then(() => (pushed = true));
    await new Promise((r) => setTimeout(r, 20));
    expect(pushed).to.equal(false);
    release();
    await p;
    await q.idle();
    expect(q.stats().delivered).to.equal(4);
    await q.close();
  });
});
