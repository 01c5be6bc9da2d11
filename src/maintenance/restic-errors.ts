import { setPriority } from "node:os";
import { execa } from "execa";
import type { z } from "zod";

/** The niceness restic runs at (0 normal, 19 lowest): below the service, which keeps trading. */
const RESTIC_NICENESS = 10;

/**
 * How a restic process ends and what a failure means: one process run to its exit, deadline or
 * cancellation; its stderr made readable (0.18+ prints JSON there under `--json`), secrets taken
 * out; the failure classified as a {@link ResticError}; and what is done about a locked repository.
 */

/** The closed set of reasons a restic command fails. */
export const RESTIC_ERROR_KINDS = [
  "missing_binary",
  "wrong_password",
  "no_repository",
  "unreachable",
  "locked",
  "timeout",
  "killed",
  "failed",
] as const;
export type ResticErrorKind = (typeof RESTIC_ERROR_KINDS)[number];

/** Lines of stderr an error keeps: enough to see the cause, bounded for logs. */
export const STDERR_TAIL_LINES = 20;
const MAX_LINE_CHARS = 500;

/** What the placeholder for a redacted repository location reads. */
export const REDACTED_REPOSITORY = "<repository>";
const REDACTED = "<redacted>";

/** A restic command that failed, could not run, or was stopped. Never carries a secret. */
export class ResticError extends Error {
  override name = "ResticError";
  readonly exitCode: number | undefined;
  /** The end of restic's stderr (last {@link STDERR_TAIL_LINES} lines), secrets redacted. */
  readonly stderr: string;
  constructor(
    readonly kind: ResticErrorKind,
    message: string,
    details: { exitCode?: number; stderr?: string } = {},
  ) {
    super(message);
    this.exitCode = details.exitCode;
    this.stderr = details.stderr ?? "";
  }
}

// restic's own network failures, whatever the backend: Go's net package, the ssh subprocess of
// sftp, TLS. Checked before "no repository": an unreachable REST or S3 server also prints "Is
// there a repository at the following location?" on 0.14.
const NETWORK_FAILURE =
  /dial tcp|connection refused|no such host|could not resolve hostname|network is unreachable|no route to host|i\/o timeout|connection reset|tls handshake|x509:|unable to start the sftp session|context deadline exceeded|server misbehaving/i;
const NO_REPOSITORY =
  /Is there a repository at the following location\?|unable to open config file|repository does not exist/i;
// A repository that exists but cannot be read: local permissions or a broken disk.
const UNREADABLE = /permission denied|input\/output error|not a directory|unable to open repository at/i;

/**
 * The kind of a restic failure. restic 0.17+ has exit codes of its own (10 no repository, 11
 * locked, 12 wrong password); before that every failure is exit 1 and only stderr tells them
 * apart (messages from `cmd/restic/main.go` and `global.go`, unchanged from 0.14 to 0.19).
 */
export function classifyFailure(exitCode: number | undefined, stderr: string): ResticErrorKind {
  if (exitCode === 12 || /wrong password or no key found/i.test(stderr)) return "wrong_password";
  if (exitCode === 11 || /repository is already locked/i.test(stderr)) return "locked";
  if (exitCode === 10) return "no_repository";
  if (NETWORK_FAILURE.test(stderr)) return "unreachable";
  if (NO_REPOSITORY.test(stderr)) return UNREADABLE.test(stderr) ? "unreachable" : "no_repository";
  if (UNREADABLE.test(stderr) && /unable to open/i.test(stderr)) return "unreachable";
  return "failed";
}

/**
 * The `error` of a JSON error line: `{message}` from 0.18 on; before that Go marshalled the error
 * value itself, e.g. `{"Op":"read","Path":"/x","Err":5}` for a *PathError, or `{}`.
 */
function describeJsonError(error: unknown): string {
  if (typeof error === "string") return error;
  if (error && typeof error === "object") {
    const e = error as Record<string, unknown>;
    if (typeof e.message === "string") return e.message;
    if (typeof e.Op === "string" && typeof e.Path === "string") {
      return `${e.Op} ${e.Path}: ${typeof e.Err === "number" ? `errno ${e.Err}` : JSON.stringify(e.Err)}`;
    }
    return JSON.stringify(error);
  }
  return "unknown error";
}

/** A JSON object line of restic's output, or undefined for anything else. */
export function jsonLine(line: string): Record<string, unknown> | undefined {
  if (!line.startsWith("{")) return undefined;
  try {
    const value: unknown = JSON.parse(line);
    return value && typeof value === "object" ? (value as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

/** One stderr line made readable: JSON error messages become their text, others stay. */
function readableLine(line: string): string[] {
  const m = jsonLine(line);
  if (!m) return [line];
  // 0.18+ `--json`: {"message_type":"exit_error","code":1,"message":"Fatal: ..."}; check's
  // {"message_type":"error","message":"..."}.
  if (typeof m.message === "string") return m.message.split("\n");
  // backup/restore `--json` errors: {"message_type":"error","error":...,"during":"archival","item":"/x"}
  if (m.message_type === "error") {
    const where = typeof m.item === "string" && m.item !== "" ? `${m.item}: ` : "";
    const during = typeof m.during === "string" ? ` (during ${m.during})` : "";
    return [`${where}${describeJsonError(m.error)}${during}`];
  }
  return [line];
}

/** restic's stderr as readable, non-empty lines (JSON messages turned into their text). */
export function readableStderr(stderr: string): string[] {
  return stderr
    .split("\n")
    .flatMap((line) => readableLine(line.trimEnd()))
    .map((line) => line.trimEnd())
    .filter((line) => line.trim() !== "")
    .map((line) => (line.length > MAX_LINE_CHARS ? `${line.slice(0, MAX_LINE_CHARS)}…` : line));
}

/** The line that best says why a command failed: restic's last "Fatal:" line, else the first. */
export function headline(lines: readonly string[]): string {
  const fatal = lines.findLast((line) => line.startsWith("Fatal:"));
  const line = fatal ?? lines[0] ?? "no error output";
  return line.replace(/^Fatal:\s*/, "");
}

/** The repository as restic prints it: `location.StripPassword` turns `user:pass@` into `user:***@`. */
function strippedRepository(repository: string): string {
  return repository.replace(/(\/\/[^/:@]+:)[^/@]*@/, "$1***@");
}

/** Environment restic gets from the adapter's own options, never from `env`. */
const RESERVED_ENV = /^RESTIC_(REPOSITORY|PASSWORD|CACHE_DIR)/;
const NOT_SECRET_ENV = new Set(["PATH", "HOME", "TMPDIR"]);

/**
 * A function that takes one repository's secrets out of text: its location (in both forms restic
 * prints), the values of its extra environment but PATH, HOME and TMPDIR (credentials), and any
 * `user:password@` in a URL. Refuses an `env` that would replace the repository or password.
 */
export function redactorFor(repository: string, env: Record<string, string>): (text: string) => string {
  const reserved = Object.keys(env).filter((key) => RESERVED_ENV.test(key));
  if (reserved.length > 0) throw new TypeError(`set ${reserved.join(", ")} through the Restic options`);
  const repositoryForms = [...new Set([repository, strippedRepository(repository)])];
  // Longest first, so that a secret containing another is replaced whole. Very short values
  // ("1", "eu") would mangle every message and protect nothing.
  const secrets = Object.entries(env)
    .filter(([key, value]) => !NOT_SECRET_ENV.has(key) && value.length >= 4)
    .map(([, value]) => value)
    .sort((a, b) => b.length - a.length);
  return (text) => {
    let out = text;
    for (const form of repositoryForms) out = out.replaceAll(form, REDACTED_REPOSITORY);
    for (const secret of secrets) out = out.replaceAll(secret, REDACTED);
    return out.replace(/([a-z][a-z0-9+.-]*:\/\/)[^\s/@]+@/gi, `$1${REDACTED}@`);
  };
}

/** How to run one restic process. */
export interface ProcessOptions {
  /** Its whole environment: nothing is inherited. */
  env: Record<string, string>;
  timeoutMs: number;
  /** Sent at the deadline or on cancellation; SIGKILL follows `killGraceMs` later. */
  killSignal: "SIGTERM" | "SIGINT";
  killGraceMs: number;
  redact: (text: string) => string;
  signal?: AbortSignal;
  /** Sees each stdout line; returns true when it consumed it (the line is then not kept). */
  onLine?: (line: string) => boolean;
}

/** How a command ended: stderr as readable, redacted lines; `error` unless it succeeded. */
export interface ProcessResult {
  exitCode: number | undefined;
  stdout: string;
  stderr: string[];
  error?: ResticError;
}

/** Runs `binary command ...args` to its end; never throws. */
export async function runProcess(
  binary: string,
  command: string,
  args: readonly string[],
  options: ProcessOptions,
): Promise<ProcessResult> {
  const { signal, onLine, redact, timeoutMs } = options;
  if (signal?.aborted) {
    const error = new ResticError("killed", `restic ${command} was cancelled before it started`);
    return { exitCode: undefined, stdout: "", stderr: [], error };
  }
  // Lines `onLine` consumes (progress) are dropped here: a long backup buffers none of them.
  const consume = function* (line: string) {
    if (!onLine?.(line)) yield line;
  };
  const child = execa(binary, [command, ...args], {
    env: options.env,
    extendEnv: false,
    stdin: "ignore",
    stdout: onLine ? { transform: consume } : "pipe",
    reject: false,
    timeout: timeoutMs,
    killSignal: options.killSignal,
    forceKillAfterDelay: options.killGraceMs,
    cancelSignal: signal,
  });
  // Backups yield the CPU to trading: restic runs at a low priority (it only takes longer).
  if (child.pid !== undefined) {
    try {
      setPriority(child.pid, RESTIC_NICENESS);
    } catch {
      // A platform without priorities, or a child already gone: it runs as it is.
    }
  }
  const r = await child;
  const stderr = readableStderr(String(r.stderr ?? "")).map(redact);
  const result: ProcessResult = { exitCode: r.exitCode, stdout: String(r.stdout ?? ""), stderr };
  if (!r.failed) return result;
  const details = { stderr: stderr.slice(-STDERR_TAIL_LINES).join("\n") };
  const { exitCode, code } = r;
  if (code === "ENOENT") {
    result.error = new ResticError("missing_binary", `restic binary not found: ${binary}`, details);
  } else if (r.timedOut) {
    result.error = new ResticError("timeout", `restic ${command} ran past ${timeoutMs} ms; killed`, details);
  } else if (r.isCanceled) {
    result.error = new ResticError("killed", `restic ${command} was cancelled`, details);
  } else if (r.signal) {
    result.error = new ResticError("killed", `restic ${command} was killed by ${r.signal}`, details);
  } else if (exitCode === undefined) {
    result.error = new ResticError(
      "failed",
      `restic ${command} could not run (${code ?? "unknown"})`,
      details,
    );
  } else {
    const message = `restic ${command} failed (exit ${exitCode}): ${headline(stderr)}`;
    const kind = classifyFailure(exitCode, stderr.join("\n"));
    result.error = new ResticError(kind, message, { ...details, exitCode });
  }
  return result;
}

/** Most findings `check` reports; the rest are counted. */
const MAX_CHECK_FINDINGS = 100;

/**
 * What `check` found when it failed because the repository is damaged ("repository contains
 * errors", or 0.14's "LoadIndex returned errors"), as opposed to failing to check at all
 * (undefined): its error lines without the verdict and the backend's retry notices.
 */
export function repositoryDamage(stderr: readonly string[]): string[] | undefined {
  if (!stderr.some((line) => /repository contains errors|LoadIndex returned errors/.test(line)))
    return undefined;
  const findings = stderr.filter(
    (line) => !line.startsWith("Fatal:") && !/returned error, retrying after/.test(line),
  );
  const more = findings.length - MAX_CHECK_FINDINGS;
  return more > 0 ? [...findings.slice(0, MAX_CHECK_FINDINGS), `… and ${more} more`] : findings;
}

/** restic's output parsed with `schema`; output of another shape is a `failed` error. */
export function parseOutput<T extends z.ZodType>(schema: T, value: unknown, command: string): z.infer<T> {
  const parsed = schema.safeParse(value);
  if (!parsed.success) throw new ResticError("failed", `unexpected output from restic ${command}`);
  return parsed.data;
}

/** {@link parseOutput} of JSON text; text that is not JSON is a `failed` error too. */
export function parseJsonOutput<T extends z.ZodType>(schema: T, text: string, command: string): z.infer<T> {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new ResticError("failed", `unexpected output from restic ${command}`);
  }
  return parseOutput(schema, value, command);
}

/**
 * Runs `attempt`; if the repository is locked, removes the stale locks with `unlock` and runs it
 * once more. A live lock stays, and so does the `locked` error.
 */
export async function retryingStaleLocks<T>(
  attempt: () => Promise<T>,
  unlock: () => Promise<void>,
): Promise<T> {
  try {
    return await attempt();
  } catch (error) {
    if (!(error instanceof ResticError) || error.kind !== "locked") throw error;
    await unlock();
    return attempt();
  }
}
