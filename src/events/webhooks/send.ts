import { VERSION } from "../../platform/version.js";
import { eventJson, type StoredEvent } from "../model.js";
import { DELIVERY_HEADER, SIGNATURE_HEADER } from "./signature.js";

/** One POST of a batch to an endpoint. */
export interface WebhookRequest {
  url: string;
  deliveryId: string;
  /** The JSON body, as signed. */
  body: string;
  /** The `opsguard-signature` header. */
  signature: string;
  /** Aborts the request: the attempt's deadline, or the delivery stopping. */
  signal: AbortSignal;
}

/** How an attempt ended: a 2xx acknowledges the batch, anything else is retried. */
export type WebhookResult = { ok: true; status: number } | { ok: false; status?: number; error?: string };

/** Sends one request; the transport the deliveries use, replaceable in tests. */
export type SendWebhook = (request: WebhookRequest) => Promise<WebhookResult>;

/**
 * The body of a delivery: `{"deliveryId": …, "events": [<event JSON>…]}`, each event as
 * `GET /v1/events` carries it, spliced in as text rather than parsed and serialized again.
 */
export function batchBody(deliveryId: string, events: readonly StoredEvent[]): string {
  return `{"deliveryId":${JSON.stringify(deliveryId)},"events":[${events.map(eventJson).join(",")}]}`;
}

/**
 * POSTs a batch with `fetch`. Redirects are not followed: a signed body goes only to the URL
 * configured, and a 3xx is a failure like any other non-2xx answer. The answer's body is never
 * read, so a receiver cannot make opsguard hold a large one.
 */
export const postWebhook: SendWebhook = async ({ url, deliveryId, body, signature, signal }) => {
  try {
    const response = await fetch(url, {
      method: "POST",
      headers: {
        "content-type": "application/json",
        [DELIVERY_HEADER]: deliveryId,
        [SIGNATURE_HEADER]: signature,
        "user-agent": `opsguard/${VERSION}`,
      },
      body,
      redirect: "manual",
      signal,
    });
    await response.body?.cancel().catch(() => undefined);
    if (response.status >= 200 && response.status < 300) return { ok: true, status: response.status };
    return { ok: false, status: response.status };
  } catch (error) {
    return { ok: false, error: describeFailure(error, signal) };
  }
};

/** A short, secret-free reason: the deadline, or the network error's code (ECONNREFUSED, …). */
function describeFailure(error: unknown, signal: AbortSignal): string {
  if (signal.aborted) {
    const reason = signal.reason as Error | undefined;
    return reason?.name === "TimeoutError" ? "timeout" : "aborted";
  }
  const cause = (error as { cause?: { code?: string; message?: string } }).cause;
  return cause?.code ?? cause?.message ?? (error as Error).message;
}
