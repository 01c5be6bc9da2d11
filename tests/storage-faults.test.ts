import { execFileSync, spawnSync } from "node:child_process";
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { submitBody, tempDir } from "./harness.js";
import { MAIN, startChild, type Child } from "./process.js";

/**
 * The files opsguard keeps its state in, when they cannot be written: each case ends with one
 * clear line naming the file and what to do, never a stack trace or a signal. The suite runs as
 * root, which may write anything, so the unwritable cases drop the capability that lets it
 * (util-linux `setpriv`); the full disk is a small tmpfs.
 */
describe("storage faults", () => {
  const dirs: string[] = [];
  let child: Child | undefined;
  let mounted: string | undefined;
  afterEach(async () => {
    child?.process.kill("SIGKILL");
    await child?.exited;
    child = undefined;
    if (mounted) execFileSync("umount", [mounted]);
    mounted = undefined;
    for (const dir of dirs.splice(0)) {
      chmodAll(dir, 0o700);
      rmSync(dir, { recursive: true, force: true });
    }
  });

  function dataDir(): string {
    const dir = tempDir();
    dirs.push(dir);
    return dir;
  }

  /** Runs the built CLI to its end, as root without the right to write others' files when asked. */
  function run(args: string[], env: Record<string, string>, { unprivileged = false } = {}) {
    const node = [process.execPath, MAIN, ...args];
    const [command, ...rest] = unprivileged
      ? ["setpriv", "--bounding-set", "-dac_override,-dac_read_search", "--", ...node]
      : node;
    const result = spawnSync(command!, rest, {
      env: { PATH: process.env.PATH, OPSGUARD_SERVER_PORT: "0", ...env },
      encoding: "utf8",
      timeout: 20_000,
    });
    if (result.error) throw result.error;
    return { status: result.status, signal: result.signal, stderr: result.stderr };
  }

  /** Starts and stops the service once, so its database exists. */
  async function initialize(dir: string, env: Record<string, string> = {}): Promise<void> {
    child = await startChild(dir, ["serve"], env);
    child.process.kill("SIGTERM");
    expect(await child.exited).toBe(0);
    child = undefined;
  }

  const expectOneClearLine = (stderr: string, ...parts: string[]) => {
    const lines = stderr.trim().split("\n");
    const line = lines.find((l) => l.startsWith("opsguard: "));
    expect(line, stderr).toBeDefined();
    for (const part of parts) expect(line).toContain(part);
    expect(stderr).not.toMatch(/^\s+at /m); // no stack trace
  };

  it("a read-only database at start: one line, exit 1; check finds it first", async () => {
    const dir = dataDir();
    await initialize(dir);
    const db = join(dir, "opsguard.db");
    chmodSync(db, 0o444);

    const started = run(["serve"], { OPSGUARD_DATA_DIR: dir }, { unprivileged: true });
    expect(started.status).toBe(1);
    expectOneClearLine(started.stderr, db, "permission denied", "write access");

    const checked = run(["check"], { OPSGUARD_DATA_DIR: dir }, { unprivileged: true });
    expect(checked.status).toBe(1);
    expect(checked.stderr).toContain(`database ${db}: permission denied`);
  });

  it("an unwritable -shm file: refused before SQLite maps it, never SIGBUS", async () => {
    const dir = dataDir();
    await initialize(dir);
    const shm = join(dir, "opsguard.db-shm");
    writeFileSync(shm, Buffer.alloc(32_768));
    chmodSync(shm, 0o444);

    const started = run(["serve"], { OPSGUARD_DATA_DIR: dir }, { unprivileged: true });
    expect(started.signal).toBeNull();
    expect(started.status).toBe(1);
    expectOneClearLine(started.stderr, shm, "permission denied");
    const checked = run(["check"], { OPSGUARD_DATA_DIR: dir }, { unprivileged: true });
    expect(checked.stderr).toContain(`database ${shm}: permission denied`);
  });

  it("an unwritable data folder: check and serve say so", () => {
    const dir = dataDir();
    mkdirSync(join(dir, "data"), { mode: 0o500 });
    const env = { OPSGUARD_DATA_DIR: join(dir, "data") };
    const started = run(["serve"], env, { unprivileged: true });
    expect(started.status).toBe(1);
    expectOneClearLine(started.stderr, join(dir, "data"), "permission denied");
    const checked = run(["check"], env, { unprivileged: true });
    expect(checked.status).toBe(1);
    expect(checked.stderr).toContain("permission denied");
  });

  it("a full disk: the commit fails with one line, the log line is flushed, nothing is lost", async () => {
    const dir = dataDir();
    mounted = join(dir, "disk");
    mkdirSync(mounted);
    execFileSync("mount", ["-t", "tmpfs", "-o", "size=2m", "tmpfs", mounted]);
    const logs = join(dir, "logs");
    const env = {
      OPSGUARD_DATA_DIR: mounted,
      OPSGUARD_LOGGING_FILE_ENABLED: "true",
      OPSGUARD_LOGGING_FILE_DIR: logs,
      OPSGUARD_EXECUTOR_PAPER_LATENCY_MS: "0",
    };
    child = await startChild(mounted, ["serve"], env);
    const call = (c: Child, body: unknown) =>
      fetch(`http://127.0.0.1:${c.port}/v1/operations`, {
        method: "POST",
        headers: { authorization: `Bearer ${c.token}`, "content-type": "application/json" },
        body: JSON.stringify(body),
      });
    const acknowledged = await call(child, submitBody());
    expect(acknowledged.status).toBe(201);
    const { id } = (await acknowledged.json()) as { id: string };

    // Fill what is left of the disk, then ask for a write.
    fill(mounted);
    const stderr: string[] = [];
    child.process.stderr!.on("data", (chunk: Buffer) => stderr.push(chunk.toString()));
    // The request caught by the failed commit hears that its rows are gone, as a 503, not a 500.
    const refused = await call(child, submitBody());
    expect(refused.status).toBe(503);
    expect(await refused.json()).toMatchObject({
      code: "NOT_READY",
      detail: expect.stringMatching(/not kept/),
    });
    expect(await child.exited).toBe(1);
    child = undefined;
    expectOneClearLine(stderr.join(""), "a database commit failed", "disk is full", mounted);
    const logged = readdirSync(logs)
      .map((f) => readFileSync(join(logs, f), "utf8"))
      .join("");
    expect(logged).toContain('"event":"db.commit_failed"');
    expect(logged).toContain("disk is full");

    // Still full: a restart refuses in one clear line naming the disk, never a stack trace.
    const stillFull = run(["serve"], env);
    expect(stillFull.signal).toBeNull();
    expect(stillFull.status).toBe(1);
    expectOneClearLine(stillFull.stderr, "disk is full", mounted);

    // Freed again: it starts, and the acknowledged operation is there.
    rmSync(join(mounted, "filler"));
    child = await startChild(mounted, ["serve"], env);
    const restarted = child;
    const res = await fetch(`http://127.0.0.1:${restarted.port}/v1/operations/${id}`, {
      headers: { authorization: `Bearer ${restarted.token}` },
    });
    expect(await res.json()).toMatchObject({ id, status: "open" });
  });

  it("an instrument removed while operations on it are open: serve and check refuse, naming them", async () => {
    const dir = dataDir();
    child = await startChild(dir, ["serve"]);
    const res = await fetch(`http://127.0.0.1:${child.port}/v1/operations`, {
      method: "POST",
      headers: { authorization: `Bearer ${child.token}`, "content-type": "application/json" },
      body: JSON.stringify(submitBody({ instrument: "ETH-USD", size: "1" })),
    });
    const { id } = (await res.json()) as { id: string };
    child.process.kill("SIGTERM");
    await child.exited;
    child = undefined;

    const config = join(dir, "opsguard.yaml");
    writeFileSync(
      config,
      "instruments:\n  BTC-USD: { pricePrecision: 2, sizePrecision: 4, maxPositionSize: 2, initialPrice: 65000 }\n",
    );
    const env = { OPSGUARD_DATA_DIR: dir, OPSGUARD_CONFIG: config };
    const started = run(["serve"], env);
    expect(started.status).toBe(1);
    expectOneClearLine(started.stderr, "ETH-USD (1 operation: " + id, "Put the instruments back");
    const checked = run(["check"], env);
    expect(checked.status).toBe(1);
    expect(checked.stderr).toContain(`ETH-USD (1 operation: ${id})`);
  });
});

/** Writes a file that takes the rest of the file system's space. */
function fill(dir: string): void {
  const chunk = Buffer.alloc(64 * 1024, 1);
  const file = join(dir, "filler");
  for (;;) {
    try {
      writeFileSync(file, chunk, { flag: "a" });
    } catch {
      return;
    }
  }
}

function chmodAll(dir: string, mode: number): void {
  if (!existsSync(dir)) return;
  chmodSync(dir, mode);
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) chmodAll(path, mode);
    else chmodSync(path, 0o600);
  }
}
