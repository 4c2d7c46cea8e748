/**
 * The objects of a stream of JSON lines (a watch's body), one per line, until the stream ends or `signal` aborts.
 *
 * @module
 */

/**
 * Yields each line of `body` parsed as JSON. Every read is raced with `signal`: an aborted fetch does not always
 * end a pending read of its body (the benchmark's operator, told to stop, waited minutes for its watches until the
 * API server ended them), so an abort ends the loop at once, whatever the connection does.
 */
export async function* jsonLines<T>(
  body: ReadableStream<Uint8Array>,
  signal: AbortSignal,
): AsyncGenerator<T> {
  const reader = body.pipeThrough(new TextDecoderStream()).getReader();
  let onAbort = () => {};
  const aborted = new Promise<never>((_, reject) => {
    onAbort = () => reject(signal.reason);
    if (signal.aborted) onAbort();
    signal.addEventListener("abort", onAbort, { once: true });
  });
  aborted.catch(() => {}); // observed by the race below; never an unhandled rejection
  let buffer = "";
  try {
    while (true) {
      const { value, done } = await Promise.race([reader.read(), aborted]);
      if (done) break;
      buffer += value;
      let nl: number;
      while ((nl = buffer.indexOf("\n")) >= 0) {
        const line = buffer.slice(0, nl).trim();
        buffer = buffer.slice(nl + 1);
        if (line) yield JSON.parse(line) as T;
      }
    }
  } finally {
    signal.removeEventListener("abort", onAbort); // a long-lived signal does not collect one per watch
    // Not awaited: cancelling the body of an aborted stream can wait on the connection.
    reader.cancel().catch(() => {});
  }
}
