export { default as plugin } from './plugin.js';
export { l7ConfigSchema, type L7Config, type L7ConfigInput } from './config.js';
export { FORMAT_NAMES, detectFormat, parserFor, type FormatName, type FormatSpec } from './formats.js';
export type { HttpRecord, SkipReason } from './record.js';
