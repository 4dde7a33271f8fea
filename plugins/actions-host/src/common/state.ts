import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

/**
 * Which rule asked for which kernel object, for mechanisms whose objects cannot carry ft's tag (routes, tc
 * classes, XDP map entries, firewalld rich rules). The kernel stays the truth for what exists; this file only
 * names the rule, and decides whether an object shared by two rules may go. Written atomically (rename).
 */
export class OwnerFile {
  private readonly path: string;
  constructor(dir: string, name: string) {
    this.path = join(dir, `${name}.json`);
  }

  async read(): Promise<Record<string, string[]>> {
    try {
      const parsed = JSON.parse(await readFile(this.path, 'utf8')) as unknown;
      return typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed)
        ? (parsed as Record<string, string[]>)
        : {};
    } catch {
      return {};
    }
  }

  async write(owners: Record<string, string[]>): Promise<void> {
    await mkdir(join(this.path, '..'), { recursive: true });
    const tmp = `${this.path}.${process.pid}.tmp`;
    await writeFile(tmp, `${JSON.stringify(owners, null, 1)}\n`);
    await rename(tmp, this.path);
  }

  async set(ruleId: string, objects: string[]): Promise<void> {
    const o = await this.read();
    o[ruleId] = objects;
    await this.write(o);
  }

  async remove(ruleId: string): Promise<void> {
    const o = await this.read();
    delete o[ruleId];
    await this.write(o);
  }

  /** The rule that recorded `object`, if any. */
  static ownerOf(owners: Record<string, string[]>, object: string): string | undefined {
    return Object.keys(owners).find((k) => owners[k]?.includes(object));
  }
}
