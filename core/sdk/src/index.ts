export * from './prefix.js';
export * from './units.js';
export * from './vectors.js';
export * from './model.js';
export * from './rule-id.js';
export * from './secret.js';
export * from './contract.js';
