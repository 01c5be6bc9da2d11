import { describe, expect, it } from "vitest";
import { maskVariables } from "./mask.js";

describe("masking variables before clustering", () => {
  it.each([
    ["operation 01KE6SMQ64HVTP5AEAJGNE0EMS opened", "operation <id> opened"],
    ["request 550e8400-e29b-41d4-a716-446655440000 done in 88ms", "request <id> done in <num>ms"],
    [
      "pnl -12.50 after 3 attempts, ratio 1.5e3 and +4",
      "pnl <num> after <num> attempts, ratio <num> and <num>",
    ],
    ["at 2026-01-05T10:01:02.404Z and 2026-01-05 and 2026-01-05T10:01:02+01:00", "at <ts> and <ts> and <ts>"],
    // A date before a colon, as in the daily report's own line, is a date too.
    ["logs report of 2026-12-01: 0 recommendations", "logs report of <ts>: <num> recommendations"],
    ["connect ECONNREFUSED 10.0.4.17:8443.", "connect ECONNREFUSED <ip>."],
    [
      "instrument \"BTC-USD\" unknown, can't find 'x y' or `cmd`",
      "instrument <str> unknown, can't find <str> or <str>",
    ],
    ['error "a \\"quoted\\" word" here', "error <str> here"],
    ["opening /var/lib/opsguard/opsguard.db failed; GET /health ok", "opening <path> failed; GET /health ok"],
    [
      "request to http://executor.internal:8080/v1/orders/01KE6SMQ64HVTP5AEAJGNE0EMS timed out",
      "request to <url> timed out",
    ],
    [
      "snapshot 4f2a9c1e trace 0af7651916cd43dd8448eb211c80319c flags 0x1F",
      "snapshot <hex> trace <hex> flags <hex>",
    ],
    [
      "version 1.2.3 at 12:30:00 durationMs=1234 3/5 (-7)",
      "version <num> at <num>:<num>:<num> durationMs=<num> <num>/<num> (<num>)",
    ],
  ])("%s", (text, masked) => {
    expect(maskVariables(text)).toBe(masked);
  });

  it("keeps names that merely hold digits or look like hex, and finds ids after a prefix", () => {
    expect(maskVariables("sha256 v2 S01 ipv4 p99 x-5 deadbeef DAILY_LOSS_EXCEEDED")).toBe(
      "sha256 v2 S01 ipv4 p99 x-5 deadbeef DAILY_LOSS_EXCEEDED",
    );
    expect(maskVariables("op_01KE6SMQ64HVTP5AEAJGNE0EMS run-4f2a9c1e")).toBe("op_<id> run-<hex>");
  });

  it("leaves a 26-letter word alone: a ULID starts with a digit 0-7", () => {
    expect(maskVariables("ABCDEFGHJKMNPQRSTVWXYZABCD")).toBe("ABCDEFGHJKMNPQRSTVWXYZABCD");
    expect(maskVariables("7ZZZZZZZZZZZZZZZZZZZZZZZZZ")).toBe("<id>");
  });

  it("gives the same text for lines that differ only in their variables", () => {
    const a = maskVariables(
      "operation 01KE6SMQ64HVTP5AEAJGNE0EMS failed after 3 attempts at 2026-01-05T10:00:00Z",
    );
    const b = maskVariables(
      "operation 01KE6T0A1B2C3D4E5F6G7H8J9K failed after 12 attempts at 2026-01-06T23:59:59.999Z",
    );
    expect(a).toBe(b);
  });
});
