import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { classifyFailure, readableStderr, redactorFor } from "./restic-errors.js";
import { type BackupProgress, ResticError } from "./restic.js";
import { createSandbox, fakeCalls, fakeRestic, type Sandbox } from "./restic.fixture.js";

// What restic 0.14 (installed here) cannot show: the output of 0.16–0.19, replayed by fake
// binaries from the shapes in restic's source (internal/ui/backup/json.go, restore/json.go,
// cmd_check.go, main.go); and the text of 0.14's failures, as observed from the real one.

let sandbox: Sandbox;
let fakes = 0;
beforeAll(async () => {
  sandbox = await createSandbox();
});
afterAll(() => sandbox.cleanup());

const ID = "c0ffee".padEnd(64, "0123456789abcdef");
/** A shell line printing `lines` (JSON) to stdout, or to stderr with `>&2`. */
const print = (lines: object[], redirect = ""): string =>
  `cat ${redirect} <<'EOF'\n${lines.map((l) => JSON.stringify(l)).join("\n")}\nEOF`;
const exitError = (code: number, message: string) => ({ message_type: "exit_error", code, message });

/** A Restic running a fake `version` whose calls land in a folder of their own. */
async function fake(version: string, body: string) {
  const dir = join(sandbox.dir, `fake-${++fakes}`);
  await mkdir(dir);
  const restic = sandbox.restic({ binary: await fakeRestic(dir, body, version) });
  return { restic, calls: () => fakeCalls(dir) };
}

describe("backup --json across versions", () => {
  it("0.18: full snapshot id in the summary (no look-up), status lines as progress", async () => {
    const status = { message_type: "status", seconds_elapsed: 1, percent_done: 0.5, total_files: 4 };
    const summary = {
      message_type: "summary",
      files_new: 4,
      files_changed: 1,
      files_unmodified: 2,
      data_added: 3000,
      data_added_packed: 2000,
      total_files_processed: 7,
      total_bytes_processed: 2048,
      total_duration: 1.5,
      backup_start: "2025-09-21T10:00:00Z",
      backup_end: "2025-09-21T10:00:01.5Z",
      snapshot_id: ID,
    };
    const f = await fake(
      "0.18.1",
      print([{ ...status, files_done: 2, bytes_done: 1024, total_bytes: 2048 }, summary]),
    );
    const progress: BackupProgress[] = [];
    const result = await f.restic.backup(["/srv/a"], { tags: ["t"], onProgress: (p) => progress.push(p) });

    expect(result).toEqual({
      snapshotId: ID,
      filesNew: 4,
      filesChanged: 1,
      filesUnmodified: 2,
      dataAdded: 3000,
      totalFilesProcessed: 7,
      totalBytesProcessed: 2048,
      totalDurationSeconds: 1.5,
      warnings: [],
    });
    expect(progress).toEqual([
      { percentDone: 0.5, filesDone: 2, totalFiles: 4, bytesDone: 1024, totalBytes: 2048, secondsElapsed: 1 },
    ]);
    expect(await f.calls()).toEqual(["backup --json --tag=t -- /srv/a"]);
  });

  it("0.18 exit code 3: the JSON error lines become readable warnings", async () => {
    const error = { message: "open /srv/a/secret: permission denied" };
    const stderr = print(
      [
        { message_type: "error", error, during: "archival", item: "/srv/a/secret" },
        exitError(3, "Warning: at least one source file could not be read"),
      ],
      ">&2",
    );
    const summary = { message_type: "summary", files_new: 1, snapshot_id: ID };
    const f = await fake("0.18.0", `${print([summary])}\n${stderr}\nexit 3`);
    expect((await f.restic.backup(["/srv/a"], { tags: ["t"] })).warnings).toEqual([
      "/srv/a/secret: open /srv/a/secret: permission denied (during archival)",
      "Warning: at least one source file could not be read",
    ]);
  });

  it("a backup that prints no summary fails", async () => {
    const f = await fake("0.18.0", print([{ message_type: "status", percent_done: 1 }]));
    expect(await f.restic.backup(["/srv/a"], { tags: ["t"] }).catch((e: unknown) => e)).toMatchObject({
      kind: "failed",
      message: "restic backup printed no summary",
    });
  });
});

describe("check across versions", () => {
  it("0.18: --json, findings from its JSON error lines", async () => {
    const stderr = print(
      [
        { message_type: "error", message: `pack ${ID}: does not exist\n` },
        { message_type: "error", message: "\nThe repository is damaged and must be repaired.\n\n" },
        exitError(1, "Fatal: repository contains errors"),
      ],
      ">&2",
    );
    const stdout = print([{ message_type: "summary", num_errors: 1, broken_packs: null }]);
    const f = await fake("0.18.1", `${stdout}\n${stderr}\nexit 1`);
    expect(await f.restic.check({ readDataSubset: "1/10" })).toEqual({
      ok: false,
      errors: [`pack ${ID}: does not exist`, "The repository is damaged and must be repaired."],
    });
    expect(await f.calls()).toEqual(["check --json --read-data-subset=1/10"]);
  });

  it("0.17: no --json (it has none); a check that cannot run throws instead of reporting damage", async () => {
    const f = await fake("0.17.3", "echo 'Fatal: wrong password or no key found' >&2\nexit 12");
    expect(await f.restic.check().catch((e: unknown) => e)).toMatchObject({
      kind: "wrong_password",
      exitCode: 12,
    });
    expect(await f.calls()).toEqual(["check"]);
  });
});

describe("restore across versions", () => {
  it("0.16+: --json status lines as progress (not the summary)", async () => {
    const lines = [
      { message_type: "status", seconds_elapsed: 1, percent_done: 0.5, total_files: 2, files_restored: 1 },
      { message_type: "summary", seconds_elapsed: 1, total_files: 2, files_restored: 2, total_bytes: 100 },
    ];
    const f = await fake("0.16.0", print([{ ...lines[0], total_bytes: 100, bytes_restored: 50 }, lines[1]!]));
    const progress: unknown[] = [];
    await f.restic.restore(ID.slice(0, 8), "/tmp/target", { onProgress: (p) => progress.push(p) });
    expect(progress).toEqual([{ percentDone: 0.5, filesDone: 1, bytesDone: 50 }]);
    expect(await f.calls()).toEqual([`restore --json --target=/tmp/target ${ID.slice(0, 8)}`]);
  });

  it("0.15: no --json, no progress", async () => {
    const f = await fake("0.15.2", "echo 'restoring <Snapshot> to /tmp/target'");
    const progress: unknown[] = [];
    await f.restic.restore("latest", "/tmp/target", { onProgress: (p) => progress.push(p) });
    expect(progress).toEqual([]);
    expect(await f.calls()).toEqual(["restore --target=/tmp/target latest"]);
  });

  it("refuses a snapshot id that is not one (it could pass for a flag)", async () => {
    const f = await fake("0.18.0", "exit 0");
    await expect(f.restic.restore("--help", "/tmp/target")).rejects.toThrow(/invalid snapshot id/);
  });
});

describe("exit codes of 0.17+ and JSON exit errors of 0.18+", () => {
  it.each([
    [10, "no_repository"],
    [11, "locked"],
    [12, "wrong_password"],
  ])("exit %i is %s, whatever the text", async (code, kind) => {
    const f = await fake(
      "0.18.0",
      `${print([exitError(code, "Fatal: some new wording")], ">&2")}\nexit ${code}`,
    );
    const error = await f.restic.snapshots().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ResticError);
    expect(error).toMatchObject({
      kind,
      exitCode: code,
      message: `restic snapshots failed (exit ${code}): some new wording`,
    });
  });

  it("locked (11): forget clears stale locks once, retries once, then reports the live lock", async () => {
    const body = `[ "$1" = unlock ] && exit 0\necho 'repository is already locked exclusively by PID 4242' >&2\nexit 11`;
    const f = await fake("0.17.0", body);
    const error = await f.restic.forget({ keepDaily: 7 }, { tags: ["t"] }).catch((e: unknown) => e);
    expect(error).toMatchObject({ kind: "locked", exitCode: 11 });
    const forget = "forget --json --tag=t --keep-daily=7";
    expect(await f.calls()).toEqual([forget, "unlock", forget]);
  });

  it("0.18 snapshots without the deprecated short_id", async () => {
    const snapshot = { time: "2025-09-21T10:00:00.123456789+02:00", tree: ID, paths: ["/srv/a"], id: ID };
    const f = await fake("0.18.1", print([[snapshot]]));
    expect(await f.restic.snapshots()).toEqual([
      { id: ID, shortId: ID.slice(0, 8), time: snapshot.time, hostname: "", paths: ["/srv/a"], tags: [] },
    ]);
  });

  it("output of another shape is a failure, not a crash", async () => {
    const garbled = await fake("0.18.1", "echo 'not JSON'");
    await expect(garbled.restic.snapshots()).rejects.toMatchObject({
      kind: "failed",
      message: "unexpected output from restic snapshots",
    });
    const wrongShape = await fake("0.18.1", print([{ snapshots: "?" }]));
    await expect(wrongShape.restic.snapshots()).rejects.toMatchObject({ kind: "failed" });
  });

  it("refuses restic older than 0.14, and a version it cannot read", async () => {
    const old = await fake("0.13.1", "exit 0");
    await expect(old.restic.version()).rejects.toThrow(
      "restic 0.13.1 is older than 0.14, the oldest supported",
    );
    const odd = sandbox.restic({ binary: await fakeRestic(sandbox.dir, "exit 0", "x") });
    await expect(odd.version()).rejects.toThrow(/unrecognised restic version/);
  });
});

describe("0.14's failures, from its text (observed from the real restic)", () => {
  it.each([
    ["Fatal: wrong password or no key found", "wrong_password"],
    [
      "unable to create lock in backend: repository is already locked by PID 17109 on vm by root (UID 0, GID 0)",
      "locked",
    ],
    [
      "Fatal: unable to open config file: stat /x/config: no such file or directory\nIs there a repository at the following location?\n/x",
      "no_repository",
    ],
    [
      'Fatal: unable to open config file: Stat: Get "http://127.0.0.1:1/b/?location=": dial tcp 127.0.0.1:1: connect: connection refused\nIs there a repository at the following location?',
      "unreachable",
    ],
    [
      "subprocess ssh: ssh: Could not resolve hostname nohost.invalid: Name or service not known\nFatal: unable to open repository at sftp:nohost.invalid:/x: unable to start the sftp session, error: EOF",
      "unreachable",
    ],
    [
      "Fatal: unable to open repository at /etc/hostname/repo: ReadDir: open /etc/hostname/repo/keys: not a directory",
      "unreachable",
    ],
    [
      "Fatal: unable to open config file: stat /r/config: permission denied\nIs there a repository at the following location?",
      "unreachable",
    ],
    ["Fatal: all target directories/files do not exist", "failed"],
  ])("%s → %s", (stderr, kind) => {
    expect(classifyFailure(1, stderr)).toBe(kind);
  });

  it("turns 0.14's JSON error lines (a marshalled Go error) into text", () => {
    const line =
      '{"message_type":"error","error":{"Op":"read","Path":"/proc/self/mem","Err":5},"during":"archival","item":"/proc/self/mem"}';
    expect(readableStderr(`${line}\n\nWarning: at least one source file could not be read\n`)).toEqual([
      "/proc/self/mem: read /proc/self/mem: errno 5 (during archival)",
      "Warning: at least one source file could not be read",
    ]);
  });

  it("redacts the repository in both forms restic prints, URL passwords, and env values", () => {
    const redact = redactorFor("rest:https://ops:pa55word@backup.example:8000/opsguard/", {
      B2_ACCOUNT_KEY: "K000secretkey",
      PATH: "/usr/bin",
      SHORT: "eu",
    });
    expect(
      redact("at rest:https://ops:***@backup.example:8000/opsguard/: key K000secretkey, PATH /usr/bin, eu"),
    ).toBe("at <repository>: key <redacted>, PATH /usr/bin, eu");
    expect(redact('Head "https://ops:***@backup.example:8000/opsguard/config"')).toBe(
      'Head "https://<redacted>@backup.example:8000/opsguard/config"',
    );
  });
});
