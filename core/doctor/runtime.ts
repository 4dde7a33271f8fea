import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { CheckResult, DoctorCheck } from './types.js';

/** bin/node-floor.js (plain JS, so that bin/run.js can use it on an old Node): the floor and its fix text. */
interface FloorModule {
  nodeFloor(root: string): number;
  floorMessage(version: string, floor: number): string;
}

/** The verdict on one Node runtime: ok at or above the floor, fail below it with the fix. Pure, for tests. */
export function nodeRuntimeResult(version: string, execPath: string, floor: number, fix: string): CheckResult {
  const where = execPath.includes('/node_modules/') ? `the checkout's own runtime ${execPath}` : execPath;
  const major = Number(version.replace(/^v/, '').split('.')[0]);
  if (major >= floor)
    return { id: 'runtime.node', status: 'ok', summary: `Node.js ${version} (${where}); ft needs ${floor} or newer` };
  return {
    id: 'runtime.node',
    status: 'fail',
    summary: `Node.js ${version} (${where}) is older than ${floor}, the oldest Node ft runs on`,
    hint: fix,
  };
}

/** The Node that runs ft (and that `ft service install` writes into the units). */
export const runtimeCheck: DoctorCheck = {
  group: 'runtime',
  async run(options) {
    if (!options.root) return [{ id: 'runtime.node', status: 'skip', summary: "ft's root directory is unknown" }];
    const floorModule = (await import(pathToFileURL(join(options.root, 'bin', 'node-floor.js')).href)) as FloorModule;
    const floor = floorModule.nodeFloor(options.root);
    return [
      nodeRuntimeResult(process.version, process.execPath, floor, floorModule.floorMessage(process.version, floor)),
    ];
  },
};
