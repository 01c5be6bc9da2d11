/**
 * CRC-32 (the gzip one) of two byte strings one after the other, from the CRC of each and the
 * length of the second, as zlib's `crc32_combine` computes it. Node exposes `zlib.crc32` but not
 * this; the event streams need it to end a gzip stream whose pieces were compressed once for every
 * client (each piece's CRC computed once), without a pass over each client's bytes.
 */

/** The CRC-32 polynomial, reflected. */
const POLY = 0xedb88320;

/** a(x) · b(x) modulo the polynomial, both reflected 32-bit words. */
function multiplyModP(a: number, b: number): number {
  let m = 0x80000000;
  let product = 0;
  for (;;) {
    if (a & m) {
      product ^= b;
      if ((a & (m - 1)) === 0) break;
    }
    m >>>= 1;
    b = b & 1 ? (b >>> 1) ^ POLY : b >>> 1;
  }
  return product >>> 0;
}

/** x^(2^k) modulo the polynomial, for k from 0 to 31. */
const X2N = (() => {
  const table = new Array<number>(32);
  let p = 0x40000000; // x^1
  table[0] = p;
  for (let k = 1; k < 32; k++) table[k] = p = multiplyModP(p, p);
  return table;
})();

/** x^(n · 2^k) modulo the polynomial. */
function xToThe2N(n: number, k: number): number {
  let p = 0x80000000; // x^0
  while (n > 0) {
    if (n & 1) p = multiplyModP(X2N[k & 31]!, p);
    n = Math.floor(n / 2);
    k++;
  }
  return p;
}

/** The CRC-32 of A followed by B, given CRC(A), CRC(B) and B's length in bytes. */
export function crc32Combine(crcA: number, crcB: number, lengthB: number): number {
  return (multiplyModP(xToThe2N(lengthB, 3), crcA) ^ crcB) >>> 0;
}
