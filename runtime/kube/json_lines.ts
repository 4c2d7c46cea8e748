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
  // The start of a line that has not ended yet, in pieces. Only each new chunk is searched for the line's end:
  // appending to one string and searching it copied the whole pending line for every chunk of it (a Job's
  // event spans several), which was a large share of what a watch allocated.
  const pending: string[] = [];
  try {
    while (true) {
      const { value, done } = await readOrAbort(reader, signal);
      if (done) break;
      let start = 0, nl: number;
      while ((nl = value.indexOf("\n", start)) >= 0) {
        const piece = value.slice(start, nl);
        const line = (pending.length ? pending.splice(0).join("") + piece : piece).trim();
        start = nl + 1;
        if (line) yield JSON.parse(line) as T;
      }
      if (start < value.length) pending.push(value.slice(start));
    }
  } finally {
    // Not awaited: cancelling the body of an aborted stream can wait on the connection.
    reader.cancel().catch(() => {});
  }
}

/**
 * One read, rejected when `signal` aborts first. A promise and a listener per read, both gone when it settles:
 * racing every read with one promise that lives as long as the watch would leave a reaction on it per read, each
 * holding what that read returned (every event of a watch kept until it ended: 15 of 39 MB of heap at 1 x 300).
 */
function readOrAbort<R>(reader: ReadableStreamDefaultReader<R>, signal: AbortSignal) {
  return new Promise<ReadableStreamReadResult<R>>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    if (signal.aborted) return onAbort();
    signal.addEventListener("abort", onAbort, { once: true });
    reader.read().then(resolve, reject).finally(() => signal.removeEventListener("abort", onAbort));
  });
}
