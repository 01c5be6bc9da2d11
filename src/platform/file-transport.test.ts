import { once } from "node:events";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, expect, it, vi } from "vitest";
import { BatchedFileTransport, FILE_BATCH_MS, sizeInBytes } from "./file-transport.js";
import { MESSAGE } from "./log-keys.js";

let dir: string;
let transport: BatchedFileTransport | undefined;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "opsguard-file-transport-"));
});

afterEach(async () => {
  if (transport) await closed(transport);
  transport = undefined;
  rmSync(dir, { recursive: true, force: true });
});

function open(maxSize = "20m"): { transport: BatchedFileTransport; path: string } {
  transport = new BatchedFileTransport({
    dirname: dir,
    filename: "opsguard-%DATE%",
    extension: ".log",
    datePattern: "YYYY-MM-DD",
    utc: true,
    maxSize,
    auditFile: join(dir, ".audit.json"),
    options: { flags: "a", mode: 0o600 },
  });
  const path = join(dir, `opsguard-${new Date().toISOString().slice(0, 10)}.log`);
  return { transport, path };
}

/** Closes the transport and waits until its file is written out. */
async function closed(target: BatchedFileTransport): Promise<void> {
  const finished = once(target, "finish");
  target.close();
  await finished;
  transport = undefined;
}

/** The stream the library writes the file through. */
function writesTo(target: BatchedFileTransport) {
  const stream = (target as unknown as { logStream: { write(text: string): boolean } }).logStream;
  return vi.spyOn(stream, "write");
}

const line = (n: number) => ({ [MESSAGE]: JSON.stringify({ msg: `line ${n}` }) });

it("writes the lines of a moment in one write, each line whole and in order", async () => {
  const { transport, path } = open();
  const writes = writesTo(transport);
  for (let i = 0; i < 100; i++) transport.log(line(i), () => {});
  expect(writes).not.toHaveBeenCalled();

  await new Promise((resolve) => setTimeout(resolve, FILE_BATCH_MS * 3));
  expect(writes).toHaveBeenCalledTimes(1);
  await closed(transport);
  const lines = readFileSync(path, "utf8").split("\n");
  expect(lines.pop()).toBe("");
  expect(lines.map((text) => (JSON.parse(text) as { msg: string }).msg)).toEqual(
    Array.from({ length: 100 }, (_, i) => `line ${i}`),
  );
});

it("reaches the file within the batch interval, without a close", async () => {
  const { transport, path } = open();
  transport.log(line(1), () => {});
  while (!existsSync(path) || readFileSync(path, "utf8") === "") {
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  expect(readFileSync(path, "utf8")).toBe('{"msg":"line 1"}\n');
});

it("writes a batch as soon as it reaches the file's maxSize, so that rotation keeps up", () => {
  const { transport } = open("1k");
  const writes = writesTo(transport);
  const long = { [MESSAGE]: "x".repeat(300) };
  for (let i = 0; i < 3; i++) transport.log(long, () => {});
  expect(writes).not.toHaveBeenCalled();
  transport.log(long, () => {});
  expect(writes).toHaveBeenCalledTimes(1);
});

it("writes what it holds when closed", async () => {
  const { transport, path } = open();
  transport.log(line(7), () => {});
  await closed(transport);
  expect(readFileSync(path, "utf8")).toBe('{"msg":"line 7"}\n');
});

it("reads sizes as the config writes them", () => {
  expect(sizeInBytes("20m")).toBe(20 * 1024 * 1024);
  expect(sizeInBytes("1k")).toBe(1024);
  expect(sizeInBytes("2g")).toBe(2 * 1024 ** 3);
  expect(() => sizeInBytes("20")).toThrow(/not a size/);
});
