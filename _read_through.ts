// The read-through settings shared by TTLCache (its defaults), getOrSet() and
// cached(), checked by one function so all three word their errors alike.
import { checkBoolean, checkFinite, checkGrace } from "./_validate.ts";
import type { ReadThroughOptions } from "./ttl_cache_options.ts";

/** The names of the read-through options, for the option lists that include them. */
export const READ_THROUGH_NAMES: { readonly [K in keyof Required<ReadThroughOptions>]: true } = Object.freeze({
  grace: true,
  failOpen: true,
  timeout: true,
  hardTimeout: true,
  staleWhileRevalidate: true,
  earlyRefresh: true,
});

/** The read-through options, checked, with defaults filled in. */
export interface ReadThroughSettings {
  readonly grace: number;
  readonly failOpen: boolean;
  readonly timeout: number | undefined;
  readonly hardTimeout: number | undefined;
  readonly staleWhileRevalidate: boolean;
  readonly earlyRefresh: number;
}

/** Checks the read-through options; those left undefined come from `defaults`. */
export function checkReadThrough(
  context: string,
  options: ReadThroughOptions,
  defaults: ReadThroughSettings | undefined,
  maxTtl: number,
): ReadThroughSettings {
  const { grace, failOpen, timeout, hardTimeout, staleWhileRevalidate, earlyRefresh } = options;
  checkBoolean(context, "failOpen", failOpen);
  checkBoolean(context, "staleWhileRevalidate", staleWhileRevalidate);
  const settings: ReadThroughSettings = {
    grace: grace === undefined ? defaults?.grace ?? 0 : checkGrace(context, "grace", grace, maxTtl),
    failOpen: failOpen ?? defaults?.failOpen ?? true,
    timeout: timeout === undefined ? defaults?.timeout : checkFinite(context, "timeout", timeout, "milliseconds"),
    hardTimeout: hardTimeout === undefined
      ? defaults?.hardTimeout
      : checkFinite(context, "hardTimeout", hardTimeout, "milliseconds"),
    staleWhileRevalidate: staleWhileRevalidate ?? defaults?.staleWhileRevalidate ?? false,
    earlyRefresh: earlyRefresh === undefined
      ? defaults?.earlyRefresh ?? 0
      : checkFinite(context, "earlyRefresh", earlyRefresh, "a factor", 0, true),
  };
  if (settings.timeout !== undefined && settings.hardTimeout !== undefined && settings.hardTimeout < settings.timeout) {
    throw new RangeError(
      `${context}: hardTimeout must be >= timeout (${settings.timeout} ms): received ${settings.hardTimeout}`,
    );
  }
  return settings;
}
