import { spawn } from "node:child_process";
import { once } from "node:events";
import { readFileSync, rmSync, writeFileSync } from "node:fs";
import { hostname } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { tempDir } from "../../tests/harness.js";
import { PidLock } from "./pid-lock.js";

let dir: string;
beforeEach(() => (dir = tempDir("opsguard-lock-")));
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe("PidLock", () => {
  it("is taken once, released, and taken again", () => {
    const path = join(dir, "a.lock");
    const first = new PidLock(path);
    expect(first.acquire()).toBe(true);
    expect(new PidLock(path).acquire()).toBe(false);
    expect(new PidLock(path).liveHolder()).toBe(process.pid);
    expect(JSON.parse(readFileSync(path, "utf8"))).toMatchObject({ pid: process.pid, host: hostname() });
    first.release();
    expect(new PidLock(path).acquire()).toBe(true);
  });

  it("takes over the lock of a process that is gone", async () => {
    const path = join(dir, "b.lock");
    const other = spawn(process.execPath, ["-e", "setTimeout(() => {}, 30000)"]);
    await once(other, "spawn");
    writeFileSync(path, `${other.pid}\n`);
    expect(new PidLock(path).acquire()).toBe(false);
    other.kill("SIGKILL");
    await once(other, "exit");
    expect(new PidLock(path).acquire()).toBe(true);
  });

  it("takes over a lock whose pid now belongs to another process, or to another boot", () => {
    const path = join(dir, "c.lock");
    const reused = { pid: process.pid, host: hostname(), boot: null, start: "1" };
    writeFileSync(path, JSON.stringify(reused));
    expect(new PidLock(path).liveHolder()).toBeUndefined();
    writeFileSync(path, JSON.stringify({ ...reused, start: null, boot: "an-earlier-boot" }));
    expect(new PidLock(path).acquire()).toBe(true);
  });
});
