/**
 * Chunks of `size` bytes in all, as one array: the one chunk itself when there is one (most
 * replies arrive in one read), so no copy and no new ArrayBuffer — each of those is also work
 * for the next scavenge, which sweeps the ArrayBuffers that died.
 */
export function joinedBytes<T extends ArrayBufferLike>(
  chunks: readonly Uint8Array<T>[],
  size: number,
): Uint8Array<T | ArrayBuffer> {
  if (chunks.length === 1) return chunks[0]!;
  const all = new Uint8Array(size);
  let offset = 0;
  for (const chunk of chunks) {
    all.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return all;
}
