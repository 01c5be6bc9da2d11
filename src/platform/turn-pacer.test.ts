import { once } from "node:events";
import { connect, createServer, type AddressInfo, type Socket } from "node:net";
import { describe, expect, it } from "vitest";
import { countTurns } from "../../tests/harness.js";
import { TurnPacer } from "./turn-pacer.js";

describe("TurnPacer", () => {
  it("lets a given number of steps go per turn of the event loop, in the order they asked", async () => {
    const pacer = new TurnPacer(3);
    const loop = countTurns();
    const order: number[] = [];
    const turnOf: number[] = [];
    await Promise.all(
      Array.from({ length: 10 }, (_, i) =>
        pacer.turn().then(() => {
          order.push(i);
          turnOf.push(loop.turns);
        }),
      ),
    );
    loop.stop();
    expect(order).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    const perTurn = new Map<number, number>();
    for (const turn of turnOf) perTurn.set(turn, (perTurn.get(turn) ?? 0) + 1);
    expect([...perTurn.values()]).toEqual([3, 3, 3, 1]);
    expect(pacer.queued).toBe(0);
  });

  it("reads the sockets between two releases", async () => {
    const server = createServer();
    server.listen(0, "127.0.0.1");
    await once(server, "listening");
    const client = connect((server.address() as AddressInfo).port, "127.0.0.1");
    const [accepted] = (await once(server, "connection")) as [Socket];
    await once(client, "connect");
    try {
      const pacer = new TurnPacer(1);
      const events: string[] = [];
      accepted.on("data", () => events.push("request read"));
      const first = pacer.turn().then(() => {
        events.push("first");
        // On loopback the bytes are there at once: the loop reads them at its next poll.
        client.write("x");
      });
      const second = pacer.turn().then(() => events.push("second"));
      await Promise.all([first, second]);
      expect(events).toEqual(["first", "request read", "second"]);
    } finally {
      client.destroy();
      accepted.destroy();
      server.close();
    }
  });

  it("refuses a pace that is not a positive whole number", () => {
    expect(() => new TurnPacer(0)).toThrow(RangeError);
    expect(() => new TurnPacer(1.5)).toThrow(RangeError);
  });
});
