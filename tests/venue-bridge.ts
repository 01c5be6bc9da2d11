import { once } from "node:events";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo, Socket } from "node:net";
import { createRandom } from "../src/execution/random.js";

// A broker bridge written from docs/webhook-executor.md, with faults on demand. Not a test file.

/** The calls opsguard makes, as the bridge sees them. */
export type BridgeCall = "quote" | "open" | "close" | "status";

/**
 * What goes wrong with a call:
 * - `error`: answers 500 without executing; `busy`: answers 503 ("not now", nothing executed);
 * - `hang`: never answers, executes nothing; `reset`: drops the connection, executes nothing;
 * - `lost`: executes the order, then drops the connection: the venue acted, opsguard never hears;
 * - `late`: executes the order and never answers.
 */
export type Fault = "error" | "busy" | "hang" | "reset" | "lost" | "late";

/**
 * A fault on one kind of call: on every call, on the next `times` calls, or at random at `rate`
 * (then one of `fault` at random, when it lists several); only for the calls `only` accepts (it
 * gets the operation id of an order or status, the instrument of a quote).
 */
export interface FaultPlan {
  fault: Fault | readonly Fault[];
  times?: number;
  rate?: number;
  only?: (target: string) => boolean;
}

/** A fill as the bridge answers it. */
export interface BridgeFill {
  price: string;
  at: number;
}

/** What the venue holds for an operation: the truth opsguard must end up agreeing with. */
export type VenueState =
  | { state: "unknown" }
  | { state: "open"; entry: BridgeFill }
  | { state: "closed"; entry: BridgeFill; exit: BridgeFill };

/**
 * An idempotent bridge in front of a simulated venue, as the protocol document asks: the same
 * operation id and action execute once, every later request returns the same fill; a status of
 * `unknown` fences the id. Prices are set by the test. Faults are injected per kind of call, and
 * the whole bridge can go down (connections refused) and come back on the same port.
 */
export class VenueBridge {
  /** Base URL, for `executor.webhook.url`. */
  url = "";
  /** Orders received per `<id>/<action>`, retries included; each executes once. */
  readonly orders = new Map<string, number>();
  /** Requests received, by kind of call. */
  readonly received: Record<BridgeCall, number> = { quote: 0, open: 0, close: 0, status: 0 };
  private readonly fills = new Map<string, BridgeFill>();
  private readonly fenced = new Set<string>();
  private readonly prices = new Map<string, string>();
  private readonly faults = new Map<BridgeCall, FaultPlan>();
  private readonly sockets = new Set<Socket>();
  private readonly hung = new Set<ServerResponse>();
  private server: Server;
  private port = 0;
  private random: () => number;

  constructor(prices: Record<string, string> = { "BTC-USD": "65000.00", "ETH-USD": "3200.00" }, seed = 7) {
    for (const [instrument, price] of Object.entries(prices)) this.prices.set(instrument, price);
    // Seeded, so a chaos run's faults repeat from run to run.
    this.random = createRandom(seed);
    this.server = this.createServer();
  }

  /** Starts listening on a loopback port (the same one again after {@link down}). */
  async up(): Promise<this> {
    this.server = this.createServer();
    this.server.listen(this.port, "127.0.0.1");
    await once(this.server, "listening");
    this.port = (this.server.address() as AddressInfo).port;
    this.url = `http://127.0.0.1:${this.port}`;
    return this;
  }

  /** Stops listening and drops every connection: from now on connections are refused. */
  async down(): Promise<void> {
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    for (const socket of this.sockets) socket.destroy();
    this.hung.clear();
    await closed;
  }

  /** The market price of `instrument` from now on (a decimal string). */
  setPrice(instrument: string, price: string): void {
    this.prices.set(instrument, price);
  }

  /** Injects `plan` on `call`s, or on every kind when `call` is `all`; `undefined` clears it. */
  fault(call: BridgeCall | "all", plan: FaultPlan | undefined): void {
    const calls: BridgeCall[] = call === "all" ? ["quote", "open", "close", "status"] : [call];
    for (const c of calls) {
      if (plan) this.faults.set(c, { ...plan });
      else this.faults.delete(c);
    }
  }

  /** What the venue holds for `id`. */
  state(id: string): VenueState {
    const entry = this.fills.get(`${id}/open`);
    if (!entry) return { state: "unknown" };
    const exit = this.fills.get(`${id}/close`);
    return exit ? { state: "closed", entry, exit } : { state: "open", entry };
  }

  /** Every operation id the venue has executed an open for. */
  operations(): string[] {
    return [...this.fills.keys()].filter((k) => k.endsWith("/open")).map((k) => k.slice(0, -5));
  }

  private createServer(): Server {
    const server = createServer((req, res) => void this.handle(req, res));
    server.on("connection", (socket) => {
      this.sockets.add(socket);
      socket.once("close", () => this.sockets.delete(socket));
    });
    return server;
  }

  /** Requests that are hanging (a `hang` or `late` fault) and not yet dropped. */
  get hanging(): number {
    return this.hung.size;
  }

  /** The fault to apply to this call, if any; a `times` plan is used up. */
  private faultFor(call: BridgeCall, target: string): Fault | undefined {
    const plan = this.faults.get(call);
    if (!plan || (plan.only && !plan.only(target))) return undefined;
    if (plan.rate !== undefined && this.random() >= plan.rate) return undefined;
    if (plan.times !== undefined) {
      if (plan.times <= 0) return undefined;
      plan.times--;
    }
    if (typeof plan.fault === "string") return plan.fault;
    return plan.fault[Math.floor(this.random() * plan.fault.length)];
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    let body = "";
    for await (const chunk of req) body += String(chunk);
    const [kind, rawId, action] = new URL(req.url ?? "/", "http://bridge").pathname
      .split("/")
      .slice(1)
      .map(decodeURIComponent);
    const id = rawId ?? "";
    const call: BridgeCall | undefined =
      req.method === "GET" && kind === "quotes"
        ? "quote"
        : req.method === "GET" && kind === "orders" && !action
          ? "status"
          : req.method === "POST" && kind === "orders" && (action === "open" || action === "close")
            ? action
            : undefined;
    if (!call) return send(res, 404, { error: "no such route" });
    this.received[call]++;
    const fault = this.faultFor(call, id);
    if (fault === "error") return send(res, 500, { error: "simulated bridge error" });
    if (fault === "busy") return send(res, 503, { error: "simulated maintenance" });
    if (fault === "hang") return this.hang(res);
    if (fault === "reset") return void req.socket.destroy();

    if (call === "quote") {
      const price = this.prices.get(id);
      return price
        ? send(res, 200, { price, at: Date.now() })
        : send(res, 404, { error: "no such instrument" });
    }
    if (call === "status") {
      const state = this.state(id);
      if (state.state === "unknown") {
        this.fenced.add(id); // the promise behind this answer: never execute this id
        return send(res, 404, { error: "unknown operation" });
      }
      return send(res, 200, state);
    }
    if (this.fenced.has(id)) return send(res, 409, { error: "operation reported unknown; not executing it" });
    if (call === "close" && !this.fills.has(`${id}/open`)) return send(res, 409, { error: "not open" });
    const key = `${id}/${call}`;
    this.orders.set(key, (this.orders.get(key) ?? 0) + 1);
    let fill = this.fills.get(key);
    if (!fill) {
      const { instrument } = JSON.parse(body) as { instrument: string };
      fill = { price: this.prices.get(instrument)!, at: Date.now() };
      this.fills.set(key, fill);
    }
    if (fault === "lost") return void req.socket.destroy();
    if (fault === "late") return this.hang(res);
    send(res, 200, fill);
  }

  private hang(res: ServerResponse): void {
    this.hung.add(res);
    res.once("close", () => this.hung.delete(res));
  }
}

function send(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { "content-type": "application/json" }).end(JSON.stringify(body));
}
