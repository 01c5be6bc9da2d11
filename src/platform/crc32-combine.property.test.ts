import { crc32 } from "node:zlib";
import fc from "fast-check";
import { expect, it } from "vitest";
import { crc32Combine } from "./crc32-combine.js";

it("gives the CRC-32 of two byte strings one after the other, as zlib computes it over both", () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 3_000 }), fc.uint8Array({ maxLength: 3_000 }), (a, b) => {
      const both = Buffer.concat([a, b]);
      expect(crc32Combine(crc32(a), crc32(b), b.length)).toBe(crc32(both));
    }),
    { numRuns: 500 },
  );
});

it("combines a long second part, and an empty one", () => {
  const a = Buffer.from("data: first\n\n");
  const b = Buffer.alloc(5_000_000, 0x61);
  expect(crc32Combine(crc32(a), crc32(b), b.length)).toBe(crc32(Buffer.concat([a, b])));
  expect(crc32Combine(crc32(a), crc32(Buffer.alloc(0)), 0)).toBe(crc32(a));
});
