/**
 * Preloaded into every test process (`--import`, test/run-tests.ts): a `MaxListenersExceededWarning` fails
 * the file it happens in. Node only warns when listeners pile up on one emitter or AbortSignal (a wait
 * loop that adds one per round and never removes it), and a warning in the output is easy to miss; a
 * leak that grows with the length of a sweep is not.
 */
process.on('warning', (warning) => {
  if (warning.name !== 'MaxListenersExceededWarning') return;
  process.exitCode = 1;
  // Thrown outside the listener, so it is an uncaught exception: the test runner reports the file as failed.
  setImmediate(() => {
    throw new Error(`listener leak: ${warning.message}`);
  });
});
