import { spawn } from "node:child_process";
import { once } from "node:events";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  SimpleSpanProcessor,
} from "@opentelemetry/sdk-trace-base";
import { context } from "@opentelemetry/api";
import { AsyncLocalStorageContextManager } from "@opentelemetry/context-async-hooks";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { startTestApp, submitBody, type TestApp } from "../../tests/harness.js";
import { ExecutionError } from "../execution/executor.js";
import { capturingLogger } from "../platform/logger.fixture.js";
import { BackupManager } from "./backups.js";
import type { BackupRepository, Snapshot } from "./repository.js";

/** A repository that records what it is asked and succeeds, or fails on demand. */
class RecordingRepository implements BackupRepository {
  readonly calls: string[] = [];
  readonly snapshotList: Snapshot[] = [];
  failBackupWith: Error | undefined;
  gate: Promise<void> | undefined;
  init = () => this.record("init", Promise.resolve(false));
  async backup(paths: string[], opts: { tags: string[] }) {
    this.calls.push("backup");
    await this.gate;
    if (this.failBackupWith) throw this.failBackupWith;
    const id = `${this.snapshotList.length + 1}`.padStart(64, "a");
    this.snapshotList.push({
      id,
      shortId: id.slice(0, 8),
      time: new Date().toISOString(),
      hostname: "h",
      paths,
      tags: opts.tags,
    });
    return { snapshotId: id, dataAdded: 10, totalFilesProcessed: 2, totalBytesProcessed: 100, warnings: [] };
  }
  snapshots = () => this.record("snapshots", Promise.resolve([...this.snapshotList]));
  forget = () =>
    this.record(
      "forget",
      Promise.resolve({ kept: this.snapshotList.map((s) => s.id), removed: [] as string[] }),
    );
  prune = () => this.record("prune", Promise.resolve());
  check = () => this.record("check", Promise.resolve({ ok: false, errors: ["pack 1234 is damaged"] }));
  restore = () => this.record("restore", Promise.reject(new Error("not in this test")));
  private record<T>(name: string, value: Promise<T>): Promise<T> {
    this.calls.push(name);
    return value;
  }
}

describe("BackupManager", () => {
  let t: TestApp;
  // Spans of a run nest under its root through the active context, as in the service.
  beforeAll(() => context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable()));
  afterAll(() => context.disable());
  afterEach(() => t.close());

  async function setup() {
    const repository = new RecordingRepository();
    const exporter = new InMemorySpanExporter();
    const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
    const logs = capturingLogger();
    t = await startTestApp({}, { logger: logs.logger });
    const manager = new BackupManager({
      config: t.config.backup,
      dataDir: t.config.dataDir,
      db: t.app.db,
      databasePath: join(t.config.dataDir, "opsguard.db"),
      commits: Reflect.get(t.app.service, "deps").commits,
      restic: repository,
      clock: { now: () => Date.now() },
      logger: logs.logger,
      tracer: provider.getTracer("test"),
      instance: "test-host",
    });
    return { repository, exporter, manager, logs };
  }

  it("makes each run one trace with a span per step, and logs its start and end", async () => {
    const { manager, exporter, logs } = await setup();
    await t.call("POST", "/v1/operations", { body: submitBody() });
    const run = await manager.backup("api").done;
    expect(run.status).toBe("succeeded");
    const spans = exporter.getFinishedSpans();
    const root = spans.find((s) => s.name === "maintenance.backup")!;
    expect(root.attributes["opsguard.run.id"]).toBe(run.id);
    const steps = spans
      .filter((s) => s.parentSpanContext?.spanId === root.spanContext().spanId)
      .map((s) => s.name);
    expect(steps).toEqual([
      "maintenance.restic.init",
      "maintenance.backup.stage",
      "maintenance.restic.backup",
      "maintenance.restic.forget",
    ]);
    expect(logs.lines.filter((l) => String(l.event).startsWith("backup.")).map((l) => l.event)).toEqual([
      "backup.started",
      "backup.succeeded",
    ]);
  });

  it("records a failed step on its span and in the run, with what was measured", async () => {
    const { manager, repository, exporter } = await setup();
    const check = await manager.check("api").done;
    expect(check).toMatchObject({ status: "failed", details: { errors: 1 } });
    expect(check.reason).toContain("pack 1234 is damaged");
    repository.failBackupWith = new ExecutionError(
      "restic backup failed (exit 1): repository is full",
      "refused",
    );
    const backup = await manager.backup("api").done;
    expect(backup.reason).toContain("repository is full");
    const failed = exporter.getFinishedSpans().find((s) => s.name === "maintenance.restic.backup")!;
    expect(failed.status.code).toBe(2); // ERROR
    // The service's metrics read the runs table: a run by any manager on this database counts.
    await new Promise((resolve) => setTimeout(resolve, 1100)); // past the metrics' one-second cache
    expect(await t.app.registry.getSingleMetricAsString("opsguard_backup_check_last_errors")).toContain(
      "opsguard_backup_check_last_errors 1",
    );
  });

  it("runs one at a time in this process, and not while another process holds the lock", async () => {
    const { manager, repository } = await setup();
    let release!: () => void;
    repository.gate = new Promise((resolve) => (release = resolve));
    const first = manager.backup("api");
    expect(() => manager.drill("api")).toThrow(expect.objectContaining({ code: "ALREADY_RUNNING" }));
    release();
    await first.done;

    // Another live process holds the cross-process lock: its pid is in the lock file.
    const other = spawn(process.execPath, ["-e", "setTimeout(() => {}, 30000)"]);
    await once(other, "spawn");
    try {
      writeFileSync(join(t.config.dataDir, "backup.lock"), `${other.pid}\n`);
      expect(() => manager.backup("cli")).toThrow(`in process ${other.pid}`);
    } finally {
      other.kill("SIGKILL");
      await once(other, "exit");
    }
    // Its process gone, the lock is stale: taken over.
    expect((await manager.backup("cli").done).status).toBe("succeeded");
  });

  it("marks a run its killed process left running as failed, when the next run starts", async () => {
    const { manager } = await setup();
    t.app.db
      .prepare(
        "INSERT INTO maintenance_runs (id, kind, trigger, started_at, status, details) VALUES ('old', 'backup', 'cli', 1, 'running', '{}')",
      )
      .run();
    await manager.backup("api").done;
    expect(manager.runs.get("old")).toMatchObject({
      status: "failed",
      reason: "the process running it stopped before it finished",
    });
  });
});
