export { plan, type PlanInput } from './plan.js';
export { rpkiNoData, rpkiSkipped } from './rpki.js';
export { prefixRails, ruleRails, protectedBy, type Rail } from './rails.js';
export { flowspecMatch, vectorsOf } from './match.js';
export { evaluate, describeTrigger, overrideFor, holdingLevels } from './triggers.js';
export { createRenderers, type Renderers, type RenderContext } from './render.js';
export { parseIncident, parseSimulate, parseActiveRules, InputError } from './input.js';
export { formatPlan, refusalDigest } from './format.js';
