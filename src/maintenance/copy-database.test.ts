import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Database from "better-sqlite3";
import { afterEach, describe, expect, it } from "vitest";
import { openDatabase } from "../platform/db.js";
import { copyDatabase } from "./database-checks.js";

describe("the database copy of a backup", () => {
  let dir: string;
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it("is the committed state at its start, while another connection keeps committing between its steps", async () => {
    dir = mkdtempSync(join(tmpdir(), "opsguard-copy-"));
    const source = join(dir, "opsguard.db");
    const db = openDatabase({ path: source, autoCheckpoint: false });
    db.exec("CREATE TABLE filler (id INTEGER PRIMARY KEY, blob BLOB)");
    const insert = db.prepare("INSERT INTO filler (blob) VALUES (randomblob(4000))");
    // About 24 MiB: six steps of the copy at least.
    db.transaction(() => {
      for (let i = 0; i < 6000; i++) insert.run();
    })();

    // The copy takes its snapshot before its first await; then the service goes on writing, one
    // commit per turn of the event loop, until the copy is done.
    const destination = join(dir, "copy.db");
    let done = false;
    const copying = copyDatabase(source, destination, "run-1", Date.now()).finally(() => (done = true));
    let writes = 0;
    const writer = (async () => {
      while (!done) {
        insert.run();
        writes++;
        await new Promise((resolve) => setImmediate(resolve));
      }
    })();
    const copied = await copying;
    await writer;
    db.close();

    expect(writes).toBeGreaterThan(5); // commits really landed between its steps
    expect(copied.quickCheck).toBe("ok");
    const copy = new Database(destination, { readonly: true });
    try {
      expect(copy.prepare("SELECT COUNT(*) FROM filler").pluck().get()).toBe(6000);
      expect(copy.pragma("journal_mode", { simple: true })).toBe("delete");
    } finally {
      copy.close();
    }
  });
});
