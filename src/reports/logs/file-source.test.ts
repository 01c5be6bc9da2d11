import { appendFileSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { readLogFiles, selectLogFiles } from "./file-source.js";
import type { LogEntry } from "./log-line.js";

const at = (iso: string): number => Date.parse(iso);

/** A log line as the logger writes it. */
function json(timestamp: string, msg: string, level = "info"): string {
  return JSON.stringify({ timestamp, level, msg, event: "test.line", service: "opsguard", env: "test" });
}

async function collect(source: AsyncIterable<LogEntry>): Promise<string[]> {
  const seen: string[] = [];
  for await (const entry of source) seen.push(entry.kind === "line" ? entry.line.msg : `<${entry.problem}>`);
  return seen;
}

describe("choosing the rotated files of a window", () => {
  const names = [
    ".opsguard-audit.json",
    "opsguard-2026-01-05.10.log",
    "opsguard-2026-01-05.2.log",
    "opsguard-2026-01-06.log",
    "opsguard-2026-01-04.log",
    "opsguard-2026-01-05.log",
    "opsguard-2026-01-05.1.log",
    "opsguard-2026-01-05.log.gz",
    "opsguard-2026-02-30.log",
    "other-2026-01-05.log",
    "current.log",
  ];

  it("takes the days the window touches, parts in numeric order, and the next day when it ends at midnight", () => {
    expect(selectLogFiles(names, at("2026-01-05T00:00:00Z"), at("2026-01-06T00:00:00Z"))).toEqual([
      "opsguard-2026-01-05.log",
      "opsguard-2026-01-05.1.log",
      "opsguard-2026-01-05.2.log",
      "opsguard-2026-01-05.10.log",
      "opsguard-2026-01-06.log",
    ]);
  });

  it("takes one day for a window inside it", () => {
    expect(selectLogFiles(names, at("2026-01-04T06:00:00Z"), at("2026-01-04T07:00:00Z"))).toEqual([
      "opsguard-2026-01-04.log",
    ]);
  });

  it("takes no file for a window without one, and honours another prefix", () => {
    expect(selectLogFiles(names, at("2026-03-01T00:00:00Z"), at("2026-03-02T00:00:00Z"))).toEqual([]);
    expect(selectLogFiles(names, at("2026-01-05T00:00:00Z"), at("2026-01-05T01:00:00Z"), "other")).toEqual([
      "other-2026-01-05.log",
    ]);
  });
});

describe("reading the rotated files", () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), "opsguard-log-files-"));
    writeFileSync(
      join(dir, "opsguard-2026-01-04.log"),
      [json("2026-01-04T22:00:00.000Z", "jan4 a"), json("2026-01-04T23:59:59.000Z", "jan4 b")].join("\n") +
        "\n",
    );
    writeFileSync(
      join(dir, "opsguard-2026-01-05.log"),
      [
        // Stamped before midnight, written after: the rotator had opened the new day's file.
        json("2026-01-04T23:59:59.999Z", "jan4 late"),
        json("2026-01-05T00:00:00.000Z", "jan5 first"),
        "not json at all",
        JSON.stringify({ level: "info", msg: "no timestamp" }),
        json("2026-01-05T08:00:00.000Z", "jan5 morning", "warn"),
      ].join("\r\n") + "\r\n",
    );
    writeFileSync(
      join(dir, "opsguard-2026-01-05.1.log"),
      json("2026-01-05T12:00:00.000Z", "jan5 noon") + "\n\n",
    );
    writeFileSync(
      join(dir, "opsguard-2026-01-05.2.log"),
      json("2026-01-05T23:00:00.000Z", "jan5 late evening") +
        "\n" +
        '{"timestamp":"2026-01-05T23:30:00.000Z","lev',
    );
    writeFileSync(
      join(dir, "opsguard-2026-01-06.log"),
      json("2026-01-06T00:00:00.500Z", "jan6 first") + "\n",
    );
    writeFileSync(join(dir, ".opsguard-audit.json"), '{"keep":{"days":true,"amount":14},"files":[]}');
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it("yields the lines of the window in file order, and the unparseable ones with their reason", async () => {
    const source = readLogFiles({ dir, from: at("2026-01-05T00:00:00Z"), to: at("2026-01-06T00:00:00Z") });
    expect(await collect(source)).toEqual([
      "jan5 first",
      "<not_json>",
      "<no_timestamp>",
      "jan5 morning",
      "jan5 noon",
      "jan5 late evening",
      "<truncated>",
    ]);
    expect(source.stats).toEqual({
      folderMissing: false,
      files: [
        "opsguard-2026-01-05.log",
        "opsguard-2026-01-05.1.log",
        "opsguard-2026-01-05.2.log",
        "opsguard-2026-01-06.log",
      ],
      filesVanished: 0,
      linesRead: 9,
      outsideWindow: 2,
    });
  });

  it("finds a line written late into the next day's file, and stops reading past the window", async () => {
    const source = readLogFiles({ dir, from: at("2026-01-04T23:00:00Z"), to: at("2026-01-05T00:00:00Z") });
    expect(await collect(source)).toEqual(["jan4 b", "jan4 late"]);
    // 08:00 is far past the window: the rest of that file and the later files are not read.
    expect(source.stats.files).toEqual(["opsguard-2026-01-04.log", "opsguard-2026-01-05.log"]);
    // jan4 a, jan5 first, the two unparseable lines after it (placed at 00:00) and 08:00.
    expect(source.stats.outsideWindow).toBe(5);
  });

  it("keeps a window's bounds: from inclusive, to exclusive", async () => {
    const source = readLogFiles({ dir, from: at("2026-01-05T00:00:00Z"), to: at("2026-01-05T08:00:00Z") });
    expect((await collect(source)).filter((msg) => !msg.startsWith("<"))).toEqual(["jan5 first"]);
  });

  it("reports a missing folder and yields nothing", async () => {
    const source = readLogFiles({ dir: join(dir, "nope"), from: 0, to: at("2030-01-01T00:00:00Z") });
    expect(await collect(source)).toEqual([]);
    expect(source.stats.folderMissing).toBe(true);
  });

  it("reads a file as it was when opened, not what is appended meanwhile", async () => {
    const path = join(dir, "opsguard-2026-01-06.log");
    const source = readLogFiles({ dir, from: at("2026-01-06T00:00:00Z"), to: at("2026-01-07T00:00:00Z") });
    const seen: string[] = [];
    for await (const entry of source) {
      if (entry.kind === "line") seen.push(entry.line.msg);
      appendFileSync(path, json("2026-01-06T01:00:00.000Z", "appended") + "\n");
    }
    expect(seen).toEqual(["jan6 first"]);
  });

  it("parses a complete last line that lacks only its newline", async () => {
    writeFileSync(join(dir, "opsguard-2026-01-07.log"), json("2026-01-07T10:00:00.000Z", "no newline"));
    const source = readLogFiles({ dir, from: at("2026-01-07T00:00:00Z"), to: at("2026-01-08T00:00:00Z") });
    expect(await collect(source)).toEqual(["no newline"]);
  });

  it("places an unparseable line at the time of the line before it, and starts afresh on each iteration", async () => {
    const source = readLogFiles({ dir, from: at("2026-01-05T12:00:00Z"), to: at("2026-01-05T13:00:00Z") });
    expect(await collect(source)).toEqual(["jan5 noon"]);
    expect(await collect(source)).toEqual(["jan5 noon"]);
    // The first file's 5 lines, noon, and 23:00, which ends the read.
    expect(source.stats.linesRead).toBe(7);
  });
});
