import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { createInterface } from "node:readline";

export const MAIN = new URL("../dist/main.js", import.meta.url).pathname;

/** A `node dist/main.js` child process and what it told us. */
export interface Child {
  process: ChildProcess;
  port: number;
  /** The admin token from `<dataDir>/admin-token` (or the file named by the caller). */
  token: string;
  exited: Promise<number | null>;
}

/**
 * Starts `opsguard serve` (or another command) as a child process on a free port and waits for
 * its `server.ready` log line (or `server.started`, when it listens, with `until: "started"`).
 * Fails loudly when the build is missing.
 */
export async function startChild(
  dataDir: string,
  args: string[] = ["serve"],
  env: Record<string, string> = {},
  tokenFile = "admin-token",
  until: "started" | "ready" = "ready",
): Promise<Child> {
  if (!existsSync(MAIN)) throw new Error(`${MAIN} is missing: run \`npm run build\` first (npm test does)`);
  const child = spawn(process.execPath, [MAIN, ...args], {
    // Backups run restic, and the security checks npm audit (the registry), on schedules: the
    // tests of each turn them on.
    env: {
      PATH: process.env.PATH,
      OPSGUARD_DATA_DIR: dataDir,
      OPSGUARD_SERVER_PORT: "0",
      OPSGUARD_BACKUP_ENABLED: "false",
      OPSGUARD_SECURITY_SCHEDULE_CHECKS: "off",
      OPSGUARD_REPORTS_SCHEDULE: "off",
      ...env,
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  const stderr: string[] = [];
  child.stderr.on("data", (chunk: Buffer) => stderr.push(chunk.toString()));
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`no server.${until} within 15 s; stderr: ${stderr.join("")}`)),
      15_000,
    );
    void exited.then((code) =>
      reject(new Error(`exited with ${code} before starting; stderr: ${stderr.join("")}`)),
    );
    let started: number | undefined;
    createInterface({ input: child.stdout }).on("line", (line) => {
      try {
        const entry = JSON.parse(line) as { event?: string; port?: number };
        if (entry.event === "server.started" && entry.port) started = entry.port;
        if (started !== undefined && (until === "started" || entry.event === "server.ready")) {
          clearTimeout(timer);
          resolve(started);
        }
      } catch {
        // not a JSON log line
      }
    });
  });
  const token = readFileSync(`${dataDir}/${tokenFile}`, "utf8").trim();
  return { process: child, port, token, exited };
}
