export * from './actions.js';
export * from './executor.js';
export * from './lifecycle.js';
export * from './reconcile.js';
