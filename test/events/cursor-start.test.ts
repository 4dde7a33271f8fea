import { expect } from 'chai';
import { EventStream, type FtEvent } from '../../core/events/index.js';
import { waitFor } from '../helpers/wait.js';
import { speakerDown, tempDir } from './fixtures.js';

// Regression: a new subscriber starting at "now" stored no cursor until its first acknowledgement, so a restart
// before that started it at "now" again and it never saw what had been appended in between (an alert channel whose
// first alert was still undelivered lost it).
describe('event subscribers: a new subscriber’s start is durable', () => {
  it('events appended after a new subscriber started reach it after a restart, though it never acknowledged', async () => {
    const t = tempDir();
    try {
      let stream = await EventStream.openEmbedded({ stateDir: t.dir, tenant: 'example-isp' });
      await stream.append([speakerDown(0)]);
      const got: FtEvent[] = [];
      const sub = await stream.subscribe('late-acker', (events) => void got.push(...events), { manualAck: true });
      await stream.append([speakerDown(1)]);
      await waitFor(() => got.length === 1, { timeoutMs: 30_000, what: 'the event' });
      await sub.close();
      await stream.close();

      stream = await EventStream.openEmbedded({ stateDir: t.dir, tenant: 'example-isp' });
      const again: FtEvent[] = [];
      await stream.subscribe('late-acker', (events) => void again.push(...events), { manualAck: true });
      await waitFor(() => again.length === 1, {
        timeoutMs: 30_000,
        what: 'the unacknowledged event after the restart',
      });
      expect(again.map((e) => e.seq)).to.deep.equal([2]);
      await stream.close();
    } finally {
      t.cleanup();
    }
  });
});
