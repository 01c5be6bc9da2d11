/** Adds a Markdown table (a header row and its rows) to what is being written. */
export type Table = (header: string[], rows: string[][]) => void;

/** Milliseconds, with two decimals under 10 and one above. */
export const ms = (value: number): string => `${value.toFixed(value < 10 ? 2 : 1)} ms`;

/** A share as a percentage with one decimal. */
export const pct = (value: number): string => `${(value * 100).toFixed(1)}%`;

/** A number with its sign, + included. */
export const signed = (value: number): string => (value > 0 ? `+${value}` : `${value}`);

/** Bytes in MB (MiB), with one decimal under 10 MB. */
export const mib = (bytes: number): string =>
  `${(bytes / 1024 / 1024).toFixed(bytes < 10 * 1024 * 1024 ? 1 : 0)} MB`;
