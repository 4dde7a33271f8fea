import { constants } from 'node:fs';
import { access, link, mkdir, readFile, stat, unlink, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';

export class StateDirError extends Error {
  constructor(
    readonly dir: string,
    reason: string,
  ) {
    super(`state directory ${dir}: ${reason}`);
    this.name = 'StateDirError';
  }
}

export class StateLockedError extends Error {
  constructor(
    readonly dir: string,
    readonly pid: number,
  ) {
    super(
      `state directory ${dir} is in use by another ft process (pid ${pid}). ` +
        `Stop it first, or give this one its own --state-dir.`,
    );
    this.name = 'StateLockedError';
  }
}

// One definition for core and plugins (the pcap plugin's `ft pcap` commands find captures under it).
export { defaultStateDir } from '@ft/sdk';

/**
 * mkdir -p without Node's `recursive: true`, which loops forever when a parent exists but refuses children with
 * ENOENT (/proc, some FUSE mounts): here that ENOENT is an error.
 */
async function makeDirs(dir: string): Promise<void> {
  try {
    await mkdir(dir, { mode: 0o700 });
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    if (e.code === 'EEXIST') return;
    const parent = dirname(dir);
    if (e.code !== 'ENOENT' || parent === dir) throw e;
    const parentExists = await stat(parent).then(
      () => true,
      () => false,
    );
    if (parentExists)
      throw Object.assign(new Error(`cannot be created in ${parent} (ENOENT)`), { code: 'ENOTCREATABLE' });
    await makeDirs(parent);
    await mkdir(dir, { mode: 0o700 }).catch((again: NodeJS.ErrnoException) => {
      if (again.code !== 'EEXIST') throw again;
    });
  }
}

/** Creates the directory if needed (0700) and checks it is a writable directory; never changes what is inside. */
export async function prepareStateDir(dir: string, options: { write: boolean }): Promise<void> {
  try {
    if (options.write) {
      await makeDirs(dir);
    }
    const st = await stat(dir);
    if (!st.isDirectory()) throw new StateDirError(dir, 'exists but is not a directory');
    await access(
      dir,
      options.write ? constants.R_OK | constants.W_OK | constants.X_OK : constants.R_OK | constants.X_OK,
    );
  } catch (err) {
    if (err instanceof StateDirError) throw err;
    const e = err as NodeJS.ErrnoException;
    const why =
      e.code === 'EACCES' || e.code === 'EPERM'
        ? `not ${options.write ? 'writable' : 'readable'} by this user (uid ${process.getuid?.() ?? '?'}); fix its ownership or pass --state-dir`
        : e.code === 'ENOENT'
          ? 'does not exist (nothing has been recorded there yet)'
          : e.code === 'ENOTCREATABLE'
            ? e.message
            : e.code === 'ENOTDIR'
              ? 'a parent of it is not a directory'
              : `${e.code ?? ''} ${e.message}`.trim();
    throw new StateDirError(dir, why);
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * One writer per state directory. The lock file holds the writer's pid; a lock left by a process that no longer
 * exists (kill -9) is taken over. Created with link(2), which fails if the name exists, so two starters cannot
 * both win.
 */
export async function lockStateDir(dir: string): Promise<() => Promise<void>> {
  const lock = join(dir, 'lock');
  const tmp = join(dir, `lock.${process.pid}.tmp`);
  await writeFile(tmp, `${process.pid}\n`, { mode: 0o600 });
  try {
    for (let attempt = 0; attempt < 3; attempt++) {
      try {
        await link(tmp, lock);
        return async () => {
          const holder = Number((await readFile(lock, 'utf8').catch(() => '')).trim());
          if (holder === process.pid) await unlink(lock).catch(() => undefined);
        };
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
        const holder = Number((await readFile(lock, 'utf8').catch(() => '')).trim());
        if (Number.isInteger(holder) && holder > 0 && alive(holder)) throw new StateLockedError(dir, holder);
        // Read it once more just before taking it over: another starter may have replaced the stale lock meanwhile.
        const again = Number((await readFile(lock, 'utf8').catch(() => '')).trim());
        if (again !== holder && Number.isInteger(again) && again > 0 && alive(again))
          throw new StateLockedError(dir, again);
        await unlink(lock).catch(() => undefined);
      }
    }
    throw new StateDirError(dir, 'could not take the lock file (another ft is starting at the same time?)');
  } finally {
    await unlink(tmp).catch(() => undefined);
  }
}

/** The pid holding the directory, if a live process does. */
export async function lockHolder(dir: string): Promise<number | undefined> {
  const holder = Number((await readFile(join(dir, 'lock'), 'utf8').catch(() => '')).trim());
  return Number.isInteger(holder) && holder > 0 && alive(holder) ? holder : undefined;
}
