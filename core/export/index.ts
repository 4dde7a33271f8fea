export * from './filter.js';
export * from './runner.js';
export * from './host.js';
export * from './traffic.js';
export * from './sample.js';
