import { definePlugin } from '@ft/sdk';

// Detector: HTTP floods from web-server access logs.
export default definePlugin(() => {
  // Registers nothing yet: its issue fills this in.
});
