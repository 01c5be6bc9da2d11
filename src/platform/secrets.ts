/**
 * Keys whose values are secrets, wherever they appear: log fields and audit details are cleaned
 * with this one list, so a secret kept out of one is kept out of the other.
 */
export const SECRET_KEY =
  /token|secret|password|passphrase|authorization|api[-_]?key|cookie|credential|private[-_]?key/i;

/** Whether `key` names a secret. */
export function isSecretKey(key: string): boolean {
  return SECRET_KEY.test(key);
}
