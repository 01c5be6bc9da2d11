import type { HttpBindings } from "@hono/node-server";
import type { Role } from "./tokens.js";

/** The caller, once authenticated. */
export interface Principal {
  /** Token id (never the secret). */
  id: string;
  name: string;
  role: Role;
}

/** Hono context variables shared by middleware and routes. */
export interface AppEnv {
  /** Node's request and response, when served by @hono/node-server; absent in process (`app.request`). */
  Bindings: Partial<HttpBindings>;
  Variables: {
    requestId: string;
    principal: Principal;
  };
}
