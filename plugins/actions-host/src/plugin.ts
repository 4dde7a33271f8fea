import { definePlugin } from '@ft/sdk';

// On-node actions: iptables, ipset, nftables, tc, null route, XDP, ufw/firewalld/CSF.
export default definePlugin(() => {
  // Registers nothing yet: its issue fills this in.
});
