/**
 * The consumers of phase 11, in a process of their own: webhook endpoints that acknowledge every
 * delivery at once, and event-stream clients that read everything. Driven over stdin/stdout:
 * prints `{"ports":[…]}` once the endpoints listen; on
 * `connect <url> <token> <clients> <plain|gzip> [query…]` opens the streams (asking for gzip and
 * decompressing it with `gzip`; client i with the i-th query, round robin, if any are given) and
 * prints `{"connected":n}`; on `counts` prints what each received so far.
 *
 * The clients count frames by their `id:` lines instead of parsing each event: a hundred of them
 * share two cores with the server under test, and should cost it as little as a real consumer on
 * another machine would.
 */
import { createServer, get, type IncomingMessage } from "node:http";
import { createInterface } from "node:readline";
import { createGunzip } from "node:zlib";

const endpoints = Number(process.argv[2] ?? 2);
const webhookEvents: number[] = Array.from({ length: endpoints }, () => 0);
const webhookDeliveries: number[] = Array.from({ length: endpoints }, () => 0);
const streamEvents: number[] = [];
let streamsClosed = 0;

const ports = await Promise.all(
  webhookEvents.map(
    (_, index) =>
      new Promise<number>((resolve) => {
        const server = createServer((request, response) => {
          const chunks: Buffer[] = [];
          request.on("data", (chunk: Buffer) => chunks.push(chunk));
          request.on("end", () => {
            const body = JSON.parse(Buffer.concat(chunks).toString()) as { events: unknown[] };
            webhookEvents[index]! += body.events.length;
            webhookDeliveries[index]! += 1;
            response.writeHead(204).end();
          });
        });
        server.listen(0, "127.0.0.1", () => {
          const address = server.address();
          resolve(typeof address === "object" && address ? address.port : 0);
        });
      }),
  ),
);
process.stdout.write(`${JSON.stringify({ ports })}\n`);

function openStream(url: string, token: string, index: number, gzip: boolean, query = ""): Promise<void> {
  return new Promise((resolve, reject) => {
    streamEvents[index] = 0;
    const request = get(
      `${url}/v1/events${query}`,
      // With gzip, as a browser's EventSource or fetch asks: a gzip stream where the server offers one.
      { headers: { authorization: `Bearer ${token}`, ...(gzip ? { "accept-encoding": "gzip" } : {}) } },
      (res: IncomingMessage) => {
        if (res.statusCode !== 200) {
          reject(new Error(`stream ${index}: ${res.statusCode}`));
          return;
        }
        let carry = "";
        const body = res.headers["content-encoding"] === "gzip" ? res.pipe(createGunzip()) : res;
        body.setEncoding("utf8");
        body.on("data", (text: string) => {
          const lines = (carry + text).split("\n");
          carry = lines.pop()!;
          for (const line of lines) if (line.startsWith("id: ")) streamEvents[index]! += 1;
        });
        body.on("end", () => streamsClosed++);
        resolve();
      },
    );
    request.on("error", reject);
  });
}

createInterface({ input: process.stdin }).on("line", (line) => {
  const [command, ...args] = line.trim().split(" ");
  if (command === "connect") {
    const [url, token, clients, encoding, ...queries] = args as [string, string, string, string, ...string[]];
    const queryOf = (i: number): string => (queries.length > 0 ? queries[i % queries.length]! : "");
    void Promise.all(
      Array.from({ length: Number(clients) }, (_, i) =>
        openStream(url, token, i, encoding === "gzip", queryOf(i)),
      ),
    ).then(
      () => process.stdout.write(`${JSON.stringify({ connected: Number(clients) })}\n`),
      (error: unknown) => {
        process.stderr.write(`${(error as Error).message}\n`);
        process.exit(1);
      },
    );
  } else if (command === "counts") {
    process.stdout.write(
      `${JSON.stringify({ streamEvents, streamsClosed, webhookEvents, webhookDeliveries })}\n`,
    );
  }
});
