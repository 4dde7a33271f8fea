// The disk spool's bound (drop-oldest, counted, resumed after a restart) and the pure per-sink mappings.
import { expect } from 'chai';
import { encodeEvent, toExportRecords } from '@ft/sdk';
import { DiskSpool } from '../../core/deliver/index.js';
import { kafkaMessage } from '../../plugins/export/src/sinks/kafka.js';
import { cefHeader, cefValue } from '../../plugins/export/src/format/cef.js';
import { zeekEscape, zeekHeader } from '../../plugins/export/src/format/zeek.js';
import { incident, tempDir } from './harness.js';

describe('export: disk spool and mappings', () => {
  it('a spool over its bound drops the oldest segments, counts them, and a reopened spool resumes after its head', async () => {
    const t = tempDir();
    try {
      const meta = (v: { seq: number }) => ({ seq: v.seq, atMs: 0 });
      const s = await DiskSpool.open<{ seq: number; pad: string }>({
        dir: t.dir,
        maxBytes: 256 * 1024,
        segmentBytes: 32 * 1024,
        metaOf: meta,
      });
      const pad = 'x'.repeat(1000);
      let dropped = 0;
      for (let k = 1; k <= 600; k += 5) {
        const d = await s.append([0, 1, 2, 3, 4].map((j) => ({ seq: k + j, pad })));
        if (d) {
          expect(d.fromSeq).to.equal(dropped + 1);
          dropped += d.count;
          expect(d.toSeq).to.equal(dropped);
        }
      }
      expect(dropped).to.be.greaterThan(0);
      expect(s.dropped).to.equal(dropped);
      expect(s.bytes).to.be.at.most(256 * 1024 + 32 * 1024);
      expect(s.pending).to.equal(600 - dropped);
      const head = await s.peek(10, 1e9);
      expect(head[0]?.value.seq).to.equal(dropped + 1);
      await s.commit((head[9] as { n: number }).n);
      await s.close();
      const again = await DiskSpool.open<{ seq: number; pad: string }>({
        dir: t.dir,
        maxBytes: 256 * 1024,
        segmentBytes: 32 * 1024,
        metaOf: meta,
      });
      expect(again.pending).to.equal(600 - dropped - 10);
      expect(again.dropped).to.equal(dropped);
      expect((await again.peek(1, 1e9))[0]?.value.seq).to.equal(dropped + 11);
      await again.close();
    } finally {
      t.cleanup();
    }
  });

  it('Kafka: CloudEvents binary headers, the target as key, a topic per category', () => {
    const i = incident('203.0.113.10');
    const e = encodeEvent({
      seq: 7,
      id: 'e-1',
      at: Date.now(),
      tenant: 'lab',
      node: 'edge-1',
      type: 'incident.opened',
      data: { incident: i },
    });
    const m = kafkaMessage(toExportRecords(e)[0] as never, 'ft.');
    expect(m.topic).to.equal('ft.incidents');
    expect(m.key).to.equal('203.0.113.10/32');
    expect(m.headers).to.include({
      ce_specversion: '1.0',
      ce_id: 'e-1',
      ce_type: 'ft.incident.opened',
      ce_source: 'ft://edge-1',
    });
    expect(JSON.parse(m.value).incident.id).to.equal(i.id);
  });

  it('CEF and Zeek escape what their formats reserve', () => {
    expect(cefHeader('a|b\\c\nd')).to.equal('a\\|b\\\\c d');
    expect(cefValue('a=b\\c\nd\re|f')).to.equal('a\\=b\\\\c\\nd\\re|f');
    expect(zeekEscape('a\tb\\c,d', true)).to.equal('a\\x09b\\x5cc\\x2cd');
    expect(zeekHeader('ft', 0).split('\n')[0]).to.equal('#separator \\x09');
  });
});
