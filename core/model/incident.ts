// Core's incident model lives in @ft/sdk beside the event codecs that convert it; core imports it from here.
export { fromReport, isReport, parseSources, toReport, type Incident } from '@ft/sdk';
