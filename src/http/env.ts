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
  Variables: {
    requestId: string;
    principal: Principal;
  };
}
