import type { Operation } from "./model.js";

/**
 * The pending and open operations whose instrument the config no longer declares, by instrument:
 * opsguard cannot price, supervise or close them without the instrument's precisions and limits.
 */
export function operationsOnUndeclaredInstruments(
  live: readonly Pick<Operation, "id" | "instrument">[],
  declared: { has(name: string): boolean },
): Map<string, string[]> {
  const found = new Map<string, string[]>();
  for (const op of live) {
    if (declared.has(op.instrument)) continue;
    const ids = found.get(op.instrument);
    if (ids) ids.push(op.id);
    else found.set(op.instrument, [op.id]);
  }
  return found;
}

/** One line saying which operations are stranded and what to do, or undefined when none is. */
export function describeUndeclared(found: ReadonlyMap<string, readonly string[]>): string | undefined {
  if (found.size === 0) return undefined;
  const each = [...found].map(([instrument, ids]) => {
    const shown = ids.slice(0, 3).join(", ") + (ids.length > 3 ? ", …" : "");
    return `${instrument} (${ids.length} operation${ids.length === 1 ? "" : "s"}: ${shown})`;
  });
  return (
    `operations are still pending or open on instruments the config no longer declares: ${each.join("; ")}. ` +
    "Put the instruments back under `instruments`, close those operations, then remove them"
  );
}
