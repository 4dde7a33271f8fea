// Datagrams for fuzzing and benchmarks: built by the test encoders, and exported by the real exporters from the
// known-traffic pcap (softflowd v5/v9/IPFIX incl. IPv6, pmacctd sfprobe sFlow).
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  addr,
  ethernet,
  flowSample,
  ifCountersSample,
  ipfix,
  ipfixOptionsTemplate,
  ipv4Packet,
  ipv6Packet,
  netflow5,
  netflow9,
  rawHeaderRecord,
  set,
  sflow,
  tcpHeader,
  templateRecord,
  u16,
  u32,
  u8,
  udpHeader,
  v9OptionsTemplate,
  varlen,
  type Field,
} from './encode.js';
import { captureExport, pmacctSfprobe, softflowd } from './exporters.js';
import { knownTraffic, trafficPcap } from './pcap-writer.js';

const V4: Field[] = [
  [8, 4],
  [12, 4],
  [7, 2],
  [11, 2],
  [4, 1],
  [6, 1],
  [2, 4],
  [1, 4],
];

export function syntheticCorpus(): Buffer[] {
  const rec = Buffer.concat([
    addr('198.51.100.1'),
    addr('203.0.113.10'),
    u16(1),
    u16(2),
    u8(6),
    u8(2),
    u32(3),
    u32(120),
  ]);
  const tcp = ipv4Packet('198.51.100.7', '203.0.113.10', 6, tcpHeader(1, 443, 2));
  const v6 = ipv6Packet(
    '2001:db8:200::5',
    '2001:db8:100::10',
    44,
    Buffer.concat([Buffer.from([17, 0, 0, 0, 0, 0, 0, 1]), udpHeader(53, 9, 20)]),
  );
  return [
    netflow5(
      [
        { src: '198.51.100.1', dst: '203.0.113.10', packets: 1, bytes: 40 },
        { src: '198.51.100.2', dst: '203.0.113.11', packets: 9, bytes: 900 },
      ],
      { sampling: 100 },
    ),
    netflow9([
      set(0, templateRecord(256, V4, false)),
      set(1, v9OptionsTemplate(257, [[1, 4]], [[34, 4]]), { pad: 2 }),
      set(256, Buffer.concat([rec, rec]), { pad: 3 }),
      set(257, Buffer.concat([u32(0), u32(64)])),
    ]),
    ipfix([
      set(2, templateRecord(300, [...V4, [82, 0xffff], [99, 4, 9]], true)),
      set(300, Buffer.concat([rec, varlen(Buffer.from('xe-0/0/0')), u32(5)])),
      set(
        3,
        ipfixOptionsTemplate(
          301,
          [[302, 4]],
          [
            [305, 4],
            [306, 4],
          ],
        ),
      ),
      set(301, Buffer.concat([u32(1), u32(1), u32(9)])),
      set(2, templateRecord(302, [], true)),
    ]),
    sflow([
      flowSample([rawHeaderRecord(ethernet(tcp, { vlans: [7] }))]),
      flowSample([rawHeaderRecord(ethernet(v6, { v6: true, mpls: [5, 6] }))], { expanded: true }),
      ifCountersSample(1, 1000, 10),
    ]),
  ];
}

let real: Promise<Buffer[]> | undefined;

/** Runs each real exporter once per process over a small known-traffic pcap; the datagrams in export order. */
export function realCorpus(): Promise<Buffer[]> {
  real ??= (async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ft-flow-corpus-'));
    try {
      const v4 = join(dir, 'v4.pcap');
      const v6 = join(dir, 'v6.pcap');
      writeFileSync(v4, trafficPcap(knownTraffic({ v6: false })));
      writeFileSync(v6, trafficPcap(knownTraffic({ v6: true })));
      const runs = [
        softflowd(dir, v4, 5, { tag: 'a' }),
        softflowd(dir, v4, 9, { tag: 'b', sampling: 2 }),
        softflowd(dir, v4, 10, { tag: 'c' }),
        softflowd(dir, v6, 9, { tag: 'd', v6: true }),
        softflowd(dir, v6, 10, { tag: 'e', v6: true }),
      ];
      const out: Buffer[] = [];
      for (const run of runs) out.push(...(await captureExport(run)).datagrams);
      out.push(
        ...(await captureExport(pmacctSfprobe(dir, v4, { source: '127.0.0.1', sampling: 1, tag: 'f' }))).datagrams,
      );
      return out;
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  })();
  return real;
}
