import { definePlugin } from '@ft/sdk';

// Detector: per-interface and protocol counters from /proc (no root needed).
export default definePlugin(() => {
  // Registers nothing yet: its issue fills this in.
});
