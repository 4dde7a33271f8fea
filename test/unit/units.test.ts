import { expect } from 'chai';
import {
  parseBitrate,
  parseByteSize,
  parseDuration,
  parsePacketRate,
  parsePercent,
  formatBitrate,
  UnitError,
} from '@ft/sdk';

describe('units', () => {
  it('parses bit rates in SI units', () => {
    expect(parseBitrate('100Mbps')).to.equal(100e6);
    expect(parseBitrate('2Gbps')).to.equal(2e9);
    expect(parseBitrate('1.5 Gbps')).to.equal(1.5e9);
    expect(parseBitrate('500kbps')).to.equal(500e3);
  });
  it('a unit typo is an error, never a zero', () => {
    for (const bad of ['100Mbs', '100MBps', '100 Mb', 'fast', '-1Mbps', '1e9bps', '']) {
      expect(() => parseBitrate(bad), bad).to.throw(UnitError);
    }
    expect(() => parsePacketRate('50kps')).to.throw(UnitError);
    expect(() => parseDuration('5 minutes')).to.throw(UnitError);
    expect(() => parsePercent('90')).to.throw(UnitError);
    expect(() => parsePercent('190%')).to.throw(UnitError);
  });
  it('parses packet rates, durations and percentages', () => {
    expect(parsePacketRate('50kpps')).to.equal(50000);
    expect(parseDuration('5m')).to.equal(300);
    expect(parseDuration('300')).to.equal(300);
    expect(parseDuration('1h')).to.equal(3600);
    expect(parsePercent('90%')).to.equal(0.9);
  });
  it('parses sizes in SI and IEC units, with a capital B only (50Mb would be megabits)', () => {
    expect(parseByteSize('50MB')).to.equal(50_000_000);
    expect(parseByteSize('512kB')).to.equal(512_000);
    expect(parseByteSize('1GiB')).to.equal(2 ** 30);
    expect(parseByteSize(4096)).to.equal(4096);
    for (const bad of ['50Mb', '50 mb', '1GB2', 'big']) expect(() => parseByteSize(bad), bad).to.throw(UnitError);
  });
  it('formats bit rates back', () => {
    expect(formatBitrate(2e9)).to.equal('2Gbps');
    expect(formatBitrate(150e6)).to.equal('150Mbps');
  });
});
