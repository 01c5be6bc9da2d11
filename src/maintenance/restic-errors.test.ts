import { mkdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { REDACTED_REPOSITORY } from "./restic-errors.js";
import { ResticError } from "./restic.js";
import { createSandbox, fakeCalls, fakeRestic, writeTree, type Sandbox } from "./restic.fixture.js";

// How restic fails, with the real restic where it can fail that way without a repository, and
// fakes for hangs. A wrong password and a damaged repository are in restic.test.ts, which has one.

let sandbox: Sandbox;
let source: string;

beforeAll(async () => {
  sandbox = await createSandbox();
  source = await writeTree(join(sandbox.dir, "source"), {
    "state.db": "rows",
    "notes.txt": "x".repeat(5000),
  });
});
afterAll(() => sandbox.cleanup());

/** The ResticError `promise` rejects with; fails the test if it resolves or throws anything else. */
async function failure(promise: Promise<unknown>): Promise<ResticError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!(error instanceof ResticError)) throw new Error(`expected a ResticError, got ${String(error)}`);
  return error;
}

/** Asserts that nothing in `error` shows one of `secrets`. */
function expectNoSecrets(error: ResticError, secrets: string[]): void {
  const text = `${error.message}\n${error.stderr}\n${error.stack ?? ""}`;
  for (const secret of secrets) expect(text).not.toContain(secret);
}

describe("failures of the real restic, classified", () => {
  it("no repository at the location, with the location redacted", async () => {
    const repository = join(sandbox.dir, "nothing-here");
    const restic = sandbox.restic({ repository });
    // One at a time: a call started before the previous one is awaited could reject unobserved.
    for (const attempt of [
      () => restic.snapshots(),
      () => restic.backup([source], { tags: ["t"] }),
      () => restic.check(),
    ]) {
      const error = await failure(attempt());
      expect(error.kind).toBe("no_repository");
      expect(error.stderr).toContain("Is there a repository at the following location?");
      expect(error.stderr).toContain(REDACTED_REPOSITORY);
      expectNoSecrets(error, [repository]);
    }
  });

  it("unreachable: a local repository path that cannot be read", async () => {
    const file = join(sandbox.dir, "a-file");
    await writeFile(file, "");
    const error = await failure(sandbox.restic({ repository: join(file, "repo") }).snapshots());
    expect(error.kind).toBe("unreachable");
  });

  it("unreachable: a REST server that refuses, without the credentials of its URL", async () => {
    const repository = "rest:http://backup:hunter2-s3cret@127.0.0.1:1/opsguard/";
    const error = await failure(sandbox.restic({ repository }).snapshots());
    expect(error.kind).toBe("unreachable");
    expect(error.message).toMatch(/connection refused/);
    // restic prints the URL as http://backup:***@…: the user name goes too, the host stays.
    expectNoSecrets(error, ["hunter2-s3cret", "backup:", repository]);
    expect(error.stderr).toContain(REDACTED_REPOSITORY);
  });

  it("unreachable: an S3 endpoint that refuses, credentials in env never shown", async () => {
    const env = { AWS_ACCESS_KEY_ID: "AKIAOPSGUARDTEST", AWS_SECRET_ACCESS_KEY: "wJalrXUtnFEMI/K7MDENG" };
    const restic = sandbox.restic({ repository: "s3:http://127.0.0.1:1/bucket", env });
    const error = await failure(restic.snapshots());
    expect(error.kind).toBe("unreachable");
    expectNoSecrets(error, Object.values(env));
  });

  it("missing binary: a path that does not exist, or no restic on PATH", async () => {
    const missing = join(sandbox.dir, "no-such-restic");
    expect(await failure(sandbox.restic({ binary: missing }).version())).toMatchObject({
      kind: "missing_binary",
      message: `restic binary not found: ${missing}`,
    });
    const offPath = sandbox.restic({ env: { PATH: join(sandbox.dir, "empty") } });
    expect((await failure(offPath.snapshots())).kind).toBe("missing_binary");
  });

  it("refuses repository or password settings in env, which would bypass its own", () => {
    for (const key of ["RESTIC_PASSWORD", "RESTIC_PASSWORD_COMMAND", "RESTIC_REPOSITORY_FILE"]) {
      expect(() => sandbox.restic({ env: { [key]: "x" } })).toThrow(key);
    }
  });
});

describe("deadlines and cancellation", () => {
  const fake = (body: string, version?: string) => fakeRestic(sandbox.dir, body, version);

  it("kills a hanging restic at timeoutMs", async () => {
    const restic = sandbox.restic({ binary: await fake("exec sleep 30"), timeoutMs: 300 });
    const started = Date.now();
    const error = await failure(restic.snapshots());
    expect(error).toMatchObject({ kind: "timeout", message: "restic snapshots ran past 300 ms; killed" });
    expect(Date.now() - started).toBeLessThan(2_000);
  });

  it("follows with SIGKILL when restic ignores the stop signal", async () => {
    const binary = await fake("trap '' INT TERM\nexec sleep 30");
    const restic = sandbox.restic({ binary, timeoutMs: 300, killGraceMs: 300 });
    const started = Date.now();
    expect((await failure(restic.prune())).kind).toBe("timeout");
    expect(Date.now() - started).toBeLessThan(2_500);
  });

  it("stops with SIGINT before restic 0.17 and SIGTERM from it: the signal each cleans up on", async () => {
    const seen: string[] = [];
    for (const version of ["0.14.0", "0.17.0"]) {
      const record = join(sandbox.dir, `signal-${version}`);
      const body = `trap 'echo INT > ${record}; exit 130' INT\ntrap 'echo TERM > ${record}; exit 143' TERM\nsleep 5 >/dev/null 2>&1 & wait`;
      const restic = sandbox.restic({ binary: await fake(body, version), timeoutMs: 300 });
      expect((await failure(restic.snapshots())).kind).toBe("timeout");
      seen.push((await readFile(record, "utf8")).trim());
    }
    expect(seen).toEqual(["INT", "TERM"]);
  });

  it("an aborted signal kills restic: killed", async () => {
    const restic = sandbox.restic({ binary: await fake("exec sleep 30") });
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 200);
    const error = await failure(restic.backup([source], { tags: ["t"], signal: controller.signal }));
    expect(error).toMatchObject({ kind: "killed", message: "restic backup was cancelled" });
  });

  it("a signal aborted beforehand: killed, and restic never started", async () => {
    const dir = join(sandbox.dir, "never");
    await mkdir(dir);
    const restic = sandbox.restic({ binary: await fakeRestic(dir, "exit 0") });
    const error = await failure(restic.restore("latest", dir, { signal: AbortSignal.abort() }));
    expect(error.kind).toBe("killed");
    expect(await fakeCalls(dir)).toEqual([]);
  });

  it("a restic killed by someone else: killed", async () => {
    const restic = sandbox.restic({ binary: await fake("kill -9 $$") });
    const error = await failure(restic.unlock());
    expect(error).toMatchObject({ kind: "killed", message: "restic unlock was killed by SIGKILL" });
  });
});
