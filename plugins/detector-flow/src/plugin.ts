import { definePlugin } from '@ft/sdk';

// Detector: sFlow v5, NetFlow v5/v9 and IPFIX collector.
export default definePlugin(() => {
  // Registers nothing yet: its issue fills this in.
});
