import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { loadConfig } from "./load.js";
import { Config } from "./schema.js";

describe("opsguard.example.yaml", () => {
  it("is valid and documents exactly the defaults", () => {
    const path = fileURLToPath(new URL("../../opsguard.example.yaml", import.meta.url));
    const { config } = loadConfig({ path, env: {} });
    expect(config).toEqual(Config.parse({}));
  });
});
