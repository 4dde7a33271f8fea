// The model lives in @ft/sdk so plugins and core share one definition; core adds what plugins never see.
export * from '@ft/sdk';
export * from './plan.js';
export * from './rpki.js';
export * from './detection.js';
export * from './incident.js';
