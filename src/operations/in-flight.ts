/**
 * Keeps `work` in `inFlight` under `id` until it settles, so that a concurrent caller (a replayed
 * submit, a second close, reconciliation) joins it instead of starting it again.
 */
export async function tracked<T>(
  inFlight: Map<string, Promise<T>>,
  id: string,
  work: Promise<T>,
): Promise<T> {
  inFlight.set(id, work);
  try {
    return await work;
  } finally {
    inFlight.delete(id);
  }
}
