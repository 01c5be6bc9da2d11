import { readFileSync } from "node:fs";
import type { WebhookEndpointConfig } from "../../config/schema.js";
import { StartupError } from "../../platform/errors.js";

/**
 * Reads each endpoint's signing secret once, at start: the content of `secretFile` (trimmed, as a
 * file usually ends with a newline), or the value of the variable `secretEnv` names in `env`.
 * Throws a {@link StartupError} naming the key when a secret is missing or empty: an endpoint
 * must never be sent unsigned or signed with an empty key. Returns the secrets by endpoint name.
 */
export function readWebhookSecrets(
  endpoints: readonly WebhookEndpointConfig[],
  env: Readonly<Record<string, string | undefined>>,
): Map<string, string> {
  const secrets = new Map<string, string>();
  endpoints.forEach((endpoint, i) => {
    const key = `webhooks.endpoints.${i}`;
    let secret: string;
    if (endpoint.secretFile !== undefined) {
      try {
        secret = readFileSync(endpoint.secretFile, "utf8").trim();
      } catch (error) {
        throw new StartupError(
          `${key}.secretFile: cannot read ${endpoint.secretFile} (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`,
        );
      }
      if (secret === "") {
        throw new StartupError(
          `${key}.secretFile: ${endpoint.secretFile} is empty; put the signing secret in it`,
        );
      }
    } else {
      secret = env[endpoint.secretEnv ?? ""]?.trim() ?? "";
      if (secret === "") {
        throw new StartupError(
          `${key}.secretEnv: the variable ${endpoint.secretEnv} is not set or empty; set it to the signing secret`,
        );
      }
    }
    secrets.set(endpoint.name, secret);
  });
  return secrets;
}
