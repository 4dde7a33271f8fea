// In CI a skipped or pending test fails the run: integration tests must really run there.
const ci = process.env.CI === 'true' || process.env.CI === '1';
// SPEC=path/or/glob[,more] runs a subset (mocha merges command-line specs with these instead of replacing them).
const only = process.env.SPEC ? process.env.SPEC.split(',') : null;
module.exports = {
  spec: only ?? [
    'test/**/*.test.ts',
    'core/**/*.test.ts',
    'plugins/*/test/**/*.test.ts',
    'adapters/*/test/**/*.test.ts',
  ],
  ignore: ['**/node_modules/**', 'test/fixtures/**'],
  // Every run starts with an incremental build, so no test sees another package's stale dist/ (CONTRIBUTING.md).
  require: ['test/helpers/build-first.mjs'],
  'node-option': ['import=tsx', 'no-warnings'],
  timeout: 30000,
  'forbid-only': ci,
  'forbid-pending': ci,
  reporter: 'spec',
  exit: true,
};
