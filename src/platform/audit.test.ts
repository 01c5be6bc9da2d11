import { createHash } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { AuditLog, canonicalJson, GENESIS_HASH } from "./audit.js";
import { ManualClock } from "./clock.js";
import { openDatabase, type Db } from "./db.js";
import { isSecretKey } from "./secrets.js";

let db: Db;
let clock: ManualClock;
let audit: AuditLog;

beforeEach(() => {
  db = openDatabase({ path: ":memory:" });
  clock = new ManualClock();
  audit = new AuditLog(db, clock);
});

afterEach(() => db.close());

function appendMany(count: number): void {
  for (let i = 1; i <= count; i++) {
    audit.append({ actor: "tok_1", action: "operation.submit", target: `op-${i}`, details: { n: i } });
    clock.advance(1_000);
  }
}

/** Lets a test play the attacker who bypasses the append-only triggers. */
function dropTriggers(): void {
  db.exec("DROP TRIGGER audit_log_no_update; DROP TRIGGER audit_log_no_delete;");
}

describe("AuditLog.append", () => {
  it("chains each entry to the previous hash, starting from 64 zeros", () => {
    const first = audit.append({
      actor: "admin",
      action: "trading.state",
      target: "halted",
      details: { b: 1, a: [2] },
    });
    const second = audit.append({ actor: "supervisor", action: "operation.close" });
    expect(first).toMatchObject({ seq: 1, at: clock.now(), target: "halted", prevHash: GENESIS_HASH });
    expect(second).toMatchObject({ seq: 2, target: null, details: {}, prevHash: first.hash });
    // The documented formula, computed independently, so the format cannot drift silently.
    const canonical = `{"action":"trading.state","actor":"admin","at":${clock.now()},"details":{"a":[2],"b":1},"seq":1,"target":"halted"}`;
    expect(first.hash).toBe(
      createHash("sha256")
        .update(GENESIS_HASH + canonical)
        .digest("hex"),
    );
    expect(audit.verify()).toEqual({ ok: true, entries: 2 });
  });

  it("drops secret-looking keys from details at any depth", () => {
    const entry = audit.append({
      actor: "admin",
      action: "token.create",
      details: {
        role: "viewer",
        token: "og_x",
        nested: { apiSecret: "s", Password: "p", keep: true },
        list: [{ tokenId: 1, ok: 2 }],
      },
    });
    expect(entry.details).toEqual({ role: "viewer", nested: { keep: true }, list: [{ ok: 2 }] });
    expect(audit.list({ limit: 10 })[0]!.details).toEqual(entry.details);
    const stored = db.prepare("SELECT details FROM audit_log").pluck().get() as string;
    expect(stored).not.toMatch(/og_x|"s"|"p"/);
  });

  it("drops every key the logs redact: one list of secret keys for both", () => {
    const keys = ["authorization", "apiKey", "api_key", "cookie", "passphrase", "credentials", "privateKey"];
    const entry = audit.append({
      actor: "admin",
      action: "x",
      details: Object.fromEntries([...keys.map((k) => [k, "hidden"]), ["keep", 1]]),
    });
    expect(entry.details).toEqual({ keep: 1 });
    for (const key of keys) expect(isSecretKey(key)).toBe(true);
  });

  it("stores bigints and dates in a form that still verifies", () => {
    audit.append({
      actor: "a",
      action: "x",
      details: { pnl: 12345678901234567890n, when: new Date(0), missing: undefined },
    });
    expect(audit.list({ limit: 1 })[0]!.details).toEqual({
      pnl: "12345678901234567890",
      when: "1970-01-01T00:00:00.000Z",
    });
    expect(audit.verify()).toEqual({ ok: true, entries: 1 });
  });

  it("commits and rolls back with a caller's transaction without breaking the chain", () => {
    appendMany(1);
    db.transaction(() => audit.append({ actor: "a", action: "kept" }))();
    expect(() =>
      db.transaction(() => {
        audit.append({ actor: "a", action: "rolled.back" });
        throw new Error("the caller's write failed");
      })(),
    ).toThrow("the caller's write failed");
    const after = audit.append({ actor: "a", action: "after" });
    expect(audit.list({ limit: 10 }).map((e) => e.action)).toEqual(["operation.submit", "kept", "after"]);
    expect(after.seq).toBe(3);
    expect(audit.verify()).toEqual({ ok: true, entries: 3 });
  });

  it("keeps one chain when two processes append to the same file", () => {
    const dir = mkdtempSync(join(tmpdir(), "opsguard-audit-"));
    const path = join(dir, "opsguard.db");
    const a = openDatabase({ path });
    const b = openDatabase({ path });
    try {
      const logA = new AuditLog(a, clock);
      const logB = new AuditLog(b, clock);
      logA.append({ actor: "server", action: "one" });
      logB.append({ actor: "cli", action: "two" });
      logA.append({ actor: "server", action: "three" });
      expect(logB.verify()).toEqual({ ok: true, entries: 3 });
    } finally {
      a.close();
      b.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("canonicalJson and the entry hash", () => {
  /** What canonical JSON was defined as: `JSON.stringify` with keys sorted by a replacer. */
  const reference = (value: unknown): string =>
    JSON.stringify(value, (_key, v: unknown) => {
      if (typeof v === "bigint") return v.toString();
      if (v === null || typeof v !== "object" || Array.isArray(v)) return v;
      const source = v as Record<string, unknown>;
      return Object.fromEntries(
        Object.keys(source)
          .sort()
          .map((key) => [key, source[key]]),
      );
    });

  it("writes what the definition writes, for every kind of value", () => {
    const values: unknown[] = [
      { b: 1, a: { d: [3, { z: 1, y: null }], c: 'é\u2028"' } },
      { big: 12345678901234567890n, at: new Date(0), skip: undefined, fn: () => 1, n: Number.NaN },
      [undefined, () => 1, -0, 1e21, 0.1, true, "x"],
      // eslint-disable-next-line no-sparse-arrays -- holes are what is tested
      [1, , 3],
      { "10": 1, "2": 2, "-x": 3, a: 4, "01": 5, "4294967295": 6, "4294967294": 7 },
      { nested: { deeper: { deepest: { k: [[], {}] } } } },
      "plain",
      42,
      null,
    ];
    for (const value of values) expect(canonicalJson(value)).toBe(reference(value));
  });

  it("hashes an entry as sha256(prev_hash + canonical JSON of the entry), as stored chains were", () => {
    const entry = audit.append({
      actor: "tok_1",
      action: "operation.submit",
      target: "op-1",
      details: { z: [1, { b: 2, a: 1 }], a: 12n, clientId: "c-1" },
    });
    const { seq, at, actor, action, target, details } = entry;
    const expected = createHash("sha256")
      .update(GENESIS_HASH + reference({ seq, at, actor, action, target, details }))
      .digest("hex");
    expect(entry.hash).toBe(expected);
    expect(audit.list({ limit: 1 })[0]).toEqual(entry);
  });
});

describe("AuditLog.verify", () => {
  it("reports the edited entry", () => {
    appendMany(4);
    dropTriggers();
    db.prepare("UPDATE audit_log SET details = ? WHERE seq = 2").run(canonicalJson({ n: 99 }));
    expect(audit.verify()).toMatchObject({ ok: false, brokenAt: 2, reason: expect.stringContaining("hash") });
  });

  it("reports the next entry when the edited one was re-hashed to hide it", () => {
    appendMany(4);
    dropTriggers();
    const row = audit.list({ afterSeq: 1, limit: 1 })[0]!;
    const forged = { ...row, actor: "someone-else" };
    const hash = createHash("sha256")
      .update(
        row.prevHash +
          canonicalJson({
            seq: 2,
            at: row.at,
            actor: forged.actor,
            action: row.action,
            target: row.target,
            details: row.details,
          }),
      )
      .digest("hex");
    db.prepare("UPDATE audit_log SET actor = ?, hash = ? WHERE seq = 2").run(forged.actor, hash);
    expect(audit.verify()).toMatchObject({
      ok: false,
      brokenAt: 3,
      reason: expect.stringContaining("prev_hash"),
    });
  });

  it("reports a deleted entry at the one after it", () => {
    appendMany(4);
    dropTriggers();
    db.prepare("DELETE FROM audit_log WHERE seq = 2").run();
    expect(audit.verify()).toMatchObject({ ok: false, brokenAt: 3 });
  });

  it("reports details that are no longer JSON", () => {
    appendMany(2);
    dropTriggers();
    db.prepare("UPDATE audit_log SET details = '{' WHERE seq = 1").run();
    expect(audit.verify()).toMatchObject({ ok: false, brokenAt: 1 });
  });

  it("is ok on an empty log", () => {
    expect(audit.verify()).toEqual({ ok: true, entries: 0 });
  });
});

describe("AuditLog.list", () => {
  it("pages by seq cursor, oldest first", () => {
    appendMany(5);
    const seqs = (afterSeq?: number) => audit.list({ afterSeq, limit: 2 }).map((e) => e.seq);
    expect(seqs()).toEqual([1, 2]);
    expect(seqs(2)).toEqual([3, 4]);
    expect(seqs(4)).toEqual([5]);
    expect(seqs(5)).toEqual([]);
    const [entry] = audit.list({ afterSeq: 2, limit: 1 });
    expect(entry).toMatchObject({
      seq: 3,
      actor: "tok_1",
      action: "operation.submit",
      target: "op-3",
      details: { n: 3 },
    });
    expect(typeof entry!.at).toBe("number");
  });
});
