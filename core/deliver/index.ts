// Delivery to remote services, shared by alert channels and export sinks: one queue per destination, its rate
// limit and the service's Retry-After, retry classes, backoff with jitter, coalescing of waiting items.
export * from './rate.js';
export * from './queue.js';
