export { default as plugin } from './plugin.js';
export { detectManagers, managerInCharge, type ManagerReport } from './managers/detect.js';
export { FT_ROUTE_PROTO } from './nullroute/action.js';
export { FT_BPFFS_SOURCE } from './xdp/action.js';
export { HostRuleError, HostCommandError } from './common/errors.js';
