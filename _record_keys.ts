// The keys of calls whose one argument is a flat plain object (scalar fields,
// see isJsonScalar), found by its field values: a repeat builds no text and
// hashes none, where writing a key (JSON.stringify of a sorted copy) and looking
// that new string up cost about 300 ns on Node 24.
import { isJsonScalar, isPlainFieldName } from "./_json_scalar.ts";

// Objects of more fields, and more field orders than this, take the general path.
const FIELDS_MAX = 8;
const SHAPES_MAX = 8;

interface Shape {
  // The field names, in Object.keys order.
  readonly fields: readonly string[];
  // Field value -> the node of the next field's values; the last field's value -> the key.
  readonly root: Map<unknown, unknown>;
}

/** Keys of flat object arguments, by their values (at most `max` kept; all forgotten when full). */
export class RecordKeys {
  readonly #max: number;
  #shapes: Shape[] = [];
  #count = 0;

  constructor(max: number) {
    this.#max = max;
  }

  /**
   * The key of `arg`: kept, or `make`'s key of a copy of `arg`'s fields (each read once). Undefined when `arg` is not
   * a flat plain object with a field or more to key by, or `make` gives none.
   */
  keyOf(arg: object, make: (copy: Record<string, unknown>) => string | undefined): string | undefined {
    const proto = Object.getPrototypeOf(arg);
    if (proto !== Object.prototype && proto !== null) return undefined;
    const fields = Object.keys(arg);
    const count = fields.length;
    if (count === 0 || count > FIELDS_MAX) return undefined;
    // The values first: a nested argument, the common refusal, is told at its first object field.
    const values: unknown[] = [];
    for (let i = 0; i < count; i++) {
      const value = (arg as Record<string, unknown>)[fields[i]];
      if (!isJsonScalar(value)) return undefined;
      values.push(value);
    }
    if (Object.getOwnPropertySymbols(arg).length !== 0) return undefined;
    const shape = this.#shapeOf(fields);
    if (shape === undefined) return undefined;
    let node: Map<unknown, unknown> | undefined = shape.root;
    for (let i = 0; i < count - 1 && node !== undefined; i++) node = node.get(values[i]) as typeof node;
    const kept = node?.get(values[count - 1]) as string | undefined;
    if (kept !== undefined) return kept;
    const copy: Record<string, unknown> = {};
    for (let i = 0; i < count; i++) copy[fields[i]] = values[i];
    const key = make(copy);
    if (key !== undefined) this.#keep(fields, values, key);
    return key;
  }

  #keep(fields: readonly string[], values: readonly unknown[], key: string): void {
    if (this.#count >= this.#max) this.#forget();
    const shape = this.#shapeOf(fields);
    if (shape === undefined) return;
    let node = shape.root;
    for (let i = 0; i < values.length - 1; i++) {
      let next = node.get(values[i]) as Map<unknown, unknown> | undefined;
      if (next === undefined) node.set(values[i], next = new Map());
      node = next;
    }
    node.set(values[values.length - 1], key);
    this.#count++;
  }

  #forget(): void {
    this.#shapes = [];
    this.#count = 0;
  }

  // The shape of these fields, made when new; undefined for fields an object orders or treats its own way (leading
  // digits: index keys come first; __proto__), which the general path encodes.
  #shapeOf(fields: readonly string[]): Shape | undefined {
    for (const shape of this.#shapes) {
      const known = shape.fields;
      if (known.length !== fields.length) continue;
      let i = 0;
      while (i < fields.length && known[i] === fields[i]) i++;
      if (i === fields.length) return shape;
    }
    if (!fields.every(isPlainFieldName)) return undefined;
    if (this.#shapes.length >= SHAPES_MAX) this.#forget();
    const shape: Shape = { fields: [...fields], root: new Map() };
    this.#shapes.push(shape);
    return shape;
  }
}
