export { default as plugin } from './plugin.js';
export { FlowSpecEnforcer, type EnforcerOptions, type EnforcerState } from './enforcer.js';
export {
  tableScript,
  routeRules,
  matchExpressions,
  orderRoutes,
  deleteTableScript,
  type FlowRoute,
  type Skipped,
} from './nft.js';
