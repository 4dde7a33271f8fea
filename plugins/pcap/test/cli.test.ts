// `ft pcap analyze` as an operator runs it: the built CLI in a child process, on good, malformed and cut files.
import { expect } from 'chai';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isolatedHome, runFt } from '../../../test/helpers/cli.js';
import { pcapOf, v4Number, type Spec } from './helpers/packets.js';

const T0 = Date.UTC(2026, 11, 7, 10, 0, 0);
const VICTIM = '203.0.113.10';

/** oclif wraps error text at 80 columns behind " ›   ": one line again. */
const unwrap = (s: string) => s.replace(/\n\s*›\s*/g, ' ').replace(/\s+/g, ' ');

describe('ft pcap analyze', function () {
  this.timeout(60_000);
  let dir = '';
  const env = isolatedHome();
  let good = '';
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'ft-pcap-cli-'));
    const specs: Spec[] = [
      // Before the attack: the client network 6 hops away.
      ...Array.from({ length: 20 }, (_, i) => ({
        time: T0 + i,
        src: `198.51.100.${1 + (i % 4)}`,
        dst: VICTIM,
        protocol: 'tcp' as const,
        ttl: 58,
        flags: 0x10,
      })),
      // The attack: Mirai SYNs claiming the same /24, 20 hops away.
      ...Array.from({ length: 200 }, (_, i) => ({
        time: T0 + 60_000 + i,
        src: `198.51.100.${100 + (i % 50)}`,
        dst: VICTIM,
        protocol: 'tcp' as const,
        dstPort: 23,
        ttl: 44,
        seq: v4Number(VICTIM),
      })),
    ];
    good = join(dir, 'attack.pcap');
    writeFileSync(good, pcapOf(specs));
    writeFileSync(join(dir, 'ioc.yaml'), 'version: 1\niocs:\n  - { id: atk-net, source: 198.51.100.96/27 }\n');
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('prints the verdicts, breakdowns and IOC matches of any capture (--json)', async () => {
    const r = await runFt(
      [
        'pcap',
        'analyze',
        good,
        '--attack-start',
        new Date(T0 + 30_000).toISOString(),
        '--target',
        VICTIM,
        '--ioc',
        join(dir, 'ioc.yaml'),
        '--json',
      ],
      env,
    );
    expect(r.code, r.stderr).to.equal(0);
    const a = JSON.parse(r.stdout);
    expect(a).to.include({ spoofing_detected: true, botnet_detected: true, source_ip_count: 50 });
    expect(a.preAttack.packets).to.equal(20);
    expect(a.attack.packets).to.equal(200);
    expect(a.signatures.map((s: { id: string }) => s.id)).to.deep.equal(['mirai-syn']);
    // 198.51.100.96/27 holds .100-.127: 28 of the 50 sources, 4 packets each.
    expect(a.ioc_matches).to.deep.equal([
      {
        ioc_id: 'atk-net',
        kind: 'cidr',
        value: 'src 198.51.100.96/27',
        count: 112,
        source: `file:${join(dir, 'ioc.yaml')}`,
      },
    ]);
    const human = await runFt(['pcap', 'analyze', good, '--attack-start', String((T0 + 30_000) / 1000)], env);
    expect(human.code, human.stderr).to.equal(0);
    expect(human.stdout)
      .to.match(/spoofing_detected: true/)
      .and.match(/mirai-syn \(botnet\): 200 packets/);
  });

  it('a malformed or cut capture is an error with its code and byte offset (exit 2), never a crash', async () => {
    const bytes = pcapOf([{ time: T0, src: '198.51.100.1', dst: VICTIM, protocol: 'udp' }]);
    const cut = join(dir, 'cut.pcap');
    writeFileSync(cut, bytes.subarray(0, bytes.length - 5));
    const r1 = await runFt(['pcap', 'analyze', cut], env);
    expect(r1.code).to.equal(2);
    expect(unwrap(r1.stderr)).to.match(
      /FT_E_PCAP_TRUNCATED: .*cut\.pcap: packet of \d+ bytes runs past the end of the file \(at byte 32\)/,
    );
    expect(r1.stderr).to.not.match(/at .*\.js:\d+/);
    const junk = join(dir, 'junk.pcap');
    const broken = Buffer.from(bytes);
    broken.writeUInt32LE(0x00ffffff, 32);
    writeFileSync(junk, broken);
    const r2 = await runFt(['pcap', 'analyze', junk, '--json'], env);
    expect(r2.code).to.not.equal(0);
    expect(unwrap(r2.stdout + r2.stderr))
      .to.match(/FT_E_PCAP_MALFORMED/)
      .and.match(/at byte 32/);
    const notCapture = join(dir, 'notes.txt');
    writeFileSync(notCapture, 'not a capture at all\n');
    const r3 = await runFt(['pcap', 'analyze', notCapture], env);
    expect(r3.code).to.equal(2);
    expect(unwrap(r3.stderr)).to.match(
      /FT_E_PCAP_UNSUPPORTED: .*not a pcap or pcapng file \(magic 0x6e6f7420\) \(at byte 0\)/,
    );
    // --partial reads a file still being written up to its last whole record.
    const r4 = await runFt(['pcap', 'analyze', cut, '--partial', '--json'], env);
    expect(r4.code, r4.stderr).to.equal(0);
    expect(JSON.parse(r4.stdout)).to.include({ frames: 0, partialTailAt: 24 });
  });
});
