import type { Context } from "hono";
import { matchedRoutes } from "hono/route";

/**
 * The route template of the handler that answers the request (`/v1/operations/:id`), never the
 * raw path, so labels and span names stay bounded; `undefined` when no route matched (a 404).
 * Known even when a middleware answered first (a 401 from authentication): the router matched
 * every handler of the request before any ran. Middleware mounted on a wildcard (`/v1/*`) is not a
 * route.
 */
export function matchedRoute(c: Context): string | undefined {
  const routes = matchedRoutes(c);
  for (let i = routes.length - 1; i >= 0; i--) {
    const { path } = routes[i]!;
    if (path !== "" && !path.endsWith("*")) return path;
  }
  return undefined;
}
