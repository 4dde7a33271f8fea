import { expect } from 'chai';
import { collect } from '@ft/sdk';
import plugin from '../src/plugin.js';

describe('scrubbers plugin registration', () => {
  it('declares each vendor kind with reach network and only the rule kinds its API can express', () => {
    const reg = collect(plugin);
    const kinds = Object.fromEntries(
      reg.actions.map((a) => [a.kind, { reach: a.reach, caps: [...a.capabilities].sort() }]),
    );
    expect(kinds['scrub-webhook']).to.deep.equal({ reach: 'network', caps: ['divert', 'host-filter'] });
    expect(kinds['cloudflare-waf']).to.deep.equal({ reach: 'network', caps: ['host-filter'] });
    expect(kinds['ovh-vac']).to.deep.equal({ reach: 'network', caps: ['divert'] });
    expect(kinds['hetzner']).to.deep.equal({ reach: 'network', caps: ['host-filter'] });
    expect(kinds['linode']).to.deep.equal({ reach: 'network', caps: ['host-filter'] });
    expect(kinds['digitalocean']).to.deep.equal({ reach: 'network', caps: [] });
    expect(kinds['vultr']).to.deep.equal({ reach: 'network', caps: [] });
    expect(kinds['aws-shield']).to.deep.equal({ reach: 'network', caps: ['host-filter'] });
    for (const a of reg.actions) expect(a.reach).to.equal('network');
  });
});
