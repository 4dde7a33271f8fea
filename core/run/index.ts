export * from './runner.js';
export * from './actions.js';
export * from './signals.js';
export * from './collateral.js';
export * from './control.js';
export * from './daemon.js';
