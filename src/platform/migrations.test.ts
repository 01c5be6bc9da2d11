import { rmSync } from "node:fs";
import { join } from "node:path";
import Database from "better-sqlite3";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { tempDir } from "../../tests/harness.js";
import { AuditLog } from "./audit.js";
import { ManualClock } from "./clock.js";
import { openDatabase, type Db } from "./db.js";
import { MIGRATIONS } from "./migrations.js";

/** A database at `path` with the first `count` migrations applied, as an older release left it. */
function databaseAtVersion(path: string, count: number): Db {
  const old = new Database(path);
  old.pragma("journal_mode = WAL");
  old.defaultSafeIntegers(true);
  MIGRATIONS.slice(0, count).forEach((migration, index) => {
    old.transaction(() => {
      if (typeof migration === "string") old.exec(migration);
      else migration(old);
      old.pragma(`user_version = ${index + 1}`);
    })();
  });
  return old;
}

/** The index of the migration whose SQL contains `text`. */
function migrationWith(text: string): number {
  const index = MIGRATIONS.findIndex((m) => typeof m === "string" && m.includes(text));
  if (index < 0) throw new Error(`no migration contains ${text}`);
  return index;
}

/** The index of the migration that creates `table`. */
function migrationCreating(table: string): number {
  const index = MIGRATIONS.findIndex((m) => typeof m === "string" && m.includes(`CREATE TABLE ${table} `));
  if (index < 0) throw new Error(`no migration creates ${table}`);
  return index;
}

describe("migrations", () => {
  let dir: string;
  beforeEach(() => {
    dir = tempDir();
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it("bring a database of the version before system_samples up to date, keeping its rows", () => {
    const path = join(dir, "opsguard.db");
    const before = migrationCreating("system_samples");
    // A database as the release before the system report left it.
    const old = databaseAtVersion(path, before);
    old
      .prepare("INSERT INTO api_tokens (id, name, role, secret_hash, created_at) VALUES (?, ?, ?, ?, ?)")
      .run("tok_1", "ci", "viewer", "hash", 1);
    old.close();

    const db = openDatabase({ path });
    try {
      expect(Number(db.pragma("user_version", { simple: true }))).toBe(MIGRATIONS.length);
      expect(db.prepare("SELECT name FROM api_tokens").all()).toEqual([{ name: "ci" }]);
      const columns = (db.pragma("table_info(system_samples)") as { name: string }[]).map((c) => c.name);
      expect(columns).toEqual(expect.arrayContaining(["at", "interval_ms", "wal_bytes", "open_operations"]));
      const indexes = (db.pragma("index_list(system_samples)") as { name: string }[]).map((i) => i.name);
      expect(indexes).toContain("system_samples_at");
    } finally {
      db.close();
    }
    // Opening it again applies nothing twice.
    const again = openDatabase({ path });
    expect(Number(again.pragma("user_version", { simple: true }))).toBe(MIGRATIONS.length);
    again.close();
  });

  it("rebuild the audit log without AUTOINCREMENT, keeping every entry, its chain and its guards", () => {
    const path = join(dir, "opsguard.db");
    const clock = new ManualClock(Date.UTC(2026, 11, 1));
    const old = databaseAtVersion(path, migrationWith("audit_log_rebuilt"));
    const oldAudit = new AuditLog(old, clock);
    for (let i = 0; i < 3; i++) {
      oldAudit.append({ actor: "tok_1", action: "operation.submit", target: `op-${i}`, details: { i } });
      clock.advance(1_000);
    }
    oldAudit.append({ actor: "admin", action: "trading.state", target: "halted", details: {} });
    const rows = old.prepare("SELECT * FROM audit_log ORDER BY seq").all();
    expect(old.prepare("SELECT name FROM sqlite_sequence").pluck().all()).toContain("audit_log");
    old.close();

    const db = openDatabase({ path });
    try {
      expect(db.prepare("SELECT * FROM audit_log ORDER BY seq").all()).toEqual(rows);
      const audit = new AuditLog(db, clock);
      expect(audit.verify()).toEqual({ ok: true, entries: 4 });
      expect(audit.append({ actor: "admin", action: "operation.close" }).seq).toBe(5);
      expect(audit.verify()).toEqual({ ok: true, entries: 5 });
      // Still append-only, and still indexed for the report's trading states.
      expect(() => db.prepare("UPDATE audit_log SET actor = 'x' WHERE seq = 1").run()).toThrow(
        "audit_log is append-only",
      );
      expect(() => db.prepare("DELETE FROM audit_log WHERE seq = 1").run()).toThrow(
        "audit_log is append-only",
      );
      const indexes = (db.pragma("index_list(audit_log)") as { name: string }[]).map((i) => i.name);
      expect(indexes).toContain("audit_log_trading_state");
      // A new entry no longer writes sqlite_sequence; events keep their AUTOINCREMENT.
      expect(db.prepare("SELECT name FROM sqlite_sequence").pluck().all()).not.toContain("audit_log");
      const tableSql = db.prepare("SELECT sql FROM sqlite_schema WHERE name = ?").pluck();
      expect(tableSql.get("audit_log")).not.toContain("AUTOINCREMENT");
      expect(tableSql.get("events")).toContain("AUTOINCREMENT");
      expect(tableSql.get("events_at")).toBeUndefined();
      expect(db.pragma("integrity_check", { simple: true })).toBe("ok");
    } finally {
      db.close();
    }
  });

  it("create the whole schema on a new database", () => {
    const db = openDatabase({ path: ":memory:" });
    try {
      const tables = (
        db.prepare("SELECT name FROM sqlite_schema WHERE type = 'table'").all() as { name: string }[]
      ).map((t) => t.name);
      expect(tables).toEqual(expect.arrayContaining(["operations", "audit_log", "system_samples"]));
    } finally {
      db.close();
    }
  });
});
