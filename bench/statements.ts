/**
 * The SQLite statements of one operation, and what each costs: opsguard is built in this process
 * (bench/inproc-app.ts: a real database file, the paper venue filling at once), `count` operations
 * are submitted one after another, then closed one after another, and every statement the
 * connections run is counted and timed by its SQL. One at a time, each write commits alone: this is
 * the cost of an operation that shares its commits with no other, as at a moderate load.
 *
 * Usage: `tsx bench/statements.ts [count, 2000]`. Prints, for the submits and for the closes, each
 * statement's calls and microseconds per operation, most expensive first, and the wall time per
 * operation beside the time in statements; then the pages each commit wrote to the WAL (a frame
 * each: a write call for its header and one for the page), by the table or index they belong to.
 */
import { closeSync, openSync, readSync } from "node:fs";
import Database from "better-sqlite3";
import { databasePath } from "../src/app.js";
import { buildApp, submitBody } from "./inproc-app.js";

interface Cost {
  calls: number;
  ms: number;
}

/** Statement costs by SQL (`exec` calls prefixed `exec: `), since the last {@link takeCosts}. */
let costs = new Map<string, Cost>();

function record(sql: string, startedAt: number): void {
  const cost = costs.get(sql) ?? { calls: 0, ms: 0 };
  cost.calls += 1;
  cost.ms += performance.now() - startedAt;
  costs.set(sql, cost);
}

function takeCosts(): Map<string, Cost> {
  const taken = costs;
  costs = new Map();
  return taken;
}

/**
 * Times every statement of every connection opened from now on. better-sqlite3's `Statement`
 * class is not exported, so its prototype is taken from a statement of a scratch connection.
 */
function instrumentSqlite(): void {
  type Method = (this: { source: string }, ...args: unknown[]) => unknown;
  const scratch = new Database(":memory:");
  const statement = Object.getPrototypeOf(scratch.prepare("SELECT 1")) as Record<string, Method>;
  scratch.close();
  for (const name of ["run", "get", "all", "iterate"]) {
    const original = statement[name]!;
    statement[name] = function (this: { source: string }, ...args: unknown[]) {
      const startedAt = performance.now();
      try {
        return original.apply(this, args);
      } finally {
        record(this.source, startedAt);
      }
    };
  }
  const database = Database.prototype as unknown as {
    exec: (this: { name: string }, sql: unknown) => unknown;
  };
  const exec = database.exec;
  database.exec = function (this: { name: string }, sql: unknown) {
    const startedAt = performance.now();
    try {
      return exec.call(this, sql);
    } finally {
      record(`exec: ${String(sql)}`, startedAt);
      if (sql === "COMMIT") walReaders.get(this.name)?.readCommit();
    }
  };
}

/**
 * Reads the frames each commit appended to the database's WAL: the page number of each, from the
 * 24-byte frame header (https://www.sqlite.org/fileformat.html#wal_file_format). A checkpoint on
 * the service's own thread may restart the WAL from its first frame between two commits; the
 * header's salt then changes, and reading starts again from the top.
 */
class WalReader {
  /** Pages of each commit since the last {@link take}. */
  private commits: number[][] = [];
  private offset = WAL_HEADER;
  private salt = -1;
  private readonly fd: number;

  constructor(
    database: string,
    private readonly pageSize: number,
  ) {
    this.fd = openSync(`${database}-wal`, "r");
  }

  readCommit(): void {
    const header = Buffer.alloc(WAL_HEADER);
    readSync(this.fd, header, 0, WAL_HEADER, 0);
    const salt = header.readUInt32BE(16);
    if (salt !== this.salt) [this.salt, this.offset] = [salt, WAL_HEADER];
    const pages: number[] = [];
    // Frames of this commit, up to the one that marks its end (a database size in its header).
    while (readSync(this.fd, header, 0, FRAME_HEADER, this.offset) === FRAME_HEADER) {
      if (header.readUInt32BE(8) !== salt) break;
      pages.push(header.readUInt32BE(0));
      this.offset += FRAME_HEADER + this.pageSize;
      if (header.readUInt32BE(4) !== 0) break;
    }
    this.commits.push(pages);
  }

  take(): number[][] {
    const taken = this.commits;
    this.commits = [];
    return taken;
  }

  close(): void {
    closeSync(this.fd);
  }
}

const WAL_HEADER = 32;
const FRAME_HEADER = 24;
/** By database file: the connections whose commits are read. */
const walReaders = new Map<string, WalReader>();

/** Frames per operation by the table or index of their page, most first. */
function printFrames(title: string, commits: number[][], owners: Map<number, string>, count: number): void {
  const byOwner = new Map<string, number>();
  for (const pages of commits)
    for (const page of pages) {
      const owner = owners.get(page) ?? `page ${page}`;
      byOwner.set(owner, (byOwner.get(owner) ?? 0) + 1);
    }
  const frames = commits.reduce((sum, pages) => sum + pages.length, 0);
  const perOp = (n: number): string => (n / count).toFixed(2).padStart(8);
  console.log(
    `\n${title}: ${perOp(frames).trim()} WAL frames per operation in ${perOp(commits.length).trim()} commits`,
  );
  console.log("frames/op  table or index");
  for (const [owner, n] of [...byOwner].sort((a, b) => b[1] - a[1]))
    if (n >= count / 100) console.log(`${perOp(n)}   ${owner}`);
}

function print(title: string, taken: Map<string, Cost>, wallMs: number, count: number): void {
  const perOp = (ms: number): string => ((ms / count) * 1000).toFixed(1).padStart(7);
  const rows = [...taken].sort((a, b) => b[1].ms - a[1].ms).filter(([, cost]) => cost.calls >= count / 10);
  const inStatements = [...taken.values()].reduce((sum, cost) => sum + cost.ms, 0);
  console.log(`\n${title}: ${perOp(wallMs)} µs per operation, ${perOp(inStatements)} µs of it in statements`);
  console.log("calls/op   µs/op  statement");
  for (const [sql, cost] of rows) {
    const text = sql.replace(/\s+/g, " ").trim();
    console.log(`${(cost.calls / count).toFixed(2).padStart(8)} ${perOp(cost.ms)}  ${text.slice(0, 120)}`);
  }
}

const count = Number(process.argv[2] ?? 2_000);
if (!Number.isInteger(count) || count < 1) throw new Error("usage: tsx bench/statements.ts [count]");
instrumentSqlite();
const { app, config, close } = buildApp();
const path = databasePath(config);
const walReader = new WalReader(path, Number(app.db.pragma("page_size", { simple: true })));
walReaders.set(path, walReader);
takeCosts(); // the migrations and the start
try {
  const ids: string[] = [];
  // Small operations on one instrument: within every risk limit of the bench config.
  const submitted = performance.now();
  for (let i = 0; i < count; i++) {
    const body = submitBody("trend-follow", "SOL-USD", `statements-${i}`, { size: "0.01" });
    ids.push((await app.service.submit(body, "bench")).operation.id);
  }
  const submitMs = performance.now() - submitted;
  const submittedCosts = takeCosts();
  const submitFrames = walReader.take();
  const closed = performance.now();
  for (const id of ids) await app.service.close(id, "manual", "bench");
  const closeMs = performance.now() - closed;
  const closes = takeCosts();
  const closeFrames = walReader.take();
  print("submit", submittedCosts, submitMs, count);
  print("close", closes, closeMs, count);
  // The b-tree each page belongs to, as the database stands now (pages are not freed meanwhile).
  const probe = new Database(path, { readonly: true });
  const owners = new Map<number, string>();
  for (const row of probe.prepare("SELECT name, pageno FROM dbstat").all() as {
    name: string;
    pageno: number;
  }[])
    owners.set(row.pageno, row.name);
  probe.close();
  printFrames("submit", submitFrames, owners, count);
  printFrames("close", closeFrames, owners, count);
} finally {
  walReader.close();
  await close();
}
