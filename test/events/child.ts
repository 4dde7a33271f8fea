// Child processes for the crash tests: killed with SIGKILL by the test at a moment it does not choose precisely.
//
//   node --import tsx child.ts append STATE_DIR          appends forever, 8 appends in flight; prints ACK first last
//   node --import tsx child.ts subscribe STATE_DIR OUT N  fills the log to N events while a subscriber "sink"
//                                                        records every seq it is handed in OUT (fsync'd) and acks
import { closeSync, fsyncSync, openSync, writeSync } from 'node:fs';
import { EventStream, JournalEventLog, draft } from '../../core/events/index.js';

const [mode, stateDir, out, total] = process.argv.slice(2) as [string, string, string?, string?];

async function append(): Promise<void> {
  const log = await JournalEventLog.open({ dir: `${stateDir}/events` });
  let n = 0;
  const one = async (): Promise<void> => {
    for (;;) {
      const k = 1 + (n++ % 3);
      const events = await log.append(
        Array.from({ length: k }, (_, i) =>
          draft('speaker.down', { speaker: `s${i}`, status: 'down', detail: 'x'.repeat((n * 37) % 300) }),
        ),
      );
      process.stdout.write(`ACK ${events[0]?.seq} ${events[events.length - 1]?.seq}\n`);
    }
  };
  await Promise.all(Array.from({ length: 8 }, one));
}

async function subscribe(): Promise<void> {
  const stream = await EventStream.openEmbedded({ stateDir, tenant: 'example-isp' });
  const want = Number(total);
  const fd = openSync(out as string, 'a');
  await stream.subscribe(
    'sink',
    (events) => {
      for (const e of events) writeSync(fd, `${e.seq}\n`);
      fsyncSync(fd);
      process.stdout.write(`GOT ${events[events.length - 1]?.seq}\n`);
    },
    { from: 'start', batch: 7 },
  );
  process.stdout.write('READY\n');
  let last = await stream.log.lastSeq();
  while (last < want) {
    const k = Math.min(5, want - last);
    const e = await stream.append(
      Array.from({ length: k }, () => draft('detector.silent', { detector: 'proc', silentForMs: 1000 })),
    );
    last = e[e.length - 1]?.seq ?? last;
  }
  process.stdout.write(`FILLED ${last}\n`);
  const sub = stream.hub.list()[0];
  await sub?.caughtUp();
  process.stdout.write('DONE\n');
  closeSync(fd);
  await stream.close();
}

(mode === 'append' ? append() : subscribe()).catch((err: Error) => {
  process.stderr.write(`${err.stack ?? err.message}\n`);
  process.exit(1);
});
