/** What the fakes' `main.ts` entry points share: run until SIGINT/SIGTERM, then close and exit. */

/** On the first SIGINT or SIGTERM: says so, closes `server`, exits 0 (1 if closing failed). */
export function closeOnSignal(name: string, server: { close(): Promise<void> }): void {
  const stop = (signal: string): void => {
    console.log(`${signal}: stopping ${name}`);
    server.close().then(
      () => process.exit(0),
      (error: unknown) => {
        console.error(error);
        process.exit(1);
      },
    );
  };
  process.once('SIGINT', () => stop('SIGINT'));
  process.once('SIGTERM', () => stop('SIGTERM'));
}

/** Runs an entry point; a failure prints its message and exits 1. */
export function runMain(main: () => Promise<void>): void {
  main().catch((error: unknown) => {
    console.error(error instanceof Error ? error.message : error);
    process.exit(1);
  });
}
