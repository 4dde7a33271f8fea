export { loadPolicy, parsePolicy, allInstances } from './load.js';
export { PolicyError, formatIssue, formatIssues, formatPath, type PolicyIssue } from './errors.js';
export { policySchema, policyJsonSchema } from './schema.js';
export { BLACKHOLE_COMMUNITY } from './build.js';
export { explainPolicy } from './explain.js';
export type * from './types.js';
