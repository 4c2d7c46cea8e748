/**
 * The objects of a stream of JSON lines (a watch's body), one per line, until the stream ends or `signal` aborts.
 *
 * @module
 */

/**
 * Bytes read at a time from a byte stream such as a fetch body: one buffer per stream, reused for every read.
 * Read with a default reader, Deno's fetch body puts every chunk, even an 8-byte one, in a new 64 KiB ArrayBuffer
 * that lives outside V8's heap until a GC finds it dead: with the operator's 8 watches per cluster, one 64 KiB
 * buffer per waiting read and one more per event.
 */
export const READ_BUFFER_BYTES = 16 * 1024;

/**
 * Yields each line of `body` parsed as JSON. Every read is raced with `signal`: an aborted fetch does not always
 * end a pending read of its body (the benchmark's operator, told to stop, waited minutes for its watches until the
 * API server ended them), so an abort ends the loop at once, whatever the connection does.
 */
export async function* jsonLines<T>(
  body: ReadableStream<Uint8Array>,
  signal: AbortSignal,
  bufferBytes: number = READ_BUFFER_BYTES,
): AsyncGenerator<T> {
  const bytes = readsOf(body, bufferBytes);
  const decoder = new TextDecoder();
  // The start of a line that has not ended yet, in pieces. Only each new chunk is searched for the line's end:
  // appending to one string and searching it copied the whole pending line for every chunk of it (a Job's
  // event spans several), which was a large share of what a watch allocated.
  const pending: string[] = [];
  try {
    while (true) {
      const chunk = await orAbort(bytes.read(), signal);
      if (chunk === undefined) break;
      const value = decoder.decode(chunk, { stream: true });
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
    bytes.cancel().catch(() => {});
  }
}

/** Chunks of a stream, then undefined at its end. */
interface Reads {
  read(): Promise<Uint8Array | undefined>;
  cancel(): Promise<void>;
}

/** The reads of `body`: into one reused buffer of `size` bytes when it is a byte stream, else chunk by chunk. */
function readsOf(body: ReadableStream<Uint8Array>, size: number): Reads {
  let byob: ReadableStreamBYOBReader | undefined;
  try {
    byob = body.getReader({ mode: "byob" });
  } catch {
    // Not a byte stream: read as it is.
  }
  if (!byob) {
    const reader = body.getReader();
    return { read: async () => (await reader.read()).value, cancel: () => reader.cancel() };
  }
  const reader = byob;
  let buffer = new ArrayBuffer(size);
  return {
    read: async () => {
      const { value, done } = await reader.read(new Uint8Array(buffer));
      if (value) buffer = value.buffer as ArrayBuffer; // the read hands the buffer back, moved into `value`
      return done ? undefined : value;
    },
    cancel: () => reader.cancel(),
  };
}

/**
 * `read`, rejected when `signal` aborts first. A promise and a listener per read, both gone when it settles:
 * racing every read with one promise that lives as long as the watch would leave a reaction on it per read, each
 * holding what that read returned (every event of a watch kept until it ended: 15 of 39 MB of heap at 1 x 300).
 */
function orAbort<R>(read: Promise<R>, signal: AbortSignal): Promise<R> {
  return new Promise<R>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    if (signal.aborted) {
      read.catch(() => {});
      return onAbort();
    }
    signal.addEventListener("abort", onAbort, { once: true });
    read.then(resolve, reject).finally(() => signal.removeEventListener("abort", onAbort));
  });
}
