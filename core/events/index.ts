// The event schemas and their codec live in @ft/sdk (plugins consume events too); the log machinery is here.
export {
  EVENT_DEFS,
  EVENT_TYPES,
  EventDecodeError,
  decodeEvent,
  decodeTrusted,
  encodeEvent,
  incidentFromJson,
  incidentJsonSchema,
  incidentToJson,
  isEventType,
  wireEventSchema,
  type EventData,
  type EventEnvelope,
  type EventOf,
  type EventType,
  type FtEvent,
  type IncidentJson,
  type WireEvent,
  type WireEventData,
} from '@ft/sdk';
export * from './log.js';
export * from './journal-log.js';
export * from './redis-log.js';
export * from './cursors.js';
export * from './hub.js';
export * from './stream.js';
export * from './consumer.js';
export * from './facts.js';
export * from './audit.js';
export * from './incidents.js';
export * from './read.js';
export * from './format.js';
export * from './run-events.js';
export * from './watch.js';
