// Applies one rule through a host action and then dies by SIGKILL, as a crashed ft would: no withdraw, no close.
// argv: <kind> <config json> <rule json>
import plugin from '../../plugins/actions-host/src/plugin.js';
import { collect } from '@ft/sdk';
import { ctx } from './lab.js';

const [kind, config, rule] = process.argv.slice(2) as [string, string, string];
const factory = collect(plugin).actions.find((a) => a.kind === kind);
if (!factory) throw new Error(`no kind ${kind}`);
const action = await factory.create(JSON.parse(config), ctx('crash'));
await action.apply(JSON.parse(rule));
process.stdout.write('applied\n');
process.kill(process.pid, 'SIGKILL');
