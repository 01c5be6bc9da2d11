import { rmSync } from "node:fs";
import { join } from "node:path";
import Database from "better-sqlite3";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { tempDir } from "../../tests/harness.js";
import { openDatabase, type Db } from "./db.js";
import { GroupCommit } from "./group-commit.js";

let dir: string;
let db: Db;
let other: Database.Database;
let commits: GroupCommit;

beforeEach(() => {
  dir = tempDir();
  const path = join(dir, "opsguard.db");
  db = openDatabase({ path });
  db.exec("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT NOT NULL)");
  other = new Database(path, { readonly: true });
  commits = new GroupCommit(db);
});

afterEach(() => {
  other.close();
  if (db.open) db.close();
  rmSync(dir, { recursive: true, force: true });
});

const insert = (id: number, v = "x") => db.prepare("INSERT INTO t (id, v) VALUES (?, ?)").run(id, v);
const seenElsewhere = () => (other.prepare("SELECT COUNT(*) AS n FROM t").get() as { n: number }).n;
const seenHere = () => Number((db.prepare("SELECT COUNT(*) AS n FROM t").get() as { n: bigint }).n);

describe("GroupCommit", () => {
  it("commits the writes of one turn together, visible elsewhere only once durable", async () => {
    expect(commits.write(() => insert(1).changes)).toBe(1);
    commits.write(() => insert(2));
    expect(commits.pending).toBe(true);
    expect(seenHere()).toBe(2); // the writing connection reads its own rows at once
    expect(seenElsewhere()).toBe(0); // nobody else sees an uncommitted batch
    await commits.durable();
    expect(commits.pending).toBe(false);
    expect(seenElsewhere()).toBe(2);
  });

  it("undoes only the write that threw, keeping the rest of the batch", async () => {
    commits.write(() => insert(1));
    expect(() =>
      commits.write(() => {
        insert(2);
        insert(1); // primary key conflict: this savepoint rolls back, row 2 with it
      }),
    ).toThrow(/UNIQUE/);
    commits.write(() => insert(3));
    await commits.durable();
    expect(other.prepare("SELECT id FROM t ORDER BY id").pluck().all()).toEqual([1, 3]);
  });

  it("rolls back a batch whose only write threw, and commits the writes after it in a new one", async () => {
    expect(() =>
      commits.write(() => {
        insert(1);
        insert(1); // primary key conflict: the batch held nothing else, so it is gone
      }),
    ).toThrow(/UNIQUE/);
    expect(commits.pending).toBe(false);
    expect(seenHere()).toBe(0);
    await expect(commits.durable()).resolves.toBeUndefined();
    commits.write(() => insert(2));
    expect(commits.pending).toBe(true);
    await commits.durable();
    expect(other.prepare("SELECT id FROM t ORDER BY id").pluck().all()).toEqual([2]);
  });

  it("resolves durable() at once when nothing is pending", async () => {
    await expect(commits.durable()).resolves.toBeUndefined();
  });

  it("starts a new batch after a commit", async () => {
    commits.write(() => insert(1));
    await commits.durable();
    commits.write(() => insert(2));
    expect(seenElsewhere()).toBe(1);
    await commits.durable();
    expect(seenElsewhere()).toBe(2);
  });

  it("joins a caller's own transaction instead of opening a batch", () => {
    db.transaction(() => {
      commits.write(() => insert(1));
      expect(commits.pending).toBe(false);
    })();
    expect(seenElsewhere()).toBe(1);
  });

  it("rejects every waiter of a batch whose transaction was lost, tells the owner, and recovers after", async () => {
    const failures: unknown[] = [];
    commits = new GroupCommit(db, (error) => failures.push(error));
    commits.write(() => insert(1));
    const waiting = commits.durable();
    db.exec("ROLLBACK"); // as SQLite does by itself on some I/O errors
    const lost = await waiting.then(
      () => undefined,
      (error: unknown) => error,
    );
    expect(lost).toMatchObject({ code: "NOT_READY", message: expect.stringMatching(/not kept/) });
    expect((lost as Error).cause).toMatchObject({ message: expect.stringMatching(/rolled back/) });
    expect(failures).toHaveLength(1);
    expect(seenElsewhere()).toBe(0);
    commits.write(() => insert(2));
    await commits.durable();
    expect(seenElsewhere()).toBe(1);
  });

  it("tells the owner when SQLite rolled back by itself a batch whose only write threw", async () => {
    const failures: unknown[] = [];
    commits = new GroupCommit(db, (error) => failures.push(error));
    expect(() =>
      commits.write(() => {
        insert(1);
        db.exec("ROLLBACK"); // as SQLite does by itself on a full disk, before the error reaches us
        throw new Error("database or disk is full");
      }),
    ).toThrow("database or disk is full");
    expect(failures).toEqual([expect.objectContaining({ message: "database or disk is full" })]);
    expect(commits.pending).toBe(false);
    commits.write(() => insert(2));
    await commits.durable();
    expect(other.prepare("SELECT id FROM t ORDER BY id").pluck().all()).toEqual([2]);
  });

  it("commits the pending batch on demand, before the database closes", () => {
    commits.write(() => insert(1));
    commits.commit();
    db.close();
    expect(seenElsewhere()).toBe(1);
  });
});
