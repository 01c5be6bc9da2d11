import { spawn } from "node:child_process";
import { once } from "node:events";
import { readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { interleave } from "../bench/interleaved.js";
import { lineUp } from "../bench/profile-gaps.js";
import type { BenchResults } from "../bench/report.js";
import { tempDir } from "./harness.js";

const ROOT = new URL("..", import.meta.url).pathname;

/** Runs a bench script with tsx, scratch files in `tmp`; its output, once it has exited with 0. */
async function runScript(args: string[], tmp: string): Promise<string> {
  const child = spawn(process.execPath, ["--import", "tsx", ...args], {
    cwd: ROOT,
    env: { ...process.env, TMPDIR: tmp },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  child.stdout.setEncoding("utf8").on("data", (text: string) => (output += text));
  child.stderr.setEncoding("utf8").on("data", (text: string) => (output += text));
  const [code] = (await once(child, "exit")) as [number];
  expect(code, output).toBe(0);
  return output;
}

/** Every phase, as briefly as it can run and still measure something: about a minute. */
const SMOKE = {
  BENCH_DURATION: "1",
  BENCH_WARMUP: "1",
  BENCH_ROUNDS: "1",
  BENCH_OPERATIONS: "1000",
  BENCH_OUTAGE: "3",
  BENCH_OUTAGE_WARMUP: "1",
  BENCH_SAMPLE_EVERY: "1",
  BENCH_SCRAPE_SERIES: "300,1000",
  BENCH_SUPERVISOR_OPEN: "100,1000",
  BENCH_RISK_TIME: "100",
  BENCH_BACKUP_OPERATIONS: "2000",
  BENCH_BACKUP_ROUNDS: "1",
  BENCH_SECURITY_OPERATIONS: "2000",
  BENCH_SECURITY_ROUNDS: "1",
  BENCH_REPORTS_OPERATIONS: "2000",
  BENCH_REPORTS_REPEATS: "1",
  BENCH_OPEN_RATES: "100",
  BENCH_OPEN_DURATION: "2",
  BENCH_EVENTS_ROUNDS: "1",
  BENCH_EVENTS_CLIENTS: "10",
  BENCH_GLOBAL_ROUNDS: "1",
};

/** Every number in the results, with its path, so none can be missing or NaN unnoticed. */
function numbers(value: unknown, path = "results"): [string, number][] {
  if (typeof value === "number") return [[path, value]];
  if (Array.isArray(value)) return value.flatMap((item, i) => numbers(item, `${path}[${i}]`));
  if (value !== null && typeof value === "object")
    return Object.entries(value).flatMap(([key, item]) => numbers(item, `${path}.${key}`));
  return [];
}

// Speed is never asserted here: this only keeps `npm run bench` from rotting.
describe("npm run bench, smoke run", () => {
  let dir: string;
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it("runs every phase and reports every result with sane values", async () => {
    dir = tempDir("opsguard-bench-smoke-");
    const out = join(dir, "results.json");
    const child = spawn(process.execPath, ["--import", "tsx", join(ROOT, "bench", "run.ts")], {
      cwd: ROOT,
      env: { PATH: process.env.PATH, HOME: process.env.HOME, ...SMOKE, BENCH_OUT: out },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let output = "";
    child.stdout.on("data", (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on("data", (chunk: Buffer) => (output += chunk.toString()));
    const [code] = (await once(child, "exit")) as [number | null];
    expect(code, output).toBe(0);

    const results = JSON.parse(readFileSync(out, "utf8")) as BenchResults;
    for (const [path, value] of numbers(results)) expect(Number.isFinite(value), path).toBe(true);

    const { submit, scrape, supervisor, risk, memory, backup, security, reports, open, events, global } =
      results;
    for (const variant of [submit!.bare, submit!.full, submit!.quiet]) {
      expect(variant.rps).toBeGreaterThan(0);
      expect(variant.p50Ms).toBeGreaterThan(0);
      expect(variant.p99Ms).toBeGreaterThanOrEqual(variant.p50Ms);
      expect(variant.acceptedShare).toBeGreaterThanOrEqual(0.999);
      expect(variant.rounds).toHaveLength(1);
    }
    expect(submit!.full.rounds[0]).toMatchObject({ serverNon201: 0, spansPerOperation: expect.any(Number) });
    expect(submit!.full.rounds[0]!.spansPerOperation).toBeGreaterThan(0);
    expect(submit!.full.rounds[0]!.logLinesPerOperation).toBeGreaterThan(0);
    expect(submit!.ratio).toBeGreaterThan(0);

    expect(scrape!.map((s) => s.targetSeries)).toEqual([300, 1000]);
    for (const s of scrape!) {
      expect(s.series).toBeGreaterThan(s.targetSeries * 0.8);
      expect(s.openMetricsMs.median).toBeGreaterThan(0);
      expect(s.textMs.median).toBeGreaterThan(0);
    }
    expect(supervisor!.map((s) => s.open)).toEqual([100, 1000]);
    for (const s of supervisor!) {
      expect(s.tickMs.median).toBeGreaterThan(0);
      expect(s.closedDuringTicks).toBe(0);
      // Each open operation is held in memory (its row, its ledger entry): it costs some heap.
      expect(s.memoryPerOpen.heapBytes).toBeGreaterThan(0);
    }
    expect(risk!.acceptedFixedNs).toBeGreaterThan(0);
    expect(risk!.rejectedNs).toBeGreaterThan(0);

    expect(memory!.operations.operations).toBeGreaterThanOrEqual(1000);
    expect(memory!.operations.rssAfterLoadMb).toBeGreaterThan(0);
    expect(memory!.operations.acceptedShare).toBeGreaterThanOrEqual(0.999);
    expect(memory!.outages.map((o) => o.endpoints)).toEqual(["hanging", "closed-port"]);
    for (const outage of memory!.outages) {
      expect(outage.samples.length).toBeGreaterThanOrEqual(3);
      expect(outage.acceptedShare).toBeGreaterThanOrEqual(0.999);
      // Nothing reaches a dead collector: what is not held is dropped, and counted.
      expect(outage.droppedSpans).toBeGreaterThan(0);
    }
    expect(backup!.database.operations).toBe(2000);
    // The first backup has nothing to compete with: it must succeed, with the whole database.
    expect(backup!.first).toMatchObject({ status: "succeeded", operations: 2000, files: expect.any(Number) });
    expect(backup!.first.bytesAdded).toBeGreaterThan(0);
    expect(backup!.first.resticCpuSec).toBeGreaterThan(0);
    expect(backup!.rounds).toHaveLength(1);
    for (const window of [backup!.rounds[0]!.without, backup!.rounds[0]!.during]) {
      expect(window.rps).toBeGreaterThan(0);
      expect(window.p99Ms).toBeGreaterThanOrEqual(window.p50Ms);
      expect(window.acceptedShare).toBeGreaterThanOrEqual(0.999);
      expect(window.loop.maxMs).toBeGreaterThan(0);
    }
    // The copy runs on a connection of its own: saturating load does not keep it from ending.
    expect(backup!.rounds[0]!.backup.status).toBe("succeeded");
    expect(backup!.rpsRatio).toBeGreaterThan(0);

    expect(security!.database.operations).toBe(2000);
    expect(security!.baselineFiles).toBeGreaterThan(0);
    expect(security!.rounds).toHaveLength(1);
    const checks = security!.rounds[0]!;
    // The window lasts until a check has ended in it, however short the run.
    expect(checks.checks.filter((c) => c.endedUnderLoad).length).toBeGreaterThanOrEqual(1);
    for (const check of [checks.first, checks.alone, ...checks.checks]) {
      // Every check runs, under load too: one that could not would say why here.
      expect(check.unavailable).toEqual([]);
      expect(check.durationSec).toBeGreaterThan(0);
      expect(check.stepsMs["OG-INT-002"]).toBeGreaterThan(0);
    }
    for (const window of [checks.without, checks.during]) {
      expect(window.rps).toBeGreaterThan(0);
      expect(window.p99Ms).toBeGreaterThanOrEqual(window.p50Ms);
      expect(window.acceptedShare).toBeGreaterThanOrEqual(0.999);
      expect(window.loop.maxMs).toBeGreaterThan(0);
    }
    expect(security!.rpsRatio).toBeGreaterThan(0);

    expect(reports!.database).toMatchObject({ operations: 2000, days: 365 });
    expect(reports!.database.aggregateRows).toBeGreaterThan(0);
    for (const request of reports!.requests) {
      expect(request.ms).toHaveLength(1);
      expect(request.bytes).toBeGreaterThan(0);
    }

    expect(open!.map((o) => o.load.name)).toEqual(["one at a time, 2 ms apart", "100 req/s"]);
    for (const { bare, opsguard, more } of open!) {
      // The floor with durability: the bare route with opsguard's commits, on a real SQLite file.
      for (const run of [bare, opsguard, more.durable!]) {
        expect(run.requests).toBeGreaterThan(0);
        expect(run.acceptedShare).toBe(1);
        expect(run.p99Ms).toBeGreaterThanOrEqual(run.p50Ms);
      }
      expect(opsguard.loop!.maxMs).toBeGreaterThan(0);
    }

    expect(events!.rounds).toHaveLength(1);
    const delivered = events!.rounds[0]!.delivered;
    // The phase itself fails unless every consumer got every event; here: there were some.
    expect(delivered.recorded).toBeGreaterThan(0);
    expect(delivered.streamMin).toBe(delivered.recorded);
    expect(delivered.webhookEvents).toHaveLength(2);
    // The load beside the server without consumers used about the consumers' CPU.
    expect(events!.rounds[0]!.matchedLoadCores).toBeGreaterThan(0);
    for (const window of [events!.rounds[0]!.none, events!.rounds[0]!.matched, events!.rounds[0]!.with]) {
      expect(window.rps).toBeGreaterThan(0);
      expect(window.acceptedShare).toBeGreaterThanOrEqual(0.999);
    }

    // Phase 12: the server with the firm-wide limits on reserved in PostgreSQL; both took the load.
    expect(global!.rounds).toHaveLength(1);
    expect(global!.reserved).toBeGreaterThan(0);
    for (const window of [global!.rounds[0]!.without, global!.rounds[0]!.with]) {
      expect(window.rps).toBeGreaterThan(0);
      expect(window.acceptedShare).toBeGreaterThanOrEqual(0.999);
    }

    expect(results.targets.length).toBeGreaterThanOrEqual(19);
    expect(output).toContain("| target | goal | measured | met |");
  }, 240_000);

  it("times the statements of a submit and of a close, two commits each (bench/statements.ts)", async () => {
    dir = tempDir("opsguard-bench-statements-");
    const output = await runScript(["bench/statements.ts", "300"], dir);
    const [submit, close] = output.split(/^close: /m);
    expect(submit).toMatch(/^submit: +[\d.]+ µs per operation, +[\d.]+ µs of it in statements$/m);
    // The design's commits: the pending row before the execution, the open row before the answer;
    // the close request before the venue is asked, the booking after.
    expect(submit).toMatch(/^ +2\.00 +[\d.]+ +exec: COMMIT$/m);
    expect(close).toMatch(/^ +2\.00 +[\d.]+ +exec: COMMIT$/m);
    expect(close).toMatch(/^ +1\.00 +[\d.]+ +UPDATE operations SET status = 'closed'/m);
    // A submit looks its client id up once: again after its awaits only if an operation was
    // inserted meanwhile.
    expect(submit).toMatch(
      /^ +1\.00 +[\d.]+ +SELECT \* FROM operations WHERE strategy = \? AND client_id = \?/m,
    );
    // The paper venue with no latency reads an order once: nothing can have changed it meanwhile.
    for (const part of [submit, close])
      expect(part).toMatch(
        /^ +1\.00 +[\d.]+ +SELECT entry_price, entry_at, exit_price, exit_at FROM paper_orders/m,
      );
    // The pages each commit wrote: sqlite_sequence only in the commit with the event (the audit
    // log's entry gives its own seq), about once per operation in each half (2 before), and no
    // index of the events' time. Pages move between trees as they split, so the counts are close.
    const [, submitFrames, closeFrames] = output.split(/^(?:submit|close): (?=[\d.]+ WAL frames)/m);
    for (const frames of [submitFrames!, closeFrames!]) {
      expect(frames).toMatch(/^[\d.]+ WAL frames per operation in 2\.00 commits$/m);
      const sequence = Number(/^ +([\d.]+) +sqlite_sequence$/m.exec(frames)?.[1]);
      expect(sequence).toBeGreaterThan(0.9);
      expect(sequence).toBeLessThan(1.1);
      expect(frames).not.toMatch(/events_at/);
    }
  }, 60_000);

  it("measures the CPU per event of the event streams, as a web stream and as Node's response (bench/stream-writes.ts)", async () => {
    dir = tempDir("opsguard-bench-streams-");
    const output = await runScript(["bench/stream-writes.ts", "0.5", "5", "1", "0.2"], dir);
    for (const condition of [
      "web stream, 25 ms",
      "response, 25 ms",
      "response, 50 ms",
      "response, 100 ms",
      "response, 100 ms, gzip",
    ]) {
      expect(output).toMatch(
        new RegExp(`^${condition} +\\d+ events/s, server [\\d.]+% of a core, [\\d.]+ µs per event$`, "m"),
      );
      expect(output).toMatch(new RegExp(`^${condition} +[\\d.]+ µs$`, "m"));
    }
  }, 60_000);

  it("says what ran in each event-loop gap and how much the process ran (bench/profile-gaps.ts)", () => {
    // Samples 1 ms apart from t = 1,000,000 µs: a busy function, then idle, then a gap of 10 ms
    // in which only 3 samples were taken (the process off the CPU the rest of it).
    const profile = {
      startTime: 1_000_000,
      nodes: [
        { id: 1, callFrame: { functionName: "(root)", url: "", lineNumber: 0 }, children: [2, 3] },
        {
          id: 2,
          callFrame: { functionName: "book", url: `file://${ROOT}dist/operations/closes.js`, lineNumber: 9 },
        },
        { id: 3, callFrame: { functionName: "(idle)", url: "", lineNumber: 0 } },
      ],
      samples: [2, 2, 3, 3, 2, 2, 2],
      timeDeltas: [1_000, 1_000, 1_000, 1_000, 1_000, 5_000, 1_000],
    };
    const gaps = lineUp(
      profile,
      [
        [1_004_500, 10_000],
        [1_000_000, 5_000], // shorter than the minimum asked for
      ],
      8,
    );
    expect(gaps).toEqual([
      { atSec: 0.0045, ms: 10, samples: 3, top: [{ name: "book dist/operations/closes.js:10", samples: 3 }] },
    ]);
  });

  it("compares two builds in alternating windows (bench/interleaved.ts)", async () => {
    dir = tempDir("opsguard-bench-interleaved-");
    const lines: string[] = [];
    // The same build twice: the comparison's machinery, not a difference, is what is checked.
    const dist = join(ROOT, "dist");
    const result = await interleave(dist, dist, { windows: 3, rate: 50, seconds: 1 }, (line) =>
      lines.push(line),
    );
    // The first pair warms both up and is left out.
    expect(result.a).toHaveLength(2);
    expect(result.b).toHaveLength(2);
    for (const window of [...result.a, ...result.b]) {
      expect(window.requests).toBeGreaterThan(0);
      expect(window.acceptedShare).toBe(1);
      expect(window.mainThreadBusy).toBeGreaterThan(0);
    }
    expect(lines.map((line) => line.split(":")[0])).toEqual([
      "window 0 A",
      "window 0 B",
      "window 1 B",
      "window 1 A",
      "window 2 A",
      "window 2 B",
    ]);
  }, 120_000);
});
