import { rmSync } from "node:fs";
import { request } from "node:http";
import { afterEach, describe, expect, it } from "vitest";
import { startServer, type RunningServer } from "../src/cli/serve.js";
import { createSilentLogger } from "../src/platform/logger.js";
import { tempDir, testConfig } from "./harness.js";
import { freePort } from "./stack/tools.js";

/** Sends a GET with one header of `bytes` bytes and resolves with the status. */
function getWithHeader(port: number, bytes: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request({
      host: "127.0.0.1",
      port,
      path: "/healthz",
      headers: { "x-padding": "a".repeat(bytes) },
    });
    req.on("response", (res) => {
      res.resume();
      resolve(res.statusCode!);
    });
    req.on("error", reject);
    req.end();
  });
}

describe("the server's header limit", () => {
  let dataDir: string;
  let running: RunningServer | undefined;
  afterEach(async () => {
    await running?.close();
    running = undefined;
    rmSync(dataDir, { recursive: true, force: true });
  });

  it("answers 431 to headers over server.maxHeaderBytes, before any route runs", async () => {
    dataDir = tempDir();
    const port = await freePort();
    const config = testConfig(dataDir, {
      server: { host: "127.0.0.1", port, maxHeaderBytes: 2048 },
      logging: { console: { enabled: false } },
    });
    running = await startServer(config, { logger: createSilentLogger(), runtimeMetrics: false });
    expect(await getWithHeader(port, 1000)).toBe(200);
    expect(await getWithHeader(port, 4000)).toBe(431);
  });
});
