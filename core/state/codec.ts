// Moved to @ft/sdk (the event schemas there revive rules and incidents too); kept so core's imports stay put.
export { reviveIncident, reviveRule } from '@ft/sdk';
