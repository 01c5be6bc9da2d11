import { createHash } from "node:crypto";
import { closeSync, copyFileSync, openSync, rmSync, writeFileSync, writeSync } from "node:fs";
import { join } from "node:path";
import Database from "better-sqlite3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { tempDir } from "../../tests/harness.js";
import { ManualClock } from "../platform/clock.js";
import { fixtureContext, TODAY, writeFixtureApp } from "./app-root.fixture.js";
import { CHECKS, type CheckId } from "./catalog.js";
import { runChecks, type CheckContext } from "./run-checks.js";

const PAGE_SIZE = 4096;

/** `length` bytes that look random, the same at every run. */
function noise(length: number, seed = "opsguard"): Buffer {
  const blocks: Buffer[] = [];
  for (let block = createHash("sha256").update(seed).digest(); blocks.length * 32 < length;) {
    blocks.push(block);
    block = createHash("sha256").update(block).digest();
  }
  return Buffer.concat(blocks).subarray(0, length);
}

/** A database of a few dozen pages, with a parent and a child table, closed cleanly (no WAL). */
function writeDatabase(path: string, orphan = false): void {
  const db = new Database(path);
  try {
    db.pragma(`page_size = ${PAGE_SIZE}`);
    db.pragma("journal_mode = DELETE");
    // better-sqlite3 enforces foreign keys; an orphan is what a damaged or hand-edited file has.
    db.pragma(`foreign_keys = ${orphan ? "OFF" : "ON"}`);
    db.exec(`CREATE TABLE accounts (id INTEGER PRIMARY KEY, name TEXT NOT NULL);
      CREATE TABLE entries (id INTEGER PRIMARY KEY, account INTEGER NOT NULL REFERENCES accounts(id), memo TEXT);
      CREATE INDEX entries_account ON entries(account);`);
    const account = db.prepare("INSERT INTO accounts (id, name) VALUES (?, ?)");
    const entry = db.prepare("INSERT INTO entries (account, memo) VALUES (?, ?)");
    db.transaction(() => {
      for (let i = 1; i <= 10; i++) account.run(i, `account ${i}`);
      for (let i = 0; i < 600; i++) entry.run((i % 10) + 1, `entry ${i} `.padEnd(120, "x"));
      if (orphan) entry.run(99, "an entry of an account that does not exist");
    })();
  } finally {
    db.close();
  }
}

describe("the database checks (OG-DB-001, OG-DB-002)", () => {
  let dir: string;
  let appRoot: string;
  let original: string;
  beforeAll(() => {
    dir = tempDir("opsguard-db-checks-");
    appRoot = writeFixtureApp(join(dir, "app"));
    original = join(dir, "original.db");
    writeDatabase(original);
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const check = (databasePath: string) =>
    runChecks(fixtureContext({ dataDir: dir, appRoot, databasePath }), ["OG-DB-001", "OG-DB-002"]);

  it("passes a sound database", async () => {
    const [quick, thorough] = await check(original);
    expect(quick).toMatchObject({ status: "ok", evidence: [`${original}: quick_check ok`] });
    expect(thorough).toMatchObject({
      status: "ok",
      evidence: [`${original}: integrity_check ok, foreign_key_check ok`],
    });
  });

  it("finds garbage written into a page of a copy, without throwing", async () => {
    const copy = join(dir, "damaged.db");
    copyFileSync(original, copy);
    const fd = openSync(copy, "r+");
    try {
      writeSync(fd, noise(PAGE_SIZE), 0, PAGE_SIZE, PAGE_SIZE * 2);
    } finally {
      closeSync(fd);
    }
    const [quick, thorough] = await check(copy);
    for (const result of [quick!, thorough!]) {
      expect(result.status, JSON.stringify(result)).toBe("critical");
      expect(result.evidence.length).toBeGreaterThan(0);
      expect(result.recommendation).toMatch(/opsguard backup restore/);
    }
    expect(thorough!.evidence.join("\n")).toMatch(/integrity_check: |SQLITE_CORRUPT/);
  });

  it("finds a file that is not a database at all (SQLITE_NOTADB) critical, not a crash", async () => {
    const garbage = join(dir, "garbage.db");
    writeFileSync(garbage, noise(PAGE_SIZE * 4, "garbage"));
    const [quick, thorough] = await check(garbage);
    for (const result of [quick!, thorough!])
      expect(result).toMatchObject({
        status: "critical",
        evidence: [`${garbage}: SQLITE_NOTADB: file is not a database`],
      });
  });

  it("finds rows whose parent is missing with foreign_key_check, which quick_check does not look at", async () => {
    const orphaned = join(dir, "orphaned.db");
    writeDatabase(orphaned, true);
    const [quick, thorough] = await check(orphaned);
    expect(quick!.status).toBe("ok");
    expect(thorough).toMatchObject({
      status: "critical",
      evidence: ["foreign_key_check: entries rowid 601 → accounts"],
    });
  });

  it("is unavailable before the database exists", async () => {
    const missing = join(dir, "missing.db");
    const results = await runChecks(fixtureContext({ dataDir: dir, appRoot, databasePath: missing }), [
      "OG-DB-001",
      "OG-DB-003",
    ]);
    expect(results.map((r) => [r.id, r.status, r.reason])).toEqual([
      ["OG-DB-001", "unavailable", `${missing} does not exist yet`],
      ["OG-DB-003", "unavailable", `${missing} does not exist yet`],
    ]);
  });
});

describe("OG-DB-003", () => {
  it("names the entry that breaks the audit chain and how many before it are sound", async () => {
    const dir = tempDir("opsguard-chain-");
    try {
      const databasePath = join(dir, "opsguard.db");
      writeDatabase(databasePath);
      const context = fixtureContext({
        dataDir: dir,
        appRoot: dir,
        databasePath,
        sources: {
          auditChain: () =>
            Promise.resolve({
              ok: false,
              verifiedEntries: 6,
              brokenAt: 7,
              reason: "hash does not match the entry's contents",
              verifiedAt: TODAY,
            }),
        },
      });
      expect((await runChecks(context, ["OG-DB-003"]))[0]).toMatchObject({
        status: "critical",
        evidence: [
          "entry 7 breaks the chain: hash does not match the entry's contents",
          "entries 1 to 6 are sound",
        ],
      });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("OG-DEP-003, the Node.js runtime", () => {
  const check = async (nodeVersion: string, now = TODAY) => {
    const context = fixtureContext({
      dataDir: "/nonexistent",
      appRoot: "/nonexistent",
      nodeVersion,
      clock: new ManualClock(now),
    });
    return (await runChecks(context, ["OG-DEP-003"]))[0]!;
  };

  it("is critical on Node 20 past its end of life", async () => {
    expect(await check("20.20.0")).toMatchObject({
      status: "critical",
      evidence: [expect.stringContaining("node 20.20.0: Node.js 20 reached end of life on 2026-04-30")],
    });
  });

  it("is critical on a release that lacks the security release of 2026-03-24", async () => {
    expect(await check("24.14.0")).toMatchObject({
      status: "critical",
      evidence: ["node 24.14.0 lacks the security release of 2026-03-24: upgrade to 24.14.1 or later"],
    });
    expect((await check("22.22.1")).evidence).toEqual([
      "node 22.22.1 lacks the security release of 2026-03-24: upgrade to 22.22.2 or later",
    ]);
  });

  it.each(["24.14.1", "24.15.0", "22.22.2", "24.22.3"])("passes %s", async (version) => {
    expect(await check(version)).toMatchObject({
      status: "ok",
      evidence: [`node ${version}: a supported line, with every security release opsguard knows of`],
    });
  });

  it("warns of a line newer than opsguard knows", async () => {
    expect((await check("26.1.0")).status).toBe("warning");
  });
});

describe("runChecks", () => {
  let dir: string;
  let context: CheckContext;
  beforeAll(() => {
    dir = tempDir("opsguard-run-checks-");
    context = fixtureContext({ dataDir: dir, appRoot: writeFixtureApp(join(dir, "app")) });
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("runs every check of the catalog, in its order, each with its title, time and duration", async () => {
    const results = await runChecks(context);
    expect(results.map((r) => r.id)).toEqual(CHECKS.map((c) => c.id));
    expect(results).toHaveLength(18);
    for (const result of results) {
      expect(result.title).toBe(CHECKS.find((c) => c.id === result.id)!.title);
      expect(result.checkedAt).toBe(TODAY);
      expect(result.durationMs).toBeGreaterThanOrEqual(0);
    }
  });

  it("runs only the checks asked for, still in catalog order", async () => {
    const ids: CheckId[] = ["OG-PROC-001", "OG-INT-001"];
    expect((await runChecks(context, ids)).map((r) => r.id)).toEqual(["OG-INT-001", "OG-PROC-001"]);
  });

  it("makes a check that throws unavailable with the error, and runs the others", async () => {
    const broken: CheckContext = {
      ...context,
      tokens: () => {
        throw new Error("database is locked");
      },
    };
    const results = await runChecks(broken, ["OG-CFG-002", "OG-CFG-003", "OG-PROC-001"]);
    expect(results.map((r) => [r.id, r.status])).toEqual([
      ["OG-PROC-001", "ok"],
      ["OG-CFG-002", "ok"],
      ["OG-CFG-003", "unavailable"],
    ]);
    expect(results[2]!.reason).toBe("the check failed to run: database is locked");
  });

  it("tells the caller which check it starts, with its place in the run", async () => {
    const seen: string[] = [];
    await runChecks(context, ["OG-CFG-001", "OG-CFG-002"], (id, index, count) =>
      seen.push(`${id} ${index + 1}/${count}`),
    );
    expect(seen).toEqual(["OG-CFG-001 1/2", "OG-CFG-002 2/2"]);
  });
});
