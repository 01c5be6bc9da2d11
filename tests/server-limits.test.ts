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

/** POSTs `chunks` to `path`, chunked (no content-length) unless `length` is given. */
function post(
  port: number,
  token: string,
  chunks: string[],
  length?: number,
): Promise<{ status: number; body: Record<string, unknown> }> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string | number> = {
      authorization: `Bearer ${token}`,
      "content-type": "application/json",
    };
    if (length !== undefined) headers["content-length"] = length;
    // A connection each: one whose body was refused is closed by the server.
    const req = request({
      host: "127.0.0.1",
      port,
      path: "/v1/operations",
      method: "POST",
      headers,
      agent: false,
    });
    req.on("response", (res) => {
      let text = "";
      res.setEncoding("utf8");
      res.on("data", (chunk: string) => (text += chunk));
      res.on("end", () =>
        resolve({ status: res.statusCode!, body: JSON.parse(text) as Record<string, unknown> }),
      );
    });
    req.on("error", reject);
    for (const chunk of chunks) req.write(chunk);
    req.end();
  });
}

describe("request bodies read from the socket", () => {
  let dataDir: string;
  let running: RunningServer | undefined;
  afterEach(async () => {
    await running?.close();
    running = undefined;
    rmSync(dataDir, { recursive: true, force: true });
  });

  it("reads exact JSON in pieces, and refuses a body over server.maxBodyBytes as it arrives", async () => {
    dataDir = tempDir();
    const port = await freePort();
    const config = testConfig(dataDir, {
      server: { host: "127.0.0.1", port, maxBodyBytes: 4096 },
      logging: { console: { enabled: false } },
    });
    running = await startServer(config, { logger: createSilentLogger(), runtimeMetrics: false });
    const token = running.app.tokens.create("operator", "limits").token;
    const body = JSON.stringify({
      clientId: "chunked-1",
      strategy: "trend-follow",
      instrument: "BTC-USD",
      side: "buy",
      size: "0.01",
    });
    const opened = await post(port, token, [body.slice(0, 20), body.slice(20)]);
    expect(opened.status).toBe(201);
    expect(opened.body).toMatchObject({ clientId: "chunked-1", status: "open" });

    const inexact = await post(port, token, [body.replace('"0.01"', "0.10000000000000000001")]);
    expect(inexact.status).toBe(400);
    expect(inexact.body).toMatchObject({ errors: [{ code: "INEXACT_NUMBER", path: "body.size" }] });

    const chunked = await post(
      port,
      token,
      Array.from({ length: 10 }, () => " ".repeat(1000)),
    );
    expect(chunked.status).toBe(413);
    expect(chunked.body).toMatchObject({ code: "PAYLOAD_TOO_LARGE" });
    const declared = await post(port, token, ["{}"], 100_000);
    expect(declared.status).toBe(413);
    // And the server goes on reading the next body as it should.
    expect((await post(port, token, [body.replace("chunked-1", "chunked-2")])).status).toBe(201);
  });
});
