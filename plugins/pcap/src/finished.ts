import { CaptureStore, captureDir, type FinishedCapture } from './capture/store.js';

/**
 * The finished capture file of incident `id`, for whatever sends it on (the agent API's `POST /pcap` upload):
 * undefined while the incident is still being captured, or when nothing was captured for it. `dir` is the pcap
 * detector's `dir`, or the state directory's pcap/ by default.
 */
export function finishedCapture(
  id: string,
  o: { stateDir: string; dir?: string },
): Promise<FinishedCapture | undefined> {
  return new CaptureStore(o.dir ?? captureDir(o.stateDir)).finished(id);
}
