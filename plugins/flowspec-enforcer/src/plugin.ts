import { definePlugin } from '@ft/sdk';

// The enforcer is neither a detector nor an action: it runs on an edge node as `ft enforcer run` (see
// src/commands) and mirrors the FlowSpec routes the local gobgpd received into nftables.
export default definePlugin(() => {});
