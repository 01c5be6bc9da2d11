import { describe, expect, it } from "vitest";
import { testConfig, tempDir } from "../../tests/harness.js";
import { startAlertReceiver } from "./alert-receiver.js";
import { UsageError } from "./usage-error.js";

describe("opsguard alert-receiver", () => {
  const config = testConfig(tempDir(), { logging: { console: { enabled: false } } });

  it("refuses a port that is not a whole number from 0 to 65535, naming it", async () => {
    for (const port of ["abc", "-1", "65536", "1.5", ""]) {
      await expect(startAlertReceiver(config, { port })).rejects.toThrow(UsageError);
    }
    await expect(startAlertReceiver(config, { port: "x9" })).rejects.toThrow(/--port .* not x9/);
  });

  it("listens where asked and answers its health check until closed", async () => {
    const receiver = await startAlertReceiver(config, { port: "0" });
    try {
      expect(receiver.port).toBeGreaterThan(0);
      expect((await fetch(`http://127.0.0.1:${receiver.port}/healthz`)).status).toBe(200);
    } finally {
      await receiver.close();
    }
  });
});
