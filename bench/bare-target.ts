/**
 * The baseline: a bare Hono app on @hono/node-server with one route that parses the same JSON
 * body as `POST /v1/operations` and answers 201 with a small JSON object. Nothing else: no
 * middleware, no validation, no database. Prints `{"port": N}` on stdout once listening.
 */
import { serve } from "@hono/node-server";
import { Hono } from "hono";

const app = new Hono();
let sequence = 0;
app.post("/v1/operations", async (c) => {
  const body = await c.req.json<{ clientId?: unknown }>();
  sequence += 1;
  return c.json({ id: String(sequence), clientId: body.clientId, status: "open" }, 201);
});

const server = serve({ fetch: app.fetch, port: 0, hostname: "127.0.0.1" }, (info) => {
  process.stdout.write(`${JSON.stringify({ port: info.port })}\n`);
});
process.on("SIGTERM", () => server.close(() => process.exit(0)));
