// The coherence scenario's judgement: which reads served a superseded value.
//
// The writer runs one operation at a time, so its operations are totally
// ordered; a set stores its own op number, so a value names the write that
// made it. A value v of key k is superseded by every later operation covering
// k (a set, a delete, a deleteTags of k's tag, a clear of k's namespace),
// whether its call succeeded, failed or timed out (a failed or timed-out call
// is owed: treated as applied). A superseding operation is due `bound` ms
// after its call returned or failed; when it returned during a fault, or
// `bound` ms before one, it is due `bound` ms after the fault healed. A read
// that starts at t and serves v is a violation when an operation superseding
// v was due before t, unless t itself falls in a fault or the `bound` ms after
// it heals (while Redis is frozen or the bus down, a process cannot hear of a
// write). A miss is never a violation: it serves no value.
import { type Layout, namespaced, OP_KINDS, type Read, type Write } from "./_coherence_protocol.ts";

/** A fault window: from `start` until it healed (server answering again; for an instant fault, start = heal). */
export interface Fault {
  readonly name: string;
  readonly start: number;
  readonly heal: number;
}

/** A read that served a superseded value. */
export interface Violation {
  readonly process: number;
  readonly key: number;
  readonly value: number;
  /** Start of the latest offending read (of its run of reads of this value). */
  readonly at: number;
  /** The superseding write that was due first. */
  readonly by: Write;
  readonly due: number;
  /** The phase the read falls in: the last fault that started before it, or "before the faults". */
  readonly phase: string;
}

export interface Judgement {
  readonly violations: Violation[];
  /** Reads judged (outside the exempt windows), by phase. */
  readonly judged: Map<string, number>;
  /**
   * By phase, the read that served a superseded value the longest after the write superseding it returned or failed
   * (or, for a write due after a fault, after the heal), outside the faults themselves; within the bound, it is no
   * violation.
   */
  readonly latest: Map<string, Violation>;
  /** Values no set of that key ever wrote (a corrupted or crossed value). */
  readonly impossible: { process: number; key: number; value: number; at: number }[];
}

export const BEFORE = "before the faults";

/** The keys an operation covers. */
export function covered(write: Write, layout: Layout): number[] {
  const kind = OP_KINDS[write[1]];
  const all = Array.from({ length: layout.keys }, (_, key) => key);
  if (kind === "set" || kind === "delete") return [write[2]];
  if (kind === "deleteTags") return all.filter((key) => key % layout.tags === write[2]);
  return all.filter((key) => namespaced(key, layout) && key % layout.namespaces === write[2]);
}

/** Judges every process' reads against the writer's log. */
export function judge(
  layout: Layout,
  writes: readonly Write[],
  reads: readonly (readonly Read[])[],
  faults: readonly Fault[],
  bound: number,
): Judgement {
  const dueOf = (end: number) => {
    for (const fault of faults) if (end >= fault.start - bound && end <= fault.heal) return fault.heal + bound;
    return end + bound;
  };
  const exempt = (t: number) => faults.some((fault) => t >= fault.start && t <= fault.heal + bound);
  const inFault = (t: number) => faults.some((fault) => t >= fault.start && t <= fault.heal);
  const phaseOf = (t: number) => faults.findLast((fault) => fault.start <= t)?.name ?? BEFORE;
  // Per key, the operations covering it in order, and from each position the earliest due of those after it.
  const perKey = Array.from({ length: layout.keys }, () => ({ ops: [] as Write[], dues: [] as number[] }));
  const sets = new Map<number, Write>();
  for (const write of [...writes].sort((a, b) => a[0] - b[0])) {
    if (OP_KINDS[write[1]] === "set") sets.set(write[0], write);
    for (const key of covered(write, layout)) {
      perKey[key].ops.push(write);
      perKey[key].dues.push(dueOf(write[4]));
    }
  }
  const firstDue = perKey.map(({ dues }) => {
    const min = new Array<number>(dues.length + 1).fill(Infinity);
    for (let i = dues.length - 1; i >= 0; i--) min[i] = Math.min(dues[i], min[i + 1]);
    return min;
  });
  const position = perKey.map(({ ops }) => new Map(ops.map((write, i) => [write[0], i])));

  const violations: Violation[] = [];
  const judged = new Map<string, number>();
  const latest = new Map<string, Violation>();
  const impossible: Judgement["impossible"] = [];
  reads.forEach((runs, process) => {
    for (const [key, value, first, last, count] of runs) {
      if (!exempt(first) || !exempt(last)) {
        const phase = phaseOf(last);
        judged.set(phase, (judged.get(phase) ?? 0) + count);
      }
      if (value === null) continue;
      const set = sets.get(value);
      if (set === undefined || set[2] !== key) {
        impossible.push({ process, key, value, at: first });
        continue;
      }
      const next = position[key].get(value)! + 1;
      const due = firstDue[key][next];
      if (due === Infinity) continue;
      const { ops, dues } = perKey[key];
      let by = next;
      while (dues[by] !== due) by++;
      const served = (at: number): Violation => ({ process, key, value, at, by: ops[by], due, phase: phaseOf(at) });
      for (const t of [first, last]) {
        if (t <= due - bound || inFault(t)) continue;
        const seen = latest.get(phaseOf(t));
        if (seen === undefined || t - due > seen.at - seen.due) latest.set(phaseOf(t), served(t));
      }
      const offending = [last, first].find((t) => t > due && !exempt(t));
      if (offending !== undefined) violations.push(served(offending));
    }
  });
  return { violations, judged, latest, impossible };
}
