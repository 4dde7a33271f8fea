import { definePlugin } from '@ft/sdk';

// BGP adapter: FRR (RTBH via vtysh).
export default definePlugin(() => {
  // Registers nothing yet: its issue fills this in.
});
