// Mocha global setup: every test run starts from a build of the current sources, however mocha is started
// (`npm test`, `npx mocha`, an editor). Tests import other workspaces' built output (`@ft/sdk` resolves to
// core/sdk/dist) and run the built CLI (bin/run.js → dist/), so without this a change in another package's src/
// would be invisible until someone rebuilt. The build is incremental (scripts/build.mjs): with nothing changed it
// takes a fraction of a second. A compile error stops the run before any test.
import { build } from '../../scripts/build.mjs';

export function mochaGlobalSetup() {
  build();
}
