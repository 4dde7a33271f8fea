import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

/**
 * What this instance itself changed at a vendor whose objects cannot carry a label (Magic Transit advertisements):
 * list() reports only these, so reconcile never withdraws something an operator did by hand, and a withdraw never
 * undoes a state ft found already in place.
 */
export class OwnershipFile<T extends { nativeId: string }> {
  readonly #file: string;
  #items: Map<string, T> | undefined;

  constructor(stateDir: string, name: string) {
    this.#file = join(stateDir, `${name}.json`);
    this.stateDir = stateDir;
  }
  readonly stateDir: string;

  async all(): Promise<Map<string, T>> {
    if (this.#items) return this.#items;
    try {
      this.#items = new Map((JSON.parse(await readFile(this.#file, 'utf8')) as T[]).map((i) => [i.nativeId, i]));
    } catch {
      this.#items = new Map();
    }
    return this.#items;
  }

  async get(nativeId: string): Promise<T | undefined> {
    return (await this.all()).get(nativeId);
  }

  async put(item: T): Promise<void> {
    (await this.all()).set(item.nativeId, item);
    await this.#save();
  }

  async delete(nativeId: string): Promise<void> {
    if ((await this.all()).delete(nativeId)) await this.#save();
  }

  async #save(): Promise<void> {
    await mkdir(this.stateDir, { recursive: true });
    const tmp = `${this.#file}.tmp`;
    await writeFile(tmp, JSON.stringify([...(this.#items ?? new Map()).values()]), { mode: 0o600 });
    await rename(tmp, this.#file);
  }
}
