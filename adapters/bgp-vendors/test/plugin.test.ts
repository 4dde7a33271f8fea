import { expect } from 'chai';
import { collect } from '@ft/sdk';
import plugin from '../src/plugin.js';

describe('bgp-vendors plugin registration', () => {
  it('declares each vendor kind with reach network and only the rule kinds its API can express', () => {
    const reg = collect(plugin);
    const kinds = Object.fromEntries(
      reg.actions.map((a) => [a.kind, { reach: a.reach, caps: [...a.capabilities].sort() }]),
    );
    expect(kinds['bgp-webhook']).to.deep.equal({ reach: 'network', caps: ['divert', 'flowspec', 'rtbh'] });
    expect(kinds['cloudflare-magic-transit']).to.deep.equal({ reach: 'network', caps: ['divert'] });
    expect(kinds['radware']).to.deep.equal({ reach: 'network', caps: ['divert'] });
    expect(kinds['f5-silverline']).to.deep.equal({ reach: 'network', caps: ['divert'] });
    expect(kinds['f5-bigip']).to.deep.equal({ reach: 'network', caps: ['host-filter'] });
    for (const a of reg.actions) expect(a.reach).to.equal('network');
  });
});
