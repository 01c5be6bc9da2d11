import { execFileSync, spawn } from "node:child_process";
import { once } from "node:events";
import { join } from "node:path";
import { ROOT } from "./targets.js";

const SCRIPT = join(ROOT, "bench", "submit.lua");

/** What `bench/submit.lua` prints when wrk is done. */
interface ScriptSummary {
  completed: number;
  rejected: number;
  windowUs: number;
  socketErrors: number;
  latencyUs: { p50: number; p90: number; p99: number; p999: number; max: number };
}

/** One load run after its warm-up, as the load generator saw it. */
export interface LoadResult {
  /** Responses completed after the warm-up. */
  requests: number;
  /** Seconds from the first to the last of those responses. */
  seconds: number;
  /** Requests per second after the warm-up. */
  rps: number;
  /** Answers other than 201 after the warm-up, plus socket errors and timeouts of the whole run. */
  failed: number;
  /** Share of requests answered 201. */
  acceptedShare: number;
  /** Latency of the requests answered 201 after the warm-up. */
  latencyMs: { p50: number; p90: number; p99: number; p999: number; max: number };
}

/** What to send. */
export interface LoadOptions {
  /** Base URL of the server. */
  url: string;
  token: string;
  connections: number;
  threads: number;
  /** Seconds of load first, not counted: connections ramp up, the server warms up. */
  warmupSec: number;
  /** Seconds of measured load after the warm-up. */
  durationSec: number;
  /** Prefix of the clientIds, unique per run: every request carries a fresh clientId. */
  prefix: string;
  /** `maxDurationSec` of each operation, so the supervisor closes it; 0 leaves them open. */
  maxDurationSec?: number;
  /** Polled every 200 ms; once it says yes, wrk is stopped (SIGINT) and reports what it did. */
  stopWhen?: () => Promise<boolean>;
}

/** Fails with a clear message when wrk is not installed (`.ci/run` installs it). */
export function requireWrk(): void {
  try {
    execFileSync("wrk", ["--version"], { stdio: "ignore" });
  } catch (error) {
    // wrk --version exits 1 after printing its version; only a missing binary is fatal.
    if ((error as NodeJS.ErrnoException).code === "ENOENT")
      throw new Error("wrk is not installed: apt-get install wrk (.ci/run does this)");
  }
}

/**
 * Runs wrk with `bench/submit.lua` against `POST /v1/operations`: the warm-up, then the measured
 * seconds, on the same connections; each request with a fresh clientId, cycling through three
 * strategies and instruments. Latency and throughput count only what completes after the warm-up.
 */
export async function runLoad(options: LoadOptions): Promise<LoadResult> {
  const args = [
    `-t${options.threads}`,
    `-c${options.connections}`,
    `-d${options.warmupSec + options.durationSec}s`,
    "--timeout",
    "10s",
    "-s",
    SCRIPT,
    `${options.url}/v1/operations`,
    "--",
    options.prefix,
    options.token || "none",
    String(options.maxDurationSec ?? 0),
    String(options.warmupSec),
  ];
  const child = spawn("wrk", args, { stdio: ["ignore", "pipe", "pipe"] });
  let stdout = "";
  let stderr = "";
  child.stdout.setEncoding("utf8").on("data", (text: string) => (stdout += text));
  child.stderr.setEncoding("utf8").on("data", (text: string) => (stderr += text));
  const exited = once(child, "exit");
  if (options.stopWhen) void watch(options.stopWhen, exited, () => child.kill("SIGINT"));
  const [code] = (await exited) as [number | null];
  const line = stdout.split("\n").find((l) => l.startsWith("{"));
  if (code !== 0 || !line) throw new Error(`wrk failed (${String(code)}): ${stderr}${stdout}`);
  const summary = JSON.parse(line) as ScriptSummary;
  const failed = summary.rejected + summary.socketErrors;
  const seconds = summary.windowUs / 1e6;
  const ms = (us: number): number => Math.round(us) / 1000;
  return {
    requests: summary.completed,
    seconds,
    rps: seconds > 0 ? summary.completed / seconds : 0,
    failed,
    acceptedShare: summary.completed > 0 ? Math.max(0, summary.completed - failed) / summary.completed : 0,
    latencyMs: {
      p50: ms(summary.latencyUs.p50),
      p90: ms(summary.latencyUs.p90),
      p99: ms(summary.latencyUs.p99),
      p999: ms(summary.latencyUs.p999),
      max: ms(summary.latencyUs.max),
    },
  };
}

/** Polls `done` every 200 ms until it says yes (then calls `stop`) or the run ends by itself. */
async function watch(
  done: () => Promise<boolean>,
  exited: Promise<unknown>,
  stop: () => void,
): Promise<void> {
  let over = false;
  void exited.then(() => (over = true));
  while (!over) {
    await new Promise((resolve) => setTimeout(resolve, 200));
    if (!over && (await done().catch(() => false))) {
      stop();
      return;
    }
  }
}
