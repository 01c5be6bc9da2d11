import { rmSync } from "node:fs";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { tempDir } from "../../tests/harness.js";
import { ManualClock } from "../platform/clock.js";
import { openDatabase, type Db } from "../platform/db.js";
import { TokenStore } from "./tokens.js";

describe("TokenStore.list and TokenStore.revoke", () => {
  let dir: string;
  let path: string;
  const open: Db[] = [];
  const connect = () => {
    const db = openDatabase({ path });
    open.push(db);
    return db;
  };

  beforeEach(() => {
    dir = tempDir("opsguard-token-revoke-");
    path = join(dir, "opsguard.db");
  });
  afterEach(() => {
    for (const db of open.splice(0)) db.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it("lists every token oldest first, with its creation time and never its hash", () => {
    const clock = new ManualClock(Date.UTC(2026, 0, 1));
    const store = new TokenStore(connect(), clock);
    const first = store.create("admin", "first");
    clock.advance(60_000);
    const second = store.create("viewer", "second");
    expect(store.list()).toEqual([
      { id: first.id, name: "first", role: "admin", createdAt: Date.UTC(2026, 0, 1) },
      { id: second.id, name: "second", role: "viewer", createdAt: Date.UTC(2026, 0, 1) + 60_000 },
    ]);
  });

  it("refuses a revoked token at once, and says whether the token existed", () => {
    const store = new TokenStore(connect(), new ManualClock());
    const { id, token } = store.create("operator", "bot");
    expect(store.revoke(id)).toBe(true);
    expect(store.verify(token)).toBeNull();
    expect(store.revoke(id)).toBe(false);
    expect(store.list()).toEqual([]);
  });

  it("refuses a token revoked through another connection at its next request, and keeps the others", () => {
    const service = new TokenStore(connect(), new ManualClock());
    const kept = service.create("admin", "kept");
    const revoked = service.create("viewer", "revoked");
    // The service has verified (and holds) both tokens.
    expect(service.verify(revoked.token)?.id).toBe(revoked.id);
    expect(service.verify(kept.token)?.id).toBe(kept.id);

    const cli = new TokenStore(connect(), new ManualClock());
    expect(cli.revoke(revoked.id)).toBe(true);
    expect(service.verify(revoked.token)).toBeNull();
    expect(service.verify(kept.token)?.id).toBe(kept.id);

    // And a token created through the other connection works at once.
    const created = cli.create("operator", "new");
    expect(service.verify(created.token)).toEqual({ id: created.id, name: "new", role: "operator" });
  });
});
