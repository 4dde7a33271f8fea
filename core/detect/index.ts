// The detection engine: per-target traffic view, baselines, thresholds, classification and incident lifecycle.
export * from './engine.js';
export * from './baseline.js';
export * from './classify.js';
export * from './incident.js';
export * from './percentile.js';
export * from './reading.js';
export * from './thresholds.js';
export * from './synthetic.js';
export * from './render.js';
