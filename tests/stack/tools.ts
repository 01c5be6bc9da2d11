import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { accessSync, constants, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { delimiter, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parse } from "yaml";

/** The repository root. */
export const REPO = fileURLToPath(new URL("../../", import.meta.url));

/** Reads a YAML file, named by an absolute path or one relative to the repository root. */
export function readYaml<T = unknown>(path: string): T {
  return parse(readFileSync(resolve(REPO, path), "utf8")) as T;
}

/** The Debian package that ships each tool the stack tests run. */
const PACKAGES = {
  promtool: "prometheus",
  prometheus: "prometheus",
  amtool: "prometheus-alertmanager",
  "prometheus-alertmanager": "prometheus-alertmanager",
  // No Docker engine is needed: the tests only run `docker-compose config`.
  "docker-compose": "docker-compose",
} as const;

export type Tool = keyof typeof PACKAGES;

/**
 * The absolute path of a tool on PATH. Throws when it is missing: the stack tests fail loudly
 * rather than skip, so a machine without the tools cannot pass by accident.
 */
export function requireTool(name: Tool): string {
  for (const dir of (process.env.PATH ?? "").split(delimiter)) {
    if (!dir) continue;
    const candidate = join(dir, name);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not in this directory
    }
  }
  throw new Error(`${name} is not installed: apt-get install ${PACKAGES[name]} (.ci/run does this)`);
}

export interface RunResult {
  status: number | null;
  /** stdout and stderr together, for assertion messages. */
  output: string;
  stdout: string;
}

/** Runs a tool to completion (bounded by `timeoutMs`). */
export function runTool(name: Tool, args: string[], timeoutMs = 20_000): RunResult {
  const result = spawnSync(requireTool(name), args, { encoding: "utf8", timeout: timeoutMs });
  if (result.error) throw result.error;
  return { status: result.status, output: `${result.stdout}${result.stderr}`, stdout: result.stdout };
}

/** A TCP port that was free a moment ago on 127.0.0.1. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      const port = typeof address === "object" && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/** A fresh temp folder and a function that removes it. */
export function makeTempDir(prefix = "opsguard-stack-"): { path: string; remove(): void } {
  const path = mkdtempSync(join(tmpdir(), prefix));
  return { path, remove: () => rmSync(path, { recursive: true, force: true }) };
}

/**
 * Polls `check` until it returns something other than `undefined`, `null` or `false`, and returns
 * that. Throws after `timeoutMs`, with the last error `check` threw, if any.
 */
export async function waitFor<T>(
  what: string,
  check: () => Promise<T | undefined | null | false> | T | undefined | null | false,
  { timeoutMs = 15_000, intervalMs = 250 }: { timeoutMs?: number; intervalMs?: number } = {},
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const value = await check();
      if (value !== undefined && value !== null && value !== false) return value;
    } catch (error) {
      lastError = error;
    }
    if (Date.now() >= deadline) {
      const cause = lastError instanceof Error ? `; last error: ${lastError.message}` : "";
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${cause}`);
    }
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}

/**
 * Calls `remaining` until it returns an empty list, and returns the last list it returned: empty,
 * or what was still left after `timeoutMs`, for an assertion that names it.
 */
export function pollUntilEmpty<T>(
  what: string,
  remaining: () => Promise<T[]>,
  { timeoutMs = 30_000, intervalMs = 1_000 }: { timeoutMs?: number; intervalMs?: number } = {},
): Promise<T[]> {
  return waitFor(
    what,
    async () => {
      const left = await remaining();
      return left.length === 0 && left;
    },
    { timeoutMs, intervalMs },
  ).catch(() => remaining());
}

/** A long-running tool started by a test, with its recent output for failure messages. */
export interface Daemon {
  process: ChildProcess;
  /** The last 20 kB of stdout and stderr. */
  output(): string;
  /** SIGTERM, then SIGKILL after 5 s; resolves once the process has exited. */
  stop(): Promise<void>;
}

/**
 * Starts a tool in the background and waits (bounded) until `readyUrl` answers 200. Output is
 * drained continuously so a full pipe can never stall the tool.
 */
export async function startDaemon(name: Tool, args: string[], readyUrl: string): Promise<Daemon> {
  const child = spawn(requireTool(name), args, { stdio: ["ignore", "pipe", "pipe"] });
  let output = "";
  const keep = (chunk: Buffer): void => {
    output = (output + chunk.toString()).slice(-20_000);
  };
  child.stdout.on("data", keep);
  child.stderr.on("data", keep);
  let exitCode: number | null | undefined;
  const exited = new Promise<void>((resolve) =>
    child.once("exit", (code) => {
      exitCode = code;
      resolve();
    }),
  );
  const daemon: Daemon = {
    process: child,
    output: () => output,
    async stop() {
      if (exitCode !== undefined) return;
      child.kill("SIGTERM");
      const timer = setTimeout(() => child.kill("SIGKILL"), 5_000);
      await exited;
      clearTimeout(timer);
    },
  };
  try {
    // Resolves as soon as the tool is ready, or has exited (then there is nothing to wait for).
    await waitFor(`${name} to be ready at ${readyUrl}`, async () => {
      if (exitCode !== undefined) return "exited";
      return (await fetch(readyUrl)).ok && "ready";
    });
  } catch (error) {
    await daemon.stop();
    throw new Error(`${(error as Error).message}\n${name} output:\n${output}`);
  }
  if (exitCode !== undefined)
    throw new Error(`${name} exited with ${exitCode} before it was ready:\n${output}`);
  return daemon;
}
