import { expect } from 'chai';
import { specsFromInstances } from '../../core/run/actions.js';

describe('per-adapter call timeouts', () => {
  it("follow the role, and outlast an adapter's own timeout so its more precise error is the one reported", () => {
    const specs = specsFromInstances([
      { name: 'pop1', adapter: 'gobgp', role: 'speaker', options: { timeoutMs: 5000 }, validated: true },
      { name: 'slow-bird', adapter: 'bird', role: 'speaker', options: { timeoutMs: 30_000 }, validated: true },
      { name: 'cf', adapter: 'cloudflare-magic-transit', role: 'scrubber', options: {}, validated: false },
      { name: 'host-nft', adapter: 'nft', role: 'node', options: {}, validated: true },
    ]);
    expect(specs.map((s) => [s.name, s.timeoutMs])).to.deep.equal([
      ['pop1', 10_000],
      ['slow-bird', 32_000],
      ['cf', 60_000],
      ['host-nft', 10_000],
    ]);
  });
});
