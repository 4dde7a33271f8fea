export * from './store.js';
export * from './journal.js';
export * from './journal-store.js';
export * from './state-dir.js';
export * from './codec.js';
