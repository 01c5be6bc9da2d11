/**
 * The floor with durability: the bare route of `bench/bare-target.ts` plus the commits that
 * opsguard's design asks of an operation, and nothing else (no validation, risk check, executor,
 * audit, event, metric, span or log line). Each submit commits its pending row before it
 * "executes" and its open row before it answers; one second later (the load's `maxDurationSec`)
 * its close commits the close request, then the closed row. Commits are shared by the writes of
 * one event-loop turn by opsguard's own group commit, on a database opened as opsguard opens its
 * own (WAL, `synchronous = NORMAL`) with checkpoints on a worker thread by its own checkpointer.
 *
 * What opsguard costs beyond this is the rest of its work; what this costs beyond the bare route
 * is the design's durability on this machine. Prints `{"port": N}` on stdout once listening.
 */
import { serve } from "@hono/node-server";
import { Hono } from "hono";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { openDatabase } from "../src/platform/db.js";
import { GroupCommit } from "../src/platform/group-commit.js";
import { createSilentLogger } from "../src/platform/logger.js";
import { WalCheckpointer } from "../src/platform/wal-checkpoint.js";

const dir = mkdtempSync(join(tmpdir(), "opsguard-durable-floor-"));
const file = join(dir, "floor.db");
// opsguard's own connection settings, group commit and checkpoints; a table of the floor's own.
const db = openDatabase({ path: file, autoCheckpoint: false });
db.exec(`CREATE TABLE floor_operations (
  id INTEGER PRIMARY KEY,
  client_id TEXT NOT NULL UNIQUE,
  status TEXT NOT NULL,
  body TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  opened_at INTEGER,
  close_requested_at INTEGER,
  closed_at INTEGER
)`);
const insert = db.prepare(
  "INSERT INTO floor_operations (client_id, status, body, created_at) VALUES (?, 'pending', ?, ?)",
);
const markOpen = db.prepare("UPDATE floor_operations SET status = 'open', opened_at = ? WHERE id = ?");
const requestClose = db.prepare("UPDATE floor_operations SET close_requested_at = ? WHERE id = ?");
const markClosed = db.prepare("UPDATE floor_operations SET status = 'closed', closed_at = ? WHERE id = ?");
const commits = new GroupCommit(db);
const checkpoints = new WalCheckpointer({
  path: file,
  intervalMs: 1_000,
  logger: createSilentLogger(),
  onResult: () => undefined,
});
checkpoints.start();

/** Runs `write` in the turn's transaction; resolves once that transaction is committed. */
function committed<T>(write: () => T): Promise<T> {
  const result = commits.write(write);
  return commits.durable().then(() => result);
}

async function close(id: number): Promise<void> {
  await committed(() => requestClose.run(Date.now(), id));
  await committed(() => markClosed.run(Date.now(), id));
}

const app = new Hono();
app.post("/v1/operations", async (c) => {
  const text = await c.req.text();
  const body = JSON.parse(text) as { clientId?: unknown; maxDurationSec?: number };
  const id = Number(
    (await committed(() => insert.run(String(body.clientId), text, Date.now()))).lastInsertRowid,
  );
  await committed(() => markOpen.run(Date.now(), id));
  setTimeout(() => void close(id), (body.maxDurationSec ?? 1) * 1000);
  return c.json({ id: String(id), clientId: body.clientId, status: "open" }, 201);
});

const server = serve({ fetch: app.fetch, port: 0, hostname: "127.0.0.1" }, (info) => {
  process.stdout.write(`${JSON.stringify({ port: info.port })}\n`);
});
process.on("SIGTERM", () =>
  server.close(() => {
    void checkpoints.stop().then(() => {
      db.close();
      rmSync(dir, { recursive: true, force: true });
      process.exit(0);
    });
  }),
);
