import { definePlugin } from '@ft/sdk';

// Mirrors the FlowSpec routes a Linux edge received into nftables.
export default definePlugin(() => {
  // Registers nothing yet: its issue fills this in.
});
