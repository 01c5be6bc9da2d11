import type { Context } from "hono";
import { routePath } from "hono/route";

/**
 * The route template the request was answered by (`/v1/operations/:id`), never the raw path, so
 * labels and span names stay bounded; `undefined` when no route matched (a 404). Call it after
 * `next()`, once routing has happened.
 */
export function matchedRoute(c: Context): string | undefined {
  const template = routePath(c);
  return template === "" || template.endsWith("*") ? undefined : template;
}
