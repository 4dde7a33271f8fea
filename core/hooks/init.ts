import type { Hook } from '@oclif/core';
import { shareHostModules } from '../plugin-host/shared-modules.js';

/** oclif's init hook (before any command or plugin hook runs): third-party plugins get ft's @ft/sdk and zod. */
const hook: Hook.Init = async function () {
  if (this.config.getPluginsList().some((p) => p.type === 'user' || p.type === 'link')) shareHostModules();
};

export default hook;
