// How a TTLCache names what it stores in a backend: user keys, namespaces and
// the records behind tags and namespaces. User keys of the root cache are
// stored as they are, except that a leading NUL is doubled; everything cachet
// adds starts with a NUL and another character, so no user key can name it.
import { type KnownRecord, knownRecords } from "./_envelope.ts";
import { PrefixedKeys } from "./_prefixed_keys.ts";

const NUL = "\0";
const NAMESPACE = "\0n";
const TAG_RECORD = "\0t";
const NAMESPACE_RECORD = "\0g";
const NONE: readonly string[] = [];
// Backend keys remembered per namespace, as make_key.ts keeps the keys of one-argument calls: a cached function's
// hot keys repeat (see PrefixedKeys).
const KEYS_MAX = 256;

/** A namespace: where its keys live and the records whose tokens its entries carry. */
export interface Scope {
  /** `"users/admins"`, or `""` for the cache itself. */
  readonly path: string;
  readonly prefix: string;
  /** The namespace records of this scope and its parents, outermost first. */
  readonly records: readonly string[];
  /** The records with their bytes, so reading an entry's header names them without decoding text. */
  readonly known: readonly KnownRecord[];
  /** The backend keys of recent keys (a namespace's only). */
  readonly keys?: PrefixedKeys;
}

/** The cache itself. */
export const ROOT: Scope = { path: "", prefix: "", records: NONE, known: [] };

/** The scope of namespace `name` inside `parent` (a checked, non-empty name). */
export function childScope(parent: Scope, name: string): Scope {
  const segment = `${name.length}:${name}`;
  const encoded = parent.prefix === "" ? segment : `${parent.prefix.slice(NAMESPACE.length, -1)}${segment}`;
  const records = [...parent.records, NAMESPACE_RECORD + encoded];
  const prefix = `${NAMESPACE}${encoded}|`;
  return {
    path: parent.path === "" ? name : `${parent.path}/${name}`,
    prefix,
    records,
    known: knownRecords(records),
    keys: new PrefixedKeys(prefix, KEYS_MAX),
  };
}

/** The backend key of a user key in `scope`. */
export function backendKey(scope: Scope, key: string): string {
  const keys = scope.keys;
  if (keys === undefined) return key.charCodeAt(0) === 0 ? NUL + key : key;
  return keys.of(key);
}

/** backendKey() of each of `keys`: `keys` itself when every key is its own backend key (no array made). */
export function backendKeys(scope: Scope, keys: readonly string[]): readonly string[] {
  if (scope.keys === undefined) {
    let i = 0;
    while (i < keys.length && keys[i].charCodeAt(0) !== 0) i++;
    if (i === keys.length) return keys;
  }
  return keys.map((key) => backendKey(scope, key));
}

/** The record behind a tag. */
export function tagRecord(tag: string): string {
  return TAG_RECORD + tag;
}

/** The records an entry of `scope` with `tags` carries (tags unique, after the scope's). */
export function recordsOf(scope: Scope, tags: readonly string[]): readonly string[] {
  if (tags.length === 0) return scope.records;
  return [...scope.records, ...new Set(tags.map(tagRecord))];
}

/** The key and namespace path a backend key was made from (see backendKey and childScope). */
export function userKeyOf(bk: string): { key: string; namespace: string } {
  if (!bk.startsWith(NAMESPACE)) return { key: bk.charCodeAt(0) === 0 ? bk.slice(1) : bk, namespace: "" };
  const path: string[] = [];
  let at = NAMESPACE.length;
  while (bk[at] !== "|") {
    const colon = bk.indexOf(":", at);
    const length = Number(bk.slice(at, colon));
    path.push(bk.slice(colon + 1, colon + 1 + length));
    at = colon + 1 + length;
  }
  return { key: bk.slice(at + 1), namespace: path.join("/") };
}
