// The pcap detector's options: defaults, errors, and what `ft run` does with them (validated once in the policy,
// then again when the detector is created from the already-validated section).
import { expect } from 'chai';
import { pcapConfigSchema } from '../src/config.js';
import { captureSettings } from '../src/detector.js';
import { mirrorConfigSchema } from '../../detector-mirror/src/config.js';

describe('pcap and mirror detector options', () => {
  const full = {
    interfaces: ['eth0', 'eth1'],
    netns: 'lab',
    ring: { packets: 1000, seconds: '1m', protect: ['203.0.113.0/24', '2001:db8:100::/48'] },
    incident: { packets: 5000, bytes: '20MB', duration: '2m' },
    quota: '2GiB',
    retention: '7d',
    learnDelay: '30s',
  };

  it('defaults to the reference: a 500-packet ring, 10,000-packet incident captures, 256-byte snaplen', () => {
    const c = pcapConfigSchema.parse({ interfaces: ['eth0'] });
    expect(c).to.deep.include({ mode: 'auto', snaplen: 256, quota: 1_000_000_000, retention: 30 * 86_400 });
    expect(c.ring).to.deep.equal({ packets: 500, seconds: 30, files: 2, protect: [] });
    expect(c.incident).to.deep.equal({ packets: 10_000, bytes: 50_000_000, duration: 120 });
    const s = captureSettings(c, '/var/lib/ft');
    expect(s.dir).to.equal('/var/lib/ft/pcap');
    expect(s.ring.filter).to.equal(undefined);
  });

  it('options validated twice are the same options (ft run re-validates the policy section)', () => {
    const once = pcapConfigSchema.parse(full);
    expect(pcapConfigSchema.parse(once)).to.deep.equal(once);
    expect(captureSettings(once, '/s').ring.filter).to.equal('dst net 203.0.113.0/24 or dst net 2001:db8:100::/48');
    const m = mirrorConfigSchema.parse({ interface: 'span0', protect: ['203.0.113.0/24'] });
    expect(mirrorConfigSchema.parse(m)).to.deep.equal(m);
  });

  it('refuses what cannot work, naming the option', () => {
    const issues = (v: unknown) =>
      (pcapConfigSchema.safeParse(v).error?.issues ?? []).map((i) => `${i.path.join('.')}: ${i.message}`);
    expect(issues({ interfaces: [] })[0]).to.match(/^interfaces: /);
    expect(issues({ interfaces: ['eth0; rm -rf /'] })[0]).to.match(/^interfaces\.0: an interface name/);
    expect(issues({ interfaces: ['eth0', 'eth0'] })).to.deep.equal(['interfaces: an interface is listed twice']);
    expect(issues({ interfaces: ['eth0'], quota: '1Gb' })[0]).to.match(/^quota: "1Gb" is not a size/);
    expect(issues({ interfaces: ['eth0'], ring: { filter: 'udp', protect: ['203.0.113.0/24'] } })).to.deep.equal([
      'ring: give ring.filter or ring.protect, not both',
    ]);
    expect(issues({ interfaces: ['eth0'], typo: 1 })[0]).to.match(/typo/);
  });
});
