import { describe, expect, it } from "vitest";
import { parseTimeframe } from "./timeframe.js";

describe("parseTimeframe", () => {
  const now = Date.parse("2026-12-02T21:00:00Z");
  const firstDay = () => "2026-12-01";

  it("starts a range given only its end at the first day with data", () => {
    expect(parseTimeframe({ to: "2026-12-02" }, now, firstDay)).toEqual({
      name: "custom",
      first: "2026-12-01",
      last: "2026-12-02",
    });
  });

  it("reads a range that ends before any data as that one day, not as from after to", () => {
    expect(parseTimeframe({ to: "2026-11-20" }, now, firstDay)).toEqual({
      name: "custom",
      first: "2026-11-20",
      last: "2026-11-20",
    });
    expect(parseTimeframe({ to: "2026-11-20" }, now, () => undefined)).toMatchObject({ first: "2026-11-20" });
  });

  it("still refuses a from given after to, naming from", () => {
    expect(() => parseTimeframe({ from: "2026-12-01", to: "2026-11-01" }, now, firstDay)).toThrow(
      "from is after to",
    );
  });
});
