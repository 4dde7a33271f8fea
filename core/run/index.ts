export * from './runner.js';
export * from './actions.js';
export * from './signals.js';
