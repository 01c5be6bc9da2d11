import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { fileURLToPath } from "node:url";
import { stringify } from "yaml";
import type { ConfigInput } from "../src/config/schema.js";
import { benchConfig, type TelemetryEndpoints } from "./config.js";
import { parseSamples, type Sample } from "./prometheus.js";

/** The project root, where `dist/` and `node_modules/` are. */
export const ROOT = fileURLToPath(new URL("..", import.meta.url));
/** The build under test: `dist/` unless another was asked for (to compare two builds). */
let main = join(ROOT, "dist", "main.js");
const BARE = join(ROOT, "bench", "bare-target.ts");
const DURABLE = join(ROOT, "bench", "durable-target.ts");
const CLOCK_TICKS_PER_SECOND = Number(execFileSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).trim());

/** A server under test, in a child process of its own. */
export interface Target {
  name: string;
  process: ChildProcess;
  /** `http://127.0.0.1:<port>` */
  url: string;
  /** A bearer token with the admin role; empty for the bare server. */
  token: string;
  /** The config file it was started with (opsguard only), for the CLI beside it. */
  configPath?: string;
  /** User plus system CPU time the process has used, in seconds. */
  cpuSeconds(): number;
  /**
   * The same for its main thread alone (the event loop's thread; not its worker threads, libuv's
   * pool or V8's helpers), in seconds.
   */
  mainThreadCpuSeconds(): number;
  /** The same for its children that have exited (restic, for opsguard), in seconds. */
  childCpuSeconds(): number;
  /** Resident set size now, in bytes. */
  rssBytes(): number;
  /** The samples of its `/metrics` page (opsguard only). */
  metrics(): Promise<Sample[]>;
  /** A GET with the token, parsed as JSON. */
  get<T>(path: string): Promise<T>;
  /** SIGTERM, then SIGKILL if it has not exited within 15 s; removes its data folder. */
  stop(): Promise<void>;
}

/** A clean environment: no OPSGUARD_* or OTEL_* variable of the caller may change the config. */
const CLEAN_ENV = { PATH: process.env.PATH, HOME: process.env.HOME };

/** Where `.cpuprofile` files go, when profiling was asked for. */
let profileDir: string | undefined;

/** Makes every target started from now on write a CPU profile into `dir`. */
export function profileTargetsInto(dir: string | undefined): void {
  profileDir = dir;
  if (dir) mkdirSync(dir, { recursive: true });
}

/** Node.js flags of every target started from now on. */
let nodeFlags: string[] = [];

/** Gives every target started from now on these Node.js flags (separated by spaces). */
export function nodeFlagsForTargets(flags: string | undefined): void {
  nodeFlags = flags ? flags.split(" ").filter(Boolean) : [];
}

/** Runs every opsguard started from now on from the build in `dir` (its `main.js`). */
export function useBuild(dir: string): void {
  main = join(resolve(ROOT, dir), "main.js");
}

/** What a phase changes in an opsguard under test, besides its telemetry. */
export interface OpsguardSetup {
  /** Fills the fresh data folder before the server starts, e.g. with a database to start on. */
  prepare?: (dataDir: string) => void;
  /** Sections that replace {@link benchConfig}'s (for example `backup`). */
  config?: ConfigInput;
}

/**
 * Starts `node dist/main.js serve` (the CLI as shipped, run from the build) on a fresh data
 * folder with {@link benchConfig} and the given telemetry endpoints; waits until `/readyz` answers.
 */
export async function startOpsguard(
  name: string,
  telemetry: TelemetryEndpoints,
  setup: OpsguardSetup = {},
): Promise<Target> {
  if (!existsSync(main)) throw new Error(`${main} is missing: run \`npm run build\` (npm run bench does)`);
  const dataDir = mkdtempSync(join(tmpdir(), "opsguard-bench-"));
  setup.prepare?.(dataDir);
  const port = await freePort();
  const configPath = join(dataDir, "opsguard.yaml");
  const config = { ...benchConfig(dataDir, telemetry), ...setup.config };
  writeFileSync(configPath, stringify({ ...config, server: { ...config.server, port } }));
  const child = spawnNode([main, "serve", "--config", configPath]);
  const url = `http://127.0.0.1:${port}`;
  const target = describe(name, child, url, dataDir);
  await waitUntilReady(target, () => `${url}/readyz`);
  return Object.assign(target, {
    token: readFileSync(join(dataDir, "admin-token"), "utf8").trim(),
    configPath,
  });
}

/**
 * Runs `node dist/main.js <args> --config <its config>` beside a running opsguard (the CLI of the
 * same build, in the same clean environment) and returns what it printed; throws when it fails.
 */
export function runOpsguardCli(target: Target, args: string[]): string {
  if (!target.configPath) throw new Error(`${target.name} is not an opsguard started with a config`);
  return execFileSync(process.execPath, [main, ...args, "--config", target.configPath], {
    cwd: ROOT,
    env: CLEAN_ENV,
    encoding: "utf8",
    stdio: ["ignore", "pipe", "pipe"],
  });
}

/**
 * Starts the bare Hono server of `bench/bare-target.ts`, or with `durable` the same route with
 * the commits of `bench/durable-target.ts`; it reports its port on stdout.
 */
export async function startBare(name: string, durable = false): Promise<Target> {
  const child = spawnNode(["--import", "tsx", durable ? DURABLE : BARE]);
  let port = 0;
  child.stdout!.setEncoding("utf8").on("data", (text: string) => {
    const match = /"port":(\d+)/.exec(text);
    if (match) port = Number(match[1]);
  });
  const target = describe(name, child, "", undefined);
  await waitUntilReady(target, () => (port ? `http://127.0.0.1:${port}/` : undefined));
  target.url = `http://127.0.0.1:${port}`;
  return target;
}

function spawnNode(args: string[]): ChildProcess {
  const profile = profileDir ? ["--cpu-prof", `--cpu-prof-dir=${profileDir}`] : [];
  return spawn(process.execPath, [...profile, ...nodeFlags, ...args], {
    cwd: ROOT,
    env: CLEAN_ENV,
    stdio: ["ignore", "pipe", "pipe"],
  });
}

function describe(name: string, child: ChildProcess, url: string, dataDir: string | undefined): Target {
  const stderr: string[] = [];
  child.stderr!.setEncoding("utf8").on("data", (text: string) => stderr.push(text));
  // Drained, so a chatty child can never block on a full pipe.
  child.stdout!.resume();
  const exited = once(child, "exit");
  const pid = child.pid!;
  const target: Target = {
    name,
    process: child,
    url,
    token: "",
    cpuSeconds() {
      // utime and stime are fields 14 and 15 of the whole line, 12 and 13 after "pid (comm) ".
      return cpuOf(`/proc/${pid}/stat`, 11);
    },
    mainThreadCpuSeconds() {
      // The main thread is the task whose id is the process's.
      return cpuOf(`/proc/${pid}/task/${pid}/stat`, 11);
    },
    childCpuSeconds() {
      // cutime and cstime, fields 16 and 17: children counted once they have been waited for.
      return cpuOf(`/proc/${pid}/stat`, 13);
    },
    rssBytes() {
      const match = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
      return Number(match?.[1] ?? 0) * 1024;
    },
    async metrics() {
      const response = await fetch(`${target.url}/metrics`);
      return parseSamples(await response.text());
    },
    async get<T>(path: string) {
      const response = await fetch(`${target.url}${path}`, {
        headers: { authorization: `Bearer ${target.token}` },
      });
      if (!response.ok) throw new Error(`${name}: GET ${path} answered ${response.status}`);
      return (await response.json()) as T;
    },
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill("SIGTERM");
        const killer = setTimeout(() => child.kill("SIGKILL"), 15_000);
        await exited;
        clearTimeout(killer);
      }
      if (dataDir) rmSync(dataDir, { recursive: true, force: true });
    },
  };
  void exited.then(([code]) => {
    if (code !== 0 && code !== null)
      process.stderr.write(`${name} exited with ${String(code)}: ${stderr.join("")}\n`);
  });
  return target;
}

/** The user and system times at `index` and the next (0-based, after "pid (comm) ") of a `stat` file of `/proc`, in seconds. */
export function cpuOf(statPath: string, index: number): number {
  const fields = readFileSync(statPath, "utf8").split(") ")[1]!.split(" ");
  return (Number(fields[index]) + Number(fields[index + 1])) / CLOCK_TICKS_PER_SECOND;
}

async function waitUntilReady(target: Target, probe: () => string | undefined): Promise<void> {
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    if (target.process.exitCode !== null) throw new Error(`${target.name} exited while starting`);
    const url = probe();
    if (url) {
      const ok = await fetch(url).then(
        (response) => response.status < 500,
        () => false,
      );
      if (ok) return;
    }
    await sleep(100);
  }
  await target.stop();
  throw new Error(`${target.name} did not become ready within 30 s`);
}

/** A loopback port that was free a moment ago. */
export async function freePort(): Promise<number> {
  const server = createServer();
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const address = server.address();
  const port = typeof address === "object" && address ? address.port : 0;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}
