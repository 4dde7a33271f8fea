// Alerts: the event stream → one message per state change → one delivery queue per channel (docs/alerts.md).
export * from './message.js';
export * from './routes.js';
export * from './status.js';
export * from './channel.js';
export * from './host.js';
export * from './sample.js';
export * from './thread.js';
