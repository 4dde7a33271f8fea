import { definePlugin } from '@ft/sdk';

// BGP adapter: ExaBGP process API.
export default definePlugin(() => {
  // Registers nothing yet: its issue fills this in.
});
