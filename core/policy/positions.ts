import {
  isMap,
  isPair,
  isScalar,
  isSeq,
  type Document,
  type LineCounter,
  type Node,
  type Pair,
  type YAMLMap,
} from 'yaml';

export interface Position {
  line: number;
  column: number;
}

/**
 * Finds where a path points in the YAML source. For a key the document lacks, it points at the closest parent
 * that exists (the map a required key is missing from). `atKey` points at the key instead of its value (for
 * unknown keys).
 */
export function positionOf(doc: Document, counter: LineCounter, path: readonly PropertyKey[], atKey = false): Position {
  let node: unknown = doc.contents;
  let best: unknown = node;
  for (let i = 0; i < path.length; i++) {
    const seg = path[i];
    const last = i === path.length - 1;
    if (isMap(node)) {
      const pair = pairsOf(node).get(String(seg));
      if (!pair) break;
      if (last && atKey) {
        best = pair.key;
        break;
      }
      node = pair.value ?? pair.key;
      best = node;
    } else if (isSeq(node) && typeof seg === 'number') {
      const item = node.items[seg];
      if (item === undefined) break;
      node = item;
      best = node;
    } else break;
  }
  const range = (best as Node | null)?.range;
  if (!range) return { line: 0, column: 0 };
  const pos = counter.linePos(range[0]);
  return { line: pos.line, column: pos.col };
}

/**
 * Each map's pairs by key, built once per map: a policy with 50,000 unknown keys has 50,000 issues to place, and a
 * scan of the map per issue made placing them quadratic.
 */
const pairIndex = new WeakMap<YAMLMap, Map<string, Pair>>();
function pairsOf(map: YAMLMap): Map<string, Pair> {
  let index = pairIndex.get(map);
  if (!index) {
    index = new Map();
    for (const p of map.items) {
      const k = isPair(p) ? keyText(p.key) : undefined;
      if (k !== undefined && !index.has(k)) index.set(k, p);
    }
    pairIndex.set(map, index);
  }
  return index;
}

function keyText(key: unknown): string | undefined {
  if (isScalar(key)) return String(key.value);
  return undefined;
}
