import { rmSync } from "node:fs";
import { afterEach, describe, expect, it } from "vitest";
import { createApp } from "../src/app.js";
import { startServer, type RunningServer } from "../src/cli/serve.js";
import { createSilentLogger } from "../src/platform/logger.js";
import { submitBody, tempDir, testConfig } from "./harness.js";
import { freePort, waitFor } from "./stack/tools.js";
import { VenueBridge } from "./venue-bridge.js";

/**
 * A restart with an execution left unknown, while the bridge does not answer status checks: the
 * process must be up (`/healthz`) at once, say it is not ready yet (`/readyz`), and refuse new
 * operations until it has asked, not hang before listening.
 */
describe("start-up reconciliation", () => {
  let dataDir: string;
  let bridge: VenueBridge;
  let running: RunningServer | undefined;
  afterEach(async () => {
    await running?.close();
    running = undefined;
    await bridge.down();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it("listens first: /healthz answers while /readyz and submits wait for reconciliation", async () => {
    dataDir = tempDir();
    bridge = await new VenueBridge().up();
    const port = await freePort();
    const config = testConfig(dataDir, {
      server: { host: "127.0.0.1", port },
      executor: { type: "webhook", webhook: { url: bridge.url, timeoutMs: 1_500, retries: 0 } },
      supervisor: { monitorIntervalMs: 50 },
      logging: { console: { enabled: false } },
    });

    // A previous run: the venue opened it, the answer never came.
    const first = createApp(config, { logger: createSilentLogger(), runtimeMetrics: false });
    const token = first.tokens.create("operator", "strategy").token;
    await first.start();
    bridge.fault("open", { fault: "lost" });
    const lost = await first.http.request("/v1/operations", {
      method: "POST",
      headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
      body: JSON.stringify(submitBody()),
    });
    expect(lost.status).toBe(504);
    const { operationId } = (await lost.json()) as { operationId: string };
    await first.stop();

    bridge.fault("open", undefined);
    bridge.fault("status", { fault: "hang" });
    const starting = startServer(config, { logger: createSilentLogger(), runtimeMetrics: false });
    const base = `http://127.0.0.1:${port}`;
    await waitFor("/healthz to answer", async () => (await fetch(`${base}/healthz`)).ok, { intervalMs: 20 });
    expect(bridge.hanging).toBe(1); // the status question is out, unanswered

    const readyz = await fetch(`${base}/readyz`);
    expect(readyz.status).toBe(503);
    expect(await readyz.json()).toEqual({ status: "starting" });
    const early = await fetch(`${base}/v1/operations`, {
      method: "POST",
      headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
      body: JSON.stringify(submitBody()),
    });
    expect(early.status).toBe(503);
    expect(early.headers.get("retry-after")).toBe("1");
    expect(await early.json()).toMatchObject({ code: "NOT_READY" });
    const get = await fetch(`${base}/v1/operations/${operationId}`, {
      headers: { authorization: `Bearer ${token}` },
    });
    expect(await get.json()).toMatchObject({ status: "pending" }); // reads are served meanwhile

    // The status check times out: the operation stays pending, asked about again on each pass.
    running = await starting;
    expect((await fetch(`${base}/readyz`)).status).toBe(200);
    bridge.fault("status", undefined);
    await waitFor(
      "the pending operation to be found open",
      async () => {
        const res = await fetch(`${base}/v1/operations/${operationId}`, {
          headers: { authorization: `Bearer ${token}` },
        });
        return ((await res.json()) as { status: string }).status === "open";
      },
      { intervalMs: 50 },
    );
  });
});
