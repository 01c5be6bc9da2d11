import { describe, expect, it } from "vitest";
import {
  OPERATION_STATUSES,
  canTransition,
  direction,
  exitTriggered,
  resultOf,
  type Operation,
  type OperationStatus,
} from "./model.js";

type ExitFields = Pick<Operation, "side" | "stopLoss" | "takeProfit" | "maxDurationSec" | "openedAt">;

const OPENED = Date.UTC(2026, 0, 5, 12, 0, 0);

function op(overrides: Partial<ExitFields> = {}): ExitFields {
  return {
    side: "buy",
    stopLoss: null,
    takeProfit: null,
    maxDurationSec: null,
    openedAt: OPENED,
    ...overrides,
  };
}

describe("canTransition", () => {
  const allowed = new Set(["pending→open", "pending→failed", "open→closed"]);
  const pairs = OPERATION_STATUSES.flatMap((from) =>
    OPERATION_STATUSES.map((to) => [from, to] as [OperationStatus, OperationStatus]),
  );

  it("covers all 16 pairs of the four statuses", () => {
    expect(pairs).toHaveLength(16);
  });

  it.each(pairs)("%s → %s", (from, to) => {
    expect(canTransition(from, to)).toBe(allowed.has(`${from}→${to}`));
  });

  it("has no way out of closed or failed", () => {
    for (const to of OPERATION_STATUSES) {
      expect(canTransition("closed", to)).toBe(false);
      expect(canTransition("failed", to)).toBe(false);
    }
  });
});

describe("exitTriggered: long", () => {
  const long = op({ side: "buy", stopLoss: 9_900n, takeProfit: 10_200n });

  it("stays open strictly between stop and target", () => {
    expect(exitTriggered(long, 9_901n, OPENED)).toBeNull();
    expect(exitTriggered(long, 10_199n, OPENED)).toBeNull();
  });

  it("stops out at exactly the stop-loss and below it", () => {
    expect(exitTriggered(long, 9_900n, OPENED)).toBe("stop_loss");
    expect(exitTriggered(long, 9_000n, OPENED)).toBe("stop_loss");
  });

  it("takes profit at exactly the target and above it", () => {
    expect(exitTriggered(long, 10_200n, OPENED)).toBe("take_profit");
    expect(exitTriggered(long, 11_000n, OPENED)).toBe("take_profit");
  });
});

describe("exitTriggered: short", () => {
  const short = op({ side: "sell", stopLoss: 10_100n, takeProfit: 9_800n });

  it("stays open strictly between target and stop", () => {
    expect(exitTriggered(short, 10_099n, OPENED)).toBeNull();
    expect(exitTriggered(short, 9_801n, OPENED)).toBeNull();
  });

  it("stops out at exactly the stop-loss and above it", () => {
    expect(exitTriggered(short, 10_100n, OPENED)).toBe("stop_loss");
    expect(exitTriggered(short, 12_000n, OPENED)).toBe("stop_loss");
  });

  it("takes profit at exactly the target and below it", () => {
    expect(exitTriggered(short, 9_800n, OPENED)).toBe("take_profit");
    expect(exitTriggered(short, 1n, OPENED)).toBe("take_profit");
  });

  it("does not read a long's levels: a short's stop is not hit by a falling price", () => {
    expect(exitTriggered(op({ side: "sell", stopLoss: 10_100n }), 9_000n, OPENED)).toBeNull();
    expect(exitTriggered(op({ side: "sell", takeProfit: 9_800n }), 12_000n, OPENED)).toBeNull();
  });
});

describe("exitTriggered: ties and missing levels", () => {
  it("the stop wins when the price reaches both levels at once", () => {
    expect(exitTriggered(op({ side: "buy", stopLoss: 10_000n, takeProfit: 10_000n }), 10_000n, OPENED)).toBe(
      "stop_loss",
    );
    expect(exitTriggered(op({ side: "sell", stopLoss: 10_000n, takeProfit: 10_000n }), 10_000n, OPENED)).toBe(
      "stop_loss",
    );
  });

  it("the stop wins over a due timeout, and a price exit over the timeout", () => {
    const due = OPENED + 30_000;
    expect(exitTriggered(op({ stopLoss: 9_900n, maxDurationSec: 30 }), 9_900n, due)).toBe("stop_loss");
    expect(exitTriggered(op({ takeProfit: 10_200n, maxDurationSec: 30 }), 10_200n, due)).toBe("take_profit");
  });

  it("never triggers without exits", () => {
    expect(exitTriggered(op(), 1n, OPENED + 10 ** 9)).toBeNull();
    expect(exitTriggered(op({ side: "sell" }), 10n ** 12n, OPENED + 10 ** 9)).toBeNull();
  });
});

describe("exitTriggered: timeout", () => {
  const timed = op({ maxDurationSec: 30 });

  it("times out at exactly maxDurationSec, not a millisecond before", () => {
    expect(exitTriggered(timed, 10_000n, OPENED + 29_999)).toBeNull();
    expect(exitTriggered(timed, 10_000n, OPENED + 30_000)).toBe("timeout");
    expect(exitTriggered(timed, 10_000n, OPENED + 90_000)).toBe("timeout");
  });

  it("does not time out an operation that has not opened", () => {
    expect(exitTriggered(op({ maxDurationSec: 30, openedAt: null }), 10_000n, OPENED + 90_000)).toBeNull();
  });

  it("a zero duration is due at once", () => {
    expect(exitTriggered(op({ maxDurationSec: 0 }), 10_000n, OPENED)).toBe("timeout");
  });
});

describe("resultOf", () => {
  it("classifies booked P&L as win, loss or flat", () => {
    expect(resultOf(1n)).toBe("win");
    expect(resultOf(123_456_789n)).toBe("win");
    expect(resultOf(-1n)).toBe("loss");
    expect(resultOf(0n)).toBe("flat");
  });
});

describe("direction", () => {
  it("is +1 for a buy and -1 for a sell", () => {
    expect(direction("buy")).toBe(1n);
    expect(direction("sell")).toBe(-1n);
  });
});
