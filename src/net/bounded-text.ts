/**
 * A fetch response's body as text, at most `limit` bytes; null when it is longer (the rest is
 * cancelled, never read). `Response.text()` buffers whatever a peer sends, so a peer that never
 * stops sending would exhaust the process.
 */
export async function boundedText(res: Response, limit: number): Promise<string | null> {
  if (!res.body) return '';
  const reader = res.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > limit) {
      await reader.cancel().catch(() => {});
      return null;
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks).toString('utf8');
}
