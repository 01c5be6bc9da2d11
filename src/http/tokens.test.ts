import { createHash } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { ManualClock } from "../platform/clock.js";
import { openDatabase, type Db } from "../platform/db.js";
import { capturingLogger } from "../platform/logger.fixture.js";
import { ensureAdminToken, ROLES, roleAtLeast, TokenStore, writeSecretFile } from "./tokens.js";

let dir: string;
const open: Db[] = [];

function database(path = ":memory:"): Db {
  const db = openDatabase({ path });
  open.push(db);
  return db;
}

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "opsguard-tokens-"));
});

afterEach(() => {
  for (const db of open.splice(0)) db.close();
  rmSync(dir, { recursive: true, force: true });
});

describe("roles", () => {
  it("orders viewer < operator < admin", () => {
    expect(ROLES).toEqual(["viewer", "operator", "admin"]);
    expect(roleAtLeast("admin", "viewer")).toBe(true);
    expect(roleAtLeast("operator", "operator")).toBe(true);
    expect(roleAtLeast("operator", "admin")).toBe(false);
    expect(roleAtLeast("viewer", "operator")).toBe(false);
  });
});

describe("TokenStore", () => {
  it("creates a token that verifies as its principal", () => {
    const store = new TokenStore(database(), new ManualClock());
    const { id, token } = store.create("operator", "bot-1");
    expect(token).toMatch(/^og_[A-Za-z0-9]{12}_[A-Za-z0-9_-]{43}$/);
    expect(token.slice(3, 15)).toBe(id);
    expect(store.verify(token)).toEqual({ id, name: "bot-1", role: "operator" });
    expect(store.count()).toBe(1);
  });

  it("stores only the sha256 of the secret", () => {
    const db = database();
    const clock = new ManualClock();
    const { id, token } = new TokenStore(db, clock).create("viewer", "dash");
    const secret = token.slice(16);
    const row = db.prepare("SELECT * FROM api_tokens WHERE id = ?").get(id) as Record<string, unknown>;
    expect(row.secret_hash).toBe(createHash("sha256").update(secret).digest("hex"));
    expect(JSON.stringify(row, (_k, v: unknown) => (typeof v === "bigint" ? Number(v) : v))).not.toContain(
      secret,
    );
    expect(row.created_at).toBe(BigInt(clock.now()));
  });

  it("rejects a known id with the wrong secret", () => {
    const store = new TokenStore(database(), new ManualClock());
    const { token } = store.create("admin", "root");
    const last = token.at(-1) === "A" ? "B" : "A";
    expect(store.verify(token.slice(0, -1) + last)).toBeNull();
    const other = store.create("admin", "other").token;
    expect(store.verify(token.slice(0, 16) + other.slice(16))).toBeNull();
  });

  it("answers null to malformed strings without throwing", () => {
    const store = new TokenStore(database(), new ManualClock());
    const { token } = store.create("viewer", "v");
    const malformed = [
      "",
      "og_",
      "og_aaaaaaaaaaaa_bogus",
      token + "x",
      token.slice(0, -1),
      ` ${token}`,
      token.replace("og_", "OG_"),
      `Bearer ${token}`,
      "og_" + "a".repeat(12) + "_" + "é".repeat(43),
      "x".repeat(100_000),
    ];
    for (const value of malformed) expect(store.verify(value)).toBeNull();
    expect(store.verify(undefined as unknown as string)).toBeNull();
  });

  it("sees tokens created by another process, even after a miss for the same id", () => {
    const path = join(dir, "opsguard.db");
    const server = new TokenStore(database(path), new ManualClock());
    const cliDb = database(path);

    const created = new TokenStore(cliDb, new ManualClock()).create("operator", "from-cli");
    expect(server.verify(created.token)).toEqual({ id: created.id, name: "from-cli", role: "operator" });

    // A miss must not be remembered: the id may be created a moment later.
    const secret = "s".repeat(43);
    const token = `og_LaterCreated_${secret}`;
    expect(server.verify(token)).toBeNull();
    cliDb
      .prepare("INSERT INTO api_tokens (id, name, role, secret_hash, created_at) VALUES (?, ?, ?, ?, ?)")
      .run("LaterCreated", "late", "viewer", createHash("sha256").update(secret).digest("hex"), 0);
    expect(server.verify(token)).toEqual({ id: "LaterCreated", name: "late", role: "viewer" });
    expect(server.count()).toBe(2);
  });

  it("answers an unknown id without reading the tokens table", () => {
    const path = join(dir, "opsguard.db");
    const db = database(path);
    const store = new TokenStore(db, new ManualClock());
    const known = store.create("viewer", "known");
    // Were an unknown id looked up, this would throw "no such table".
    db.exec("ALTER TABLE api_tokens RENAME TO api_tokens_elsewhere");
    for (let i = 0; i < 100; i++) {
      expect(store.verify(`og_${String(i).padStart(12, "Z")}_${"s".repeat(43)}`)).toBeNull();
    }
    expect(store.verify(known.token)).toMatchObject({ id: known.id, role: "viewer" });
  });
});

describe("writeSecretFile", () => {
  it("creates the file 0600 in a new 0700 folder and never overwrites it", () => {
    const path = join(dir, "nested", "secret");
    writeSecretFile(path, "first\n");
    expect(statSync(path).mode & 0o777).toBe(0o600);
    expect(statSync(join(dir, "nested")).mode & 0o777).toBe(0o700);
    expect(() => writeSecretFile(path, "second\n")).toThrow(/EEXIST/);
    expect(readFileSync(path, "utf8")).toBe("first\n");
  });

  it("sets 0600 even under a permissive umask", () => {
    const previous = process.umask(0);
    try {
      writeSecretFile(join(dir, "secret"), "x");
    } finally {
      process.umask(previous);
    }
    expect(statSync(join(dir, "secret")).mode & 0o777).toBe(0o600);
  });
});

describe("ensureAdminToken", () => {
  it("creates one admin token in <dataDir>/admin-token and logs the path, never the token", () => {
    const store = new TokenStore(database(), new ManualClock());
    const { logger, raw: lines } = capturingLogger();

    const first = ensureAdminToken(store, dir, logger);
    expect(first).toEqual({ path: join(dir, "admin-token"), created: true });
    const token = readFileSync(first.path, "utf8").trim();
    expect(store.verify(token)).toMatchObject({ name: "bootstrap-admin", role: "admin" });
    expect(statSync(first.path).mode & 0o777).toBe(0o600);
    expect(lines).toHaveLength(1);
    expect(JSON.parse(lines[0]!)).toMatchObject({ event: "auth.bootstrap_token_created", path: first.path });
    expect(lines[0]).not.toContain(token.slice(16));

    expect(ensureAdminToken(store, dir, logger)).toEqual({ path: first.path, created: false });
    expect(store.count()).toBe(1);
  });

  it("does nothing when any token exists", () => {
    const store = new TokenStore(database(), new ManualClock());
    store.create("viewer", "v");
    const { logger, raw: lines } = capturingLogger();
    expect(ensureAdminToken(store, dir, logger).created).toBe(false);
    expect(lines).toHaveLength(0);
  });

  it("refuses, before creating a token, when a stale admin-token file exists", () => {
    const store = new TokenStore(database(), new ManualClock());
    writeFileSync(join(dir, "admin-token"), "og_old\n");
    expect(() => ensureAdminToken(store, dir, capturingLogger().logger)).toThrow(/exists/);
    expect(store.count()).toBe(0);
    expect(readFileSync(join(dir, "admin-token"), "utf8")).toBe("og_old\n");
  });
});
