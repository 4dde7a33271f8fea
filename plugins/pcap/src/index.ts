export { default as plugin, pcapDetector } from './plugin.js';
export * from './format/read.js';
export * from './format/write.js';
export * from './format/packet.js';
export * from './analyze/analyze.js';
export * from './analyze/spoofing.js';
export * from './analyze/signatures.js';
export * from './ioc/matcher.js';
export * from './ioc/file.js';
export { IocFileWatcher } from './ioc/watch.js';
export {
  captureDir,
  CaptureStore,
  type CaptureRecord,
  type CaptureState,
  type FinishedCapture,
} from './capture/store.js';
export { finishedCapture } from './finished.js';
export { SupervisedChild, KeptRunning, reapStale, hasPdeathsig, type ChildOptions } from './capture/supervise.js';
export { captureBlocker } from './capture/privilege.js';
export { pcapConfigSchema, prefixText, type PcapConfig, type PcapConfigInput } from './config.js';
