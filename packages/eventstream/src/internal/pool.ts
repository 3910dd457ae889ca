/**
 * A bump allocator for small byte arrays.
 *
 * In V8, a `Uint8Array` of more than 64 bytes gets its own off-heap backing store: allocating one
 * costs 300–600 ns, more than encoding a whole small frame. Like Node's `Buffer` pool, arrays of up
 * to {@link MAX_POOLED} bytes are carved out of shared {@link SLAB_SIZE}-byte `ArrayBuffer`s
 * instead (about 20 ns). Slabs are fresh, zero-filled, and never reused: a slice is handed out
 * once, so no data can leak from one array to another. The cost is that an array's `.buffer` is
 * the slab (use `byteOffset` / `byteLength`, or `.slice()` for an array with a buffer of its own),
 * and that a retained array keeps its slab alive.
 *
 * @internal
 */

/** Size of a slab. */
export const SLAB_SIZE = 32 * 1024
/** Largest array carved from a slab; larger ones are allocated on their own. */
export const MAX_POOLED = 4 * 1024

let slab = new ArrayBuffer(SLAB_SIZE)
let used = 0

/** A zero-filled `Uint8Array` of `size` bytes, from a slab when small. */
export const alloc = (size: number): Uint8Array => {
  if (size > MAX_POOLED) return new Uint8Array(size)
  // a slab whose buffer was transferred (detached) has a byteLength of 0
  if (used + size > slab.byteLength) {
    slab = new ArrayBuffer(SLAB_SIZE)
    used = 0
  }
  const array = new Uint8Array(slab, used, size)
  used += (size + 7) & ~7
  return array
}

/** A copy of `source[start, end)`, from a slab when small. */
export const copyOf = (source: Uint8Array, start: number, end: number): Uint8Array => {
  const array = alloc(end - start)
  array.set(source.subarray(start, end))
  return array
}
