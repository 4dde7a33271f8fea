import { definePlugin } from '@ft/sdk';

// BGP adapter: GoBGP over gRPC.
export default definePlugin(() => {
  // Registers nothing yet: its issue fills this in.
});
