// Delivery to remote services, shared by alert channels and export sinks: one queue per destination, its rate
// limit and the service's Retry-After, retry classes, backoff with jitter, coalescing of waiting items; and the
// disk spool that holds an export sink's backlog through a long outage, bounded, dropping oldest.
export * from './rate.js';
export * from './queue.js';
export * from './spool.js';
