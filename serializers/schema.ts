/**
 * A JSON serializer that validates what it reads with any Standard Schema v1
 * validator (Zod 4, Valibot 1, ArkType 2, …), and infers the cache's value type
 * from the schema.
 *
 * @example A typed cache from a schema
 * ```ts
 * import assert from "node:assert/strict";
 * import { TTLCache } from "@cachet/cachet";
 * import { SchemaSerializer, type StandardSchema } from "@cachet/cachet/schema";
 *
 * // Any Standard Schema v1 validator works; this one is hand-written.
 * const Id: StandardSchema<unknown, number> = {
 *   "~standard": {
 *     version: 1,
 *     vendor: "example",
 *     validate: (value) => typeof value === "number" ? { value } : { issues: [{ message: "Expected a number" }] },
 *   },
 * };
 * const cache = new TTLCache({ serializer: new SchemaSerializer(Id) }); // a TTLCache<number>
 * await cache.set("id", 42);
 * assert((await cache.get("id")) === 42);
 * ```
 *
 * @module
 */
import { CacheError } from "../errors.ts";
import { describe } from "../_validate.ts";
import type { CacheSerializer } from "../types.ts";
import { JsonSerializer } from "./json.ts";

// The Standard Schema v1 contract (https://standardschema.dev), spelled out as far
// as SchemaSerializer uses it, so that the public types depend on no package.
// tests/schema_types_test.ts checks it against @standard-schema/spec.

/**
 * A Standard Schema v1 validator, as Zod 4, Valibot 1 and ArkType 2 schemas are.
 *
 * @typeParam Input What the schema accepts.
 * @typeParam Output What it returns after validation (and coercion or transforms).
 */
export interface StandardSchema<Input = unknown, Output = Input> {
  /** The Standard Schema properties. */
  readonly "~standard": StandardSchemaProps<Input, Output>;
}

/**
 * The `"~standard"` property of a {@linkcode StandardSchema}.
 *
 * @typeParam Input What the schema accepts.
 * @typeParam Output What it returns after validation.
 */
export interface StandardSchemaProps<Input = unknown, Output = Input> {
  /** The version of the Standard Schema spec: 1. */
  readonly version: 1;
  /** The library that made the schema. */
  readonly vendor: string;
  /** Validates an unknown value; may be asynchronous. */
  readonly validate: (value: unknown) => StandardResult<Output> | Promise<StandardResult<Output>>;
  /** The input and output types, for type inference only. */
  readonly types?: { readonly input: Input; readonly output: Output } | undefined;
}

/**
 * What {@linkcode StandardSchemaProps.validate} returns: the output value, or issues.
 *
 * @typeParam Output The schema's output type.
 */
export type StandardResult<Output> =
  | { readonly value: Output; readonly issues?: undefined }
  | { readonly issues: ReadonlyArray<StandardIssue> };

/** One reason a value failed validation. */
export interface StandardIssue {
  /** What is wrong. */
  readonly message: string;
  /** Where, as keys from the root. */
  readonly path?: ReadonlyArray<PropertyKey | { readonly key: PropertyKey }> | undefined;
}

/**
 * The output type of a {@linkcode StandardSchema}.
 *
 * @typeParam S The schema.
 */
export type InferOutput<S extends StandardSchema> = NonNullable<S["~standard"]["types"]>["output"];

const json = new JsonSerializer<unknown>();
const MAX_LISTED_ISSUES = 5;

function formatIssues(issues: readonly StandardIssue[]): string {
  const listed = issues.slice(0, MAX_LISTED_ISSUES).map((issue) => {
    const path = issue.path?.map((segment) => String(typeof segment === "object" ? segment.key : segment)).join(".");
    return path ? `${path}: ${issue.message}` : issue.message;
  });
  const more = issues.length > MAX_LISTED_ISSUES ? `; and ${issues.length - MAX_LISTED_ISSUES} more` : "";
  return `${listed.join("; ")}${more}`;
}

function outcome<T>(result: StandardResult<T>): T {
  if (result.issues) {
    throw new CacheError(`Cached value does not match the schema: ${formatIssues(result.issues)}`, {
      cause: result.issues,
    });
  }
  return result.value;
}

/**
 * Encodes values as JSON (exactly as `JsonSerializer`) and validates what it
 * decodes with a Standard Schema v1 validator, returning the validator's
 * output: typed, and coerced or transformed where the schema says so (an ISO
 * string back to a `Date`, `"42"` to `42`). Data that no longer matches (an
 * entry written before a schema change) throws a `CacheError`, which
 * `TTLCache.get` turns into a miss.
 *
 * @typeParam S The schema; the cached type is its output type.
 *
 * @example Zod, with a date read back as a Date
 * ```ts
 * import assert from "node:assert/strict";
 * import { TTLCache } from "@cachet/cachet";
 * import { SchemaSerializer } from "@cachet/cachet/schema";
 * import { z } from "zod";
 *
 * const User = z.object({ name: z.string(), since: z.coerce.date() });
 * const cache = new TTLCache({ serializer: new SchemaSerializer(User) });
 * await cache.set("u", { name: "Ada", since: new Date(0) });
 * const user = await cache.get("u"); // { name: string; since: Date } | undefined
 * assert(user?.since instanceof Date);
 * ```
 */
export class SchemaSerializer<S extends StandardSchema> implements CacheSerializer<InferOutput<S>> {
  readonly #validate: StandardSchemaProps["validate"];

  /**
   * Creates a serializer for one schema.
   *
   * @param schema A Standard Schema v1 validator (it has a `"~standard"` property with `version: 1`).
   * @throws {TypeError} When `schema` is not a Standard Schema v1 validator.
   */
  constructor(schema: S) {
    const props = (typeof schema === "object" || typeof schema === "function") && schema !== null
      ? (schema as { "~standard"?: Partial<StandardSchemaProps> })["~standard"]
      : undefined;
    if (typeof props !== "object" || props === null || props.version !== 1 || typeof props.validate !== "function") {
      throw new TypeError(
        `Cannot create SchemaSerializer: schema must be a Standard Schema v1 validator (an object with a "~standard" property whose version is 1 and validate is a function, as in Zod 4, Valibot 1, ArkType 2): received ${
          describe(schema)
        }`,
      );
    }
    this.#validate = props.validate.bind(props);
  }

  /**
   * Encodes a value as JSON bytes, without validating it.
   *
   * @param value The value; `Date` values become ISO 8601 strings.
   * @returns UTF-8 JSON.
   * @throws {TypeError} When the value (or a nested one) has no faithful JSON form, or is cyclic.
   */
  dumps(value: InferOutput<S>): Uint8Array {
    return json.dumps(value);
  }

  /**
   * Decodes JSON bytes and validates them with the schema.
   *
   * @param data UTF-8 JSON bytes, untrusted.
   * @returns The schema's output, or a Promise of it when the validator is asynchronous.
   * @throws {CacheError} When the bytes are not JSON, or the schema rejects them (the message lists the issues, the
   * cause holds them), or the validator throws (the cause is what it threw). A Promise returned rejects likewise.
   */
  loads(data: Uint8Array): InferOutput<S> | Promise<InferOutput<S>> {
    const value = json.loads(data);
    let result: StandardResult<InferOutput<S>> | Promise<unknown>;
    try {
      result = this.#validate(value);
    } catch (cause) {
      throw new CacheError("Cannot validate cached value: the validator threw", { cause });
    }
    if (result instanceof Promise) {
      return result.then(
        (resolved) => outcome(resolved as StandardResult<InferOutput<S>>),
        (cause) => {
          throw new CacheError("Cannot validate cached value: the validator rejected", { cause });
        },
      );
    }
    return outcome(result);
  }
}
