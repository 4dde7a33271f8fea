// Writing the policy: never over an existing file without `force` (then the old one is kept beside it), and never
// half: the text goes to a temporary file in the same directory, is flushed, and renamed over the target.
import { randomBytes } from 'node:crypto';
import { constants } from 'node:fs';
import { access, copyFile, mkdir, open, rename, rm, stat } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { SetupInputError } from './answers.js';

export interface WriteResult {
  path: string;
  /** Where the previous file was copied, when there was one. */
  backup?: string;
}

export async function exists(path: string): Promise<boolean> {
  return stat(path).then(
    () => true,
    () => false,
  );
}

/** Why `path` cannot be written, or undefined when it can (checked before anything is asked or written). */
export async function unwritableReason(path: string): Promise<string | undefined> {
  const st = await stat(path).catch(() => undefined);
  if (st?.isDirectory()) return `${path} is a directory`;
  // The nearest existing ancestor must be a writable directory (mkdir -p creates the rest).
  let dir = dirname(path);
  for (;;) {
    const d = await stat(dir).catch(() => undefined);
    if (d) {
      if (!d.isDirectory()) return `${dir} is not a directory`;
      break;
    }
    const up = dirname(dir);
    if (up === dir) break;
    dir = up;
  }
  return access(dir, constants.W_OK).then(
    () => undefined,
    (err: NodeJS.ErrnoException) => `cannot write in ${dir} (${err.code ?? err.message})`,
  );
}

const stamp = (d: Date) =>
  d
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d+Z$/, 'Z');

export async function writePolicyFile(
  path: string,
  text: string,
  options: { force: boolean; now?: Date },
): Promise<WriteResult> {
  const why = await unwritableReason(path);
  if (why) throw new SetupInputError('policy', why);
  const had = await exists(path);
  if (had && !options.force)
    throw new SetupInputError(
      'policy',
      `${path} already exists: pass --force to replace it (the old file is kept as ${basename(path)}.<time>.bak)`,
    );
  const dir = dirname(path);
  await mkdir(dir, { recursive: true });
  let backup: string | undefined;
  if (had) {
    backup = `${path}.${stamp(options.now ?? new Date())}.bak`;
    await copyFile(path, backup, constants.COPYFILE_EXCL);
  }
  const tmp = join(dir, `.${basename(path)}.${randomBytes(4).toString('hex')}.tmp`);
  try {
    const fh = await open(tmp, 'wx', 0o644);
    try {
      await fh.writeFile(text);
      await fh.sync();
    } finally {
      await fh.close();
    }
    await rename(tmp, path);
  } catch (err) {
    await rm(tmp, { force: true });
    throw new SetupInputError(
      'policy',
      `cannot write ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`,
    );
  }
  return { path, ...(backup ? { backup } : {}) };
}
