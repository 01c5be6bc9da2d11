import type { LogLine } from "./log-line.js";

/**
 * What a log line is clustered by (see `TemplateMiner`): its event, its message with the fields
 * that tell one issue from another, and the codes it must share with a template.
 */

/**
 * Fields appended to `msg` before clustering, as ` key=value`: they tell one issue from another.
 * `exact` fields hold values from closed sets (risk and problem codes): a line joins a template only
 * with the same values. `free` fields hold error text, clustered like the message.
 */
export const TEMPLATE_FIELDS = { exact: ["code", "codes"], free: ["error", "err"] } as const;

/** Which fields {@link buildTemplateInput} appends; see {@link TEMPLATE_FIELDS}. */
export interface TemplateFields {
  exact: readonly string[];
  free: readonly string[];
}

/** One line as clustered. */
export interface TemplateInput {
  event: string;
  /** Values a line must share with a template to join it, on top of its event (e.g. its codes). @default "" */
  partition?: string;
  /** The text clustered: see {@link buildTemplateInput}. */
  text: string;
  level: string;
  timeMs: number;
}

/**
 * What a line is clustered by: `msg`, then ` key=value` for each field of `fields` present (an
 * error object gives its `message`, an array its items joined by commas), with the `exact` values
 * as the partition. `msg` alone would put every `operation failed to submit` in one template
 * whatever the executor said, and every risk rejection in one whatever its codes.
 */
export function buildTemplateInput(line: LogLine, fields: TemplateFields = TEMPLATE_FIELDS): TemplateInput {
  let text = line.msg;
  const partition: string[] = [];
  for (const key of [...fields.exact, ...fields.free]) {
    const value = describeField(line.fields[key]);
    if (value === undefined) continue;
    text += ` ${key}=${value}`;
    if (fields.exact.includes(key)) partition.push(`${key}=${value}`);
  }
  return {
    event: line.event,
    partition: partition.join("\u0000"),
    text,
    level: line.level,
    timeMs: line.timeMs,
  };
}

function describeField(value: unknown): string | undefined {
  if (value === undefined || value === null || value === "") return undefined;
  if (typeof value === "string") return value;
  if (typeof value === "number" || typeof value === "boolean") return String(value);
  if (Array.isArray(value)) return value.map((item) => describeField(item) ?? "").join(",");
  if (typeof value === "object" && typeof (value as { message?: unknown }).message === "string") {
    return (value as { message: string }).message;
  }
  return JSON.stringify(value);
}
