import { execFileSync } from "node:child_process";
import { setTimeout as sleep } from "node:timers/promises";
import { sumOf } from "./prometheus.js";
import { round } from "./stats.js";
import type { Target } from "./targets.js";

/** A backup run as `GET /v1/backups/runs/{id}` shows it. */
export interface RunView {
  id: string;
  status: "running" | "succeeded" | "failed";
  reason: string | null;
  startedAt: string;
  finishedAt: string | null;
  details: Record<string, unknown>;
}

/** The event loop's delay over a stretch of time, in milliseconds. */
export interface LoopDelay {
  maxMs: number;
  p99Ms: number;
}

/**
 * CPU time of the server, of its main thread and of its children that have exited (restic), at
 * one moment.
 */
export interface CpuMark {
  at: number;
  server: number;
  mainThread: number;
  children: number;
}

/** Fails with a clear message when restic is not installed: the service would only log it. */
export function requireRestic(): void {
  try {
    execFileSync("restic", ["version"], { stdio: "ignore" });
  } catch {
    throw new Error("restic is not installed: apt-get install restic (the backup phase runs it)");
  }
}

/** `POST /v1/backups` as the admin; the id of the run it started. */
export async function startBackup(target: Target): Promise<string> {
  const response = await fetch(`${target.url}/v1/backups`, {
    method: "POST",
    headers: { authorization: `Bearer ${target.token}` },
  });
  if (response.status !== 202)
    throw new Error(`POST /v1/backups answered ${response.status}: ${await response.text()}`);
  return ((await response.json()) as RunView).id;
}

export function getRun(target: Target, id: string): Promise<RunView> {
  return target.get<RunView>(`/v1/backups/runs/${id}`);
}

/** Polls the run every 200 ms until it has ended. */
export async function waitForRun(target: Target, id: string, timeoutMs = 900_000): Promise<RunView> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const run = await getRun(target, id);
    if (run.status !== "running") return run;
    if (Date.now() > deadline) throw new Error(`backup ${id} still running after ${timeoutMs / 1000} s`);
    await sleep(200);
  }
}

/**
 * The event loop's delay since the previous scrape, from the server's `/metrics`: prom-client
 * reads `perf_hooks.monitorEventLoopDelay` (10 ms resolution) at each scrape and then resets it,
 * so a scrape at the start of a stretch and one at its end give the stretch's maximum and p99.
 */
export async function readLoopDelay(target: Target): Promise<LoopDelay> {
  const samples = await target.metrics();
  return {
    maxMs: round(sumOf(samples, "nodejs_eventloop_lag_max_seconds") * 1000, 1),
    p99Ms: round(sumOf(samples, "nodejs_eventloop_lag_p99_seconds") * 1000, 1),
  };
}

export function markCpu(target: Target): CpuMark {
  return {
    at: performance.now(),
    server: target.cpuSeconds(),
    mainThread: target.mainThreadCpuSeconds(),
    children: target.childCpuSeconds(),
  };
}

/** Seconds from a run's start to its end, by its own record. */
export function durationOf(run: RunView): number {
  return run.finishedAt === null
    ? Number.NaN
    : (Date.parse(run.finishedAt) - Date.parse(run.startedAt)) / 1000;
}

/** A number from a run's details, 0 when it has none (a failed run). */
export function detail(run: RunView, key: string): number {
  const value = run.details[key];
  return typeof value === "number" ? value : 0;
}
