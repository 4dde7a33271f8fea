// RPKI for ft: an RTR client (RFC 8210/6810), RFC 6811 origin validation, and the check before announcements.
export {
  VrpTable,
  VrpConflictError,
  formatVrp,
  vrpKey,
  type Vrp,
  type VrpDelta,
  type VrpChange,
  type Validation,
  type OriginState,
} from './vrp-table.js';
export { loadVrpFile, readVrpFile, parseVrpJson, parseAsn, VrpFileError, type VrpFile } from './vrp-file.js';
export { createVerdictProvider, type Verdict, type VerdictSource } from './verdict.js';
export {
  RtrClient,
  parseCacheAddress,
  type RtrClientOptions,
  type RpkiSnapshot,
  type RpkiUpdate,
  type CacheStatus,
  type LastKnown,
  type RtrCacheConfig,
  type RtrError,
} from './client.js';
export { announcementCheckFor, recheck, type AnnouncementContext, type RecheckFinding } from './recheck.js';
export { compareSerial, serialIsNewer, addSerial } from './serial.js';
export * as rtrPdu from './pdu.js';
export { FrameReader } from './framing.js';
export { cachesFromPolicyFile } from './cache-config.js';
