export * from './tag.js';
export * from './validate.js';
