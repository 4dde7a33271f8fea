import { definePlugin } from '@ft/sdk';
import { iptablesFactory } from './iptables/action.js';
import { ipsetFactory } from './ipset/action.js';
import { nftFactory } from './nft/action.js';
import { nullrouteFactory } from './nullroute/action.js';
import { tcFactory } from './tc/action.js';
import { xdpFactory } from './xdp/action.js';
import { csfFactory } from './managers/csf.js';
import { firewalldFactory } from './managers/firewalld.js';
import { ufwFactory } from './managers/ufw.js';

// On-node actions: one kind per mechanism, each confined to ft's own objects on the box (or in `netns`).
export default definePlugin((ft) => {
  ft.action(iptablesFactory);
  ft.action(ipsetFactory);
  ft.action(nftFactory);
  ft.action(tcFactory);
  ft.action(nullrouteFactory);
  ft.action(xdpFactory);
  ft.action(ufwFactory);
  ft.action(firewalldFactory);
  ft.action(csfFactory);
});
