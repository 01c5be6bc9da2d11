/**
 * Runs one in-process measurement in a process of its own (a fresh heap, no load generator or
 * sink beside it) and prints its result as one JSON line. Started by `bench/run.ts`:
 * `node --import tsx bench/inproc.ts '{"phase":"scrape","targetSeries":1000}'`.
 */
import { measureRisk } from "./risk-phase.js";
import { measureScrape } from "./scrape-phase.js";
import { measureSupervisor } from "./supervisor-phase.js";

/** One in-process measurement and its parameter. */
export type InProcessJob =
  | { phase: "scrape"; targetSeries: number }
  | { phase: "supervisor"; open: number }
  | { phase: "risk"; timeMs: number };

async function run(job: InProcessJob): Promise<unknown> {
  switch (job.phase) {
    case "scrape":
      return measureScrape(job.targetSeries);
    case "supervisor":
      return measureSupervisor(job.open);
    case "risk":
      return measureRisk(job.timeMs);
  }
}

const result = await run(JSON.parse(process.argv[2] ?? "{}") as InProcessJob);
process.stdout.write(`${JSON.stringify(result)}\n`);
// Timers of the app (the paper market, the Loki batch) must not keep the process alive.
process.exit(0);
