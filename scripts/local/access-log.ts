// The functions' access log is one JSON line per request on stdout; tests and the benchmark keep it
// off the console by handing those lines to a sink of their own.

/** Sends access-log lines to `sink` until the returned function is called. */
export function divertAccessLog(sink: (line: string) => void): () => void {
  const write = process.stdout.write;
  process.stdout.write = function (chunk: unknown, ...rest: unknown[]) {
    if (typeof chunk === 'string' && chunk.startsWith('{"level"')) {
      sink(chunk);
      return true;
    }
    return (write as (...args: unknown[]) => boolean).call(process.stdout, chunk, ...rest);
  } as typeof process.stdout.write;
  return () => {
    process.stdout.write = write;
  };
}
