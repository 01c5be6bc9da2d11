import { rmSync } from "node:fs";
import { join } from "node:path";
import Database from "better-sqlite3";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { tempDir } from "../../tests/harness.js";
import { openDatabase } from "./db.js";
import { MIGRATIONS } from "./migrations.js";

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
    const old = new Database(path);
    old.pragma("journal_mode = WAL");
    MIGRATIONS.slice(0, before).forEach((migration, index) => {
      old.transaction(() => {
        if (typeof migration === "string") old.exec(migration);
        else migration(old);
        old.pragma(`user_version = ${index + 1}`);
      })();
    });
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
