// Data flow: container start (Cloud Run coordinator, local push target) → serve → startPushServer on 0.0.0.0:$PORT → SIGTERM → close.
import { CloudLogger, type Logger } from './cloud-logger.ts';
import { startPushServer } from './push-server.ts';

/**
 * Runs the entry point as a long-lived HTTP server from the environment (`BATON_COORDINATOR` or
 * `BATON_BARRIER`, …): what the coordinator image runs. Cloud Run sends SIGTERM before stopping an
 * instance; closing then lets in-flight pushes finish (within `BATON_DRAIN_MS`, default 8 s) instead of
 * being cut off mid-decision, and closes the clients only after them.
 */
export async function serve(env: Readonly<Record<string, string | undefined>> = process.env): Promise<void> {
  logUnhandledRejections(new CloudLogger({ projectId: env.GOOGLE_CLOUD_PROJECT ?? env.GCLOUD_PROJECT }));
  const drainMs = env.BATON_DRAIN_MS === undefined ? undefined : Number(env.BATON_DRAIN_MS);
  const server = await startPushServer({
    env,
    port: Number(env.PORT ?? 8080),
    host: env.BATON_HOST ?? '0.0.0.0',
    ...(drainMs === undefined || !Number.isFinite(drainMs) ? {} : { drainMs }),
  });
  server.handler.log({ severity: 'INFO', message: `listening on ${server.url}`, baton_event: 'entry.listening' });
  // Drain in-flight pushes, then close the clients (#16.9); a failure to close is logged as one ERROR line.
  process.once('SIGTERM', () => {
    server.close().then(
      () => server.handler.log({ severity: 'INFO', message: 'shut down', baton_event: 'entry.stopped' }),
      (error: unknown) => {
        const reason = error instanceof Error ? error.message : String(error);
        server.handler.log({ severity: 'ERROR', message: `shutdown failed: ${reason}`, baton_event: 'entry.shutdown_failed', reason });
      },
    );
  });
}

let logging = false;

/**
 * Logs every unhandled rejection as one Cloud Logging ERROR line instead of Node's stack trace and
 * exit. Client libraries can leak rejections of their own (Firestore does when credentials fail);
 * the request that caused one has already been answered, so the instance keeps serving.
 */
export function logUnhandledRejections(logger: Logger): void {
  if (logging) return;
  logging = true;
  process.on('unhandledRejection', (reason: unknown) => {
    const message = reason instanceof Error ? reason.message : String(reason);
    logger.log({ severity: 'ERROR', message: `unhandled rejection: ${message}`, baton_event: 'entry.unhandled_rejection', reason: message });
  });
}

if (process.argv[1] !== undefined && import.meta.url.endsWith(process.argv[1].replace(/\\/g, '/'))) {
  serve().catch((error: unknown) => {
    process.stderr.write(`${JSON.stringify({ severity: 'CRITICAL', message: `cannot start: ${error instanceof Error ? error.message : String(error)}` })}\n`);
    process.exitCode = 1;
  });
}
