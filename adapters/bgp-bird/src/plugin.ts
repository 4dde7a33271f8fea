import { definePlugin } from '@ft/sdk';

// BGP adapter: BIRD 2 (generated config + birdc).
export default definePlugin(() => {
  // Registers nothing yet: its issue fills this in.
});
