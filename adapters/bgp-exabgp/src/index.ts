export { default as plugin } from './plugin.js';
export { exabgpConfigSchema, type ExabgpConfig } from './config.js';
export { renderRule, renderFlowSpec, renderRtbh, type RenderOptions } from './render.js';
export { parseRib, parseRibLine, parseNeighborSummary } from './rib.js';
