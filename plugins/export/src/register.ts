import { registerHook } from '@ft/sdk';
import plugin from './plugin.js';

// The oclif hook ft calls to learn what this plugin provides (declared in package.json under oclif.hooks).
export default registerHook(plugin);
