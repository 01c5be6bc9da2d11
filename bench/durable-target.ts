/**
 * The floor with durability: the bare route of `bench/bare-target.ts` plus the commits that
 * opsguard's design asks of an operation, and nothing else (no validation, risk check, executor,
 * audit, event, metric, span or log line). Each submit commits its pending row before it
 * "executes" and its open row before it answers; one second later (the load's `maxDurationSec`)
 * its close commits the close request, then the closed row. Commits are shared by the writes of
 * one event-loop turn, as opsguard's group commit shares them, on a SQLite database in WAL mode
 * with `synchronous = NORMAL` and checkpoints on a worker thread, as opsguard runs it.
 *
 * What opsguard costs beyond this is the rest of its work; what this costs beyond the bare route
 * is the design's durability on this machine. Prints `{"port": N}` on stdout once listening.
 */
import { serve } from "@hono/node-server";
import Database from "better-sqlite3";
import { Hono } from "hono";
import { mkdtempSync, rmSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Worker } from "node:worker_threads";

const dir = mkdtempSync(join(tmpdir(), "opsguard-durable-floor-"));
const file = join(dir, "floor.db");
const db = new Database(file);
db.pragma("journal_mode = WAL");
db.pragma("synchronous = NORMAL");
db.pragma("wal_autocheckpoint = 0");
db.exec(`CREATE TABLE operations (
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
  "INSERT INTO operations (client_id, status, body, created_at) VALUES (?, 'pending', ?, ?)",
);
const markOpen = db.prepare("UPDATE operations SET status = 'open', opened_at = ? WHERE id = ?");
const requestClose = db.prepare("UPDATE operations SET close_requested_at = ? WHERE id = ?");
const markClosed = db.prepare("UPDATE operations SET status = 'closed', closed_at = ? WHERE id = ?");

// The WAL checkpointed off the event loop every second, as opsguard does.
const checkpoints = new Worker(
  `const Database = require(${JSON.stringify(createRequire(import.meta.url).resolve("better-sqlite3"))});
   const db = new Database(${JSON.stringify(file)});
   setInterval(() => db.pragma("wal_checkpoint(PASSIVE)"), 1000);`,
  { eval: true },
);

let waiters: (() => void)[] | undefined;
/** Runs `write` in the turn's transaction; resolves once that transaction is committed. */
function committed(write: () => void): Promise<void> {
  if (!waiters) {
    db.exec("BEGIN IMMEDIATE");
    waiters = [];
    setImmediate(() => {
      const done = waiters!;
      waiters = undefined;
      db.exec("COMMIT");
      for (const resolve of done) resolve();
    });
  }
  write();
  const batch = waiters;
  return new Promise((resolve) => batch.push(resolve));
}

async function close(id: number): Promise<void> {
  await committed(() => requestClose.run(Date.now(), id));
  await committed(() => markClosed.run(Date.now(), id));
}

const app = new Hono();
app.post("/v1/operations", async (c) => {
  const text = await c.req.text();
  const body = JSON.parse(text) as { clientId?: unknown; maxDurationSec?: number };
  let id = 0;
  await committed(() => {
    id = Number(insert.run(String(body.clientId), text, Date.now()).lastInsertRowid);
  });
  await committed(() => markOpen.run(Date.now(), id));
  setTimeout(() => void close(id), (body.maxDurationSec ?? 1) * 1000);
  return c.json({ id: String(id), clientId: body.clientId, status: "open" }, 201);
});

const server = serve({ fetch: app.fetch, port: 0, hostname: "127.0.0.1" }, (info) => {
  process.stdout.write(`${JSON.stringify({ port: info.port })}\n`);
});
process.on("SIGTERM", () =>
  server.close(() => {
    void checkpoints.terminate().then(() => {
      db.close();
      rmSync(dir, { recursive: true, force: true });
      process.exit(0);
    });
  }),
);
