// The local IOC file: its format, errors with positions, and reloads when it changes on disk.
import { expect } from 'chai';
import { mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { IocFileError, IocFileWatcher, IocMatcher, parseIocFile } from '../src/index.js';
import { waitFor } from '../../../test/helpers/wait.js';

const GOOD = `version: 1
iocs:
  - id: booter-net
    name: Known booter range
    source: [198.51.100.0/24, 2001:db8:bad::/48]
  - { id: telnet-scan, protocol: tcp, dstPort: 23 }
  - id: memcached-stats
    protocol: udp
    srcPort: 11211
    bytes: { layer: payload, offset: 8, text: "STAT " }
  - { id: ntp, protocol: udp, srcPort: "123-124", bytes: { hex: "0x17:00:03:2a", mask: "ff00ffff" } }
`;

describe('IOC file', () => {
  let dir = '';
  before(() => (dir = mkdtempSync(join(tmpdir(), 'ft-ioc-'))));
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('reads CIDRs, ports and byte patterns with offsets and masks', () => {
    const iocs = parseIocFile(GOOD, 'ioc.yaml');
    expect(iocs.map((i) => i.id)).to.deep.equal(['booter-net', 'telnet-scan', 'memcached-stats', 'ntp']);
    expect(iocs[0]!.source!.map(String)).to.deep.equal(['198.51.100.0/24', '2001:db8:bad::/48']);
    expect(iocs[2]!.bytes).to.deep.include({ layer: 'payload', offset: 8 });
    expect(iocs[2]!.bytes!.value.toString()).to.equal('STAT ');
    expect(iocs[3]!.srcPort).to.deep.equal([{ min: 123, max: 124 }]);
    expect(iocs[3]!.bytes!.value).to.deep.equal(Buffer.from([0x17, 0, 3, 0x2a]));
  });

  it('names file, line, column and path of every problem, and loads nothing from a broken file', () => {
    const bad = `version: 1
iocs:
  - { id: a, source: 198.51.100.1/24 }
  - { id: a, dstPort: 99999 }
  - { id: c }
  - { id: d, bytes: { hex: "abc" } }
`;
    let err: IocFileError | undefined;
    try {
      parseIocFile(bad, '/etc/ft/ioc.yaml');
    } catch (e) {
      err = e as IocFileError;
    }
    expect(err).to.be.instanceOf(IocFileError);
    expect(err!.code).to.equal('FT_E_IOC_INVALID');
    const lines = err!.issues.map((i) => `${i.line}:${i.path}: ${i.message}`);
    expect(lines).to.deep.include.members([
      '3:iocs[0].source: "198.51.100.1/24" is not a valid prefix: host bits are set below /24 (did you mean 198.51.100.0/24?)',
      '5:iocs[2]: an IOC needs at least one of source, destination, srcPort, dstPort, bytes',
    ]);
    expect(lines.some((l) => l.startsWith('4:iocs[1].dstPort'))).to.equal(true);
    expect(lines.some((l) => l.startsWith('4:iocs[1].id') && l.includes('already the id of iocs[0]'))).to.equal(true);
    expect(lines.some((l) => l.startsWith('6:iocs[3].bytes.hex'))).to.equal(true);
    expect(err!.message).to.include('/etc/ft/ioc.yaml:3:');
  });

  it('reloads when the file changes (also when an editor renames a new file over it), keeping the last good set on a broken edit', async () => {
    const file = join(dir, 'ioc.yaml');
    writeFileSync(file, GOOD);
    const matcher = new IocMatcher();
    const w = new IocFileWatcher(file, matcher);
    await w.start();
    try {
      expect(matcher.size).to.equal(4);
      writeFileSync(file, 'version: 1\niocs:\n  - { id: only, dstPort: 1 }\n');
      await waitFor(() => matcher.size === 1, { what: 'reload after a write' });
      writeFileSync(
        join(dir, 'ioc.yaml.new'),
        'version: 1\niocs:\n  - { id: x, dstPort: 1 }\n  - { id: y, dstPort: 2 }\n',
      );
      renameSync(join(dir, 'ioc.yaml.new'), file);
      await waitFor(() => matcher.size === 2, { what: 'reload after a rename over the file' });
      writeFileSync(file, 'version: 1\niocs:\n  - { id: broken }\n');
      await waitFor(() => w.state.error !== undefined, { what: 'the broken edit reported' });
      expect(matcher.size).to.equal(2);
      expect(w.state.error)
        .to.match(/an IOC needs at least one of/)
        .and.match(/still using the 2 IOC/);
      expect(matcher.sources()).to.deep.equal([{ source: `file:${file}`, iocs: 2 }]);
    } finally {
      w.stop();
    }
  });
});
