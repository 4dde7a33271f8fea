export { default as plugin } from './plugin.js';
export { gobgpConfigSchema, type GobgpConfig } from './config.js';
export { GobgpAction, renderPath, nativeId } from './action.js';
export {
  GobgpClient,
  parseAddress,
  type GobgpClientOptions,
  type ListedPath,
  type PeerInfo,
  type PeerEvent,
  type RawPath,
} from './client.js';
export { loadGobgpApi, DEFAULT_PROTO_DIR, GobgpProtoError } from './proto.js';
export {
  renderFlowSpec,
  renderRtbh,
  FAMILIES,
  type FamilyName,
  type PathJson,
  type AnyJson,
  type RenderedPath,
} from './render.js';
export {
  decodeFlowSpec,
  decodeActions,
  taggedRuleId,
  communities,
  nextHop,
  largeCommunities,
  ComponentDecodeError,
  type DecodedFlowSpec,
} from './decode.js';
export { tagFor, ruleIdFromTag, FT_MARKER } from './tag.js';
