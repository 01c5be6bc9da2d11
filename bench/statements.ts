/**
 * The SQLite statements of one operation, and what each costs: opsguard is built in this process
 * (bench/inproc-app.ts: a real database file, the paper venue filling at once), `count` operations
 * are submitted one after another, then closed one after another, and every statement the
 * connections run is counted and timed by its SQL. One at a time, each write commits alone: this is
 * the cost of an operation that shares its commits with no other, as at a moderate load.
 *
 * Usage: `tsx bench/statements.ts [count, 2000]`. Prints, for the submits and for the closes, each
 * statement's calls and microseconds per operation, most expensive first, and the wall time per
 * operation beside the time in statements.
 */
import Database from "better-sqlite3";
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
  const database = Database.prototype as unknown as { exec: (this: unknown, sql: unknown) => unknown };
  const exec = database.exec;
  database.exec = function (this: unknown, sql: unknown) {
    const startedAt = performance.now();
    try {
      return exec.call(this, sql);
    } finally {
      record(`exec: ${String(sql)}`, startedAt);
    }
  };
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
const { app, close } = buildApp();
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
  const closed = performance.now();
  for (const id of ids) await app.service.close(id, "manual", "bench");
  const closeMs = performance.now() - closed;
  const closes = takeCosts();
  print("submit", submittedCosts, submitMs, count);
  print("close", closes, closeMs, count);
} finally {
  await close();
}
