import { hash } from "node:crypto";
import type { Clock } from "./clock.js";
import type { Db } from "./db.js";
import { isSecretKey } from "./secrets.js";

/** `prev_hash` of the first entry. */
export const GENESIS_HASH = "0".repeat(64);

/** One entry of the audit log. */
export interface AuditEntry {
  seq: number;
  at: number;
  actor: string;
  action: string;
  target: string | null;
  details: Record<string, unknown>;
  prevHash: string;
  hash: string;
}

/** What a caller records. `details` must hold no secrets (keys that look like one are dropped). */
export interface AuditInput {
  /** Principal id or a system name such as `supervisor`. */
  actor: string;
  /** Stable dotted name, e.g. `trading.state`. */
  action: string;
  target?: string | null;
  details?: Record<string, unknown>;
}

/** What {@link AuditLog.search} selects. */
export interface AuditFilter {
  actor?: string;
  action?: string;
  from?: number;
  to?: number;
  beforeSeq?: number;
  limit: number;
}

/** Where a verification of the chain stopped: the last entry found sound, to go on from. */
export interface AuditCheckpoint {
  seq: number;
  hash: string;
}

/** The result of {@link AuditLog.verifyFrom}: the first broken entry, or how far it is sound. */
export type AuditIncrementalVerification =
  | { ok: true; entries: number; checkpoint: AuditCheckpoint }
  | { ok: false; brokenAt: number; reason: string };

/** The result of {@link AuditLog.verify}: the first broken entry, if any. */
export type AuditVerification =
  { ok: true; entries: number } | { ok: false; brokenAt: number; reason: string };

interface AuditRow {
  seq: bigint;
  at: bigint;
  actor: string;
  action: string;
  target: string | null;
  details: string;
  prev_hash: string;
  hash: string;
}

/**
 * An append-only, hash-chained audit log: each entry's hash covers the previous hash and the
 * canonical JSON of the entry, so editing or deleting any row but the last breaks the chain.
 * (Triggers forbid UPDATE and DELETE; the chain catches whoever bypasses them.)
 */
export class AuditLog {
  private readonly insert;
  private readonly tail;
  private readonly page;
  private readonly all;
  private readonly after;
  private readonly at;
  private readonly appendInTransaction;

  constructor(
    private readonly db: Db,
    private readonly clock: Clock,
  ) {
    this.insert = db.prepare<[bigint, number, string, string, string | null, string, string, string]>(
      "INSERT INTO audit_log (seq, at, actor, action, target, details, prev_hash, hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
    );
    this.tail = db.prepare<[], Pick<AuditRow, "seq" | "hash">>(
      "SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1",
    );
    this.page = db.prepare<[number, number], AuditRow>(
      "SELECT * FROM audit_log WHERE seq > ? ORDER BY seq LIMIT ?",
    );
    this.all = db.prepare<[], AuditRow>("SELECT * FROM audit_log ORDER BY seq");
    this.after = db.prepare<[number], AuditRow>("SELECT * FROM audit_log WHERE seq > ? ORDER BY seq");
    this.at = db.prepare<[number], AuditRow>("SELECT * FROM audit_log WHERE seq = ?");
    // The tail is read inside the write, not cached across calls: an outer transaction that rolls
    // back, or another process appending, would leave a cached hash pointing at a row that does
    // not exist. Reading the last row of the rowid B-tree costs one short descent.
    // Used outside a transaction only: inside one, `append` writes directly (see there).
    const transaction = db.transaction((input: AuditInput) => this.write(input));
    this.appendInTransaction = (input: AuditInput): AuditEntry => transaction.immediate(input);
  }

  /**
   * Appends an entry and returns it. Synchronous; may be called inside a caller's
   * `db.transaction`, in which case it commits or rolls back with it.
   */
  append(input: AuditInput): AuditEntry {
    // Inside a transaction a savepoint would add nothing: the write is one INSERT after a read.
    return this.db.inTransaction ? this.write(input) : this.appendInTransaction(input);
  }

  /** Entries with `seq > afterSeq` (default: from the start), oldest first, at most `limit`. */
  list({ afterSeq = 0, limit }: { afterSeq?: number; limit: number }): AuditEntry[] {
    return this.page.all(afterSeq, limit).map(toEntry);
  }

  /**
   * Verifies the entries after `checkpoint` only (all of them without one): the checkpoint entry
   * must still be what it was when it was verified, and every later one must link to the one
   * before and hash to its contents. What was verified before is trusted through the checkpoint's
   * hash, so a scheduled check stays fast at millions of entries; {@link verify} walks them all.
   */
  verifyFrom(checkpoint: AuditCheckpoint | undefined): AuditIncrementalVerification {
    let prevHash = GENESIS_HASH;
    let last: AuditCheckpoint = { seq: 0, hash: GENESIS_HASH };
    if (checkpoint && checkpoint.seq > 0) {
      const row = this.at.get(checkpoint.seq);
      if (!row) return { ok: false, brokenAt: checkpoint.seq, reason: "a verified entry is gone" };
      const broken = brokenReason(row, row.prev_hash);
      if (broken || row.hash !== checkpoint.hash) {
        return { ok: false, brokenAt: checkpoint.seq, reason: broken ?? "a verified entry was changed" };
      }
      prevHash = checkpoint.hash;
      last = checkpoint;
    }
    let entries = 0;
    for (const row of this.after.iterate(last.seq)) {
      const broken = brokenReason(row, prevHash);
      if (broken) return { ok: false, brokenAt: Number(row.seq), reason: broken };
      prevHash = row.hash;
      last = { seq: Number(row.seq), hash: row.hash };
      entries += 1;
    }
    return { ok: true, entries, checkpoint: last };
  }

  /** Walks the whole chain and reports the first entry whose link or hash does not match. */
  verify(): AuditVerification {
    const result = this.verifyFrom(undefined);
    return result.ok ? { ok: true, entries: result.entries } : result;
  }

  /**
   * Entries matching every filter given, newest first: `beforeSeq` pages (the `seq` of the last
   * entry of the previous page), `from` and `to` are ms since the epoch, `to` excluded.
   */
  search(filter: AuditFilter): AuditEntry[] {
    const where: string[] = [];
    const params: (string | number)[] = [];
    const add = (clause: string, value: string | number | undefined): void => {
      if (value === undefined) return;
      where.push(clause);
      params.push(value);
    };
    add("actor = ?", filter.actor);
    add("action = ?", filter.action);
    add("at >= ?", filter.from);
    add("at < ?", filter.to);
    add("seq < ?", filter.beforeSeq);
    const sql = `SELECT * FROM audit_log ${where.length > 0 ? `WHERE ${where.join(" AND ")}` : ""} ORDER BY seq DESC LIMIT ?`;
    return (this.db.prepare(sql).all(...params, filter.limit) as AuditRow[]).map(toEntry);
  }

  private write({ actor, action, target = null, details = {} }: AuditInput): AuditEntry {
    const last = this.tail.get();
    const seq = (last?.seq ?? 0n) + 1n;
    const detailsJson = canonicalJson(withoutSecrets(details));
    const fields = { seq: Number(seq), at: this.clock.now(), actor, action, target };
    const prevHash = last?.hash ?? GENESIS_HASH;
    const entryHash = hashEntry(prevHash, fields, detailsJson);
    this.insert.run(seq, fields.at, actor, action, target, detailsJson, prevHash, entryHash);
    // Details as they are stored and read back, so the entry is what `list` returns later.
    const stored = JSON.parse(detailsJson) as Record<string, unknown>;
    return { ...fields, details: stored, prevHash, hash: entryHash };
  }
}

/** Why `row` breaks the chain after an entry whose hash is `prevHash`, or undefined when it does not. */
function brokenReason(row: AuditRow, prevHash: string): string | undefined {
  let entry: AuditEntry;
  try {
    entry = toEntry(row);
  } catch {
    return "details are not valid JSON";
  }
  if (entry.prevHash !== prevHash) return "prev_hash does not match the previous entry's hash";
  if (hashEntry(entry.prevHash, entry, canonicalJson(entry.details)) !== entry.hash) {
    return "hash does not match the entry's contents";
  }
  return undefined;
}

function toEntry(row: AuditRow): AuditEntry {
  return {
    seq: Number(row.seq),
    at: Number(row.at),
    actor: row.actor,
    action: row.action,
    target: row.target,
    details: JSON.parse(row.details) as Record<string, unknown>,
    prevHash: row.prev_hash,
    hash: row.hash,
  };
}

/**
 * sha256(prev_hash + canonical JSON of {seq, at, actor, action, target, details}), hex. The JSON
 * is assembled here, its keys in sorted order, around `detailsJson` (already canonical), so the
 * details are serialized once: the same text {@link canonicalJson} makes of the whole entry.
 */
export function hashEntry(
  prevHash: string,
  { seq, at, actor, action, target }: Pick<AuditEntry, "seq" | "at" | "actor" | "action" | "target">,
  detailsJson: string,
): string {
  const json = JSON.stringify;
  const entry = `{"action":${json(action)},"actor":${json(actor)},"at":${json(at)},"details":${detailsJson},"seq":${json(seq)},"target":${json(target)}}`;
  return hash("sha256", prevHash + entry, "hex");
}

/**
 * JSON with object keys sorted at every depth, so equal values always hash alike. Values JSON
 * cannot hold become what `JSON.stringify` makes of them, except bigint, which becomes a string.
 */
export function canonicalJson(value: unknown): string {
  return canonical(value) as string;
}

function canonical(value: unknown): string | undefined {
  if (typeof value === "bigint") return `"${value}"`;
  if (value === null || typeof value !== "object") return JSON.stringify(value);
  const withJson = value as { toJSON?: () => unknown };
  if (typeof withJson.toJSON === "function") return canonical(withJson.toJSON());
  // Array.from visits holes too, which JSON writes as null.
  if (Array.isArray(value)) return `[${Array.from(value, (item) => canonical(item) ?? "null").join(",")}]`;
  const source = value as Record<string, unknown>;
  const members: string[] = [];
  for (const key of sortedKeys(source)) {
    const member = canonical(source[key]);
    if (member !== undefined) members.push(`${JSON.stringify(key)}:${member}`);
  }
  return `{${members.join(",")}}`;
}

/**
 * The keys in the order the definition writes them (sorted, then built into a new object): an
 * object lists integer-like keys first, in numeric order, as `Object.keys` already returns them,
 * and the other keys after them, here sorted.
 */
function sortedKeys(source: Record<string, unknown>): string[] {
  const keys = Object.keys(source);
  let integers = 0;
  while (integers < keys.length && INTEGER_KEY.test(keys[integers]!) && Number(keys[integers]) < 2 ** 32 - 1)
    integers += 1;
  return integers === 0 ? keys.sort() : [...keys.slice(0, integers), ...keys.slice(integers).sort()];
}

const INTEGER_KEY = /^(?:0|[1-9]\d*)$/;

function withoutSecrets(value: unknown): Record<string, unknown> {
  const strip = (v: unknown, depth: number): unknown => {
    // Dates and the like serialise through toJSON; leave them whole.
    if (v === null || typeof v !== "object" || typeof (v as { toJSON?: unknown }).toJSON === "function")
      return v;
    // Past this depth nothing is checked, so nothing is kept.
    if (depth > 8) return "[too deep]";
    if (Array.isArray(v)) return v.map((item) => strip(item, depth + 1));
    return Object.fromEntries(
      Object.entries(v as Record<string, unknown>)
        // Dropped at any depth, in case a caller passes a secret by mistake.
        .filter(([key]) => !isSecretKey(key))
        .map(([key, item]) => [key, strip(item, depth + 1)]),
    );
  };
  return strip(value, 0) as Record<string, unknown>;
}
