// Data flow: container start (Cloud Run coordinator, local push target) → serve → startPushServer on 0.0.0.0:$PORT → SIGTERM → close.
import { CloudLogger, type Logger } from './cloud-logger.ts';
import { startPushServer } from './push-server.ts';

/**
 * Runs the entry point as a long-lived HTTP server from the environment (`BATON_COORDINATOR` or
 * `BATON_BARRIER`, …): what the coordinator image runs. Cloud Run sends SIGTERM before stopping an
 * instance; closing then lets in-flight pushes finish instead of being cut off mid-decision.
 */
export async function serve(env: Readonly<Record<string, string | undefined>> = process.env): Promise<void> {
  logUnhandledRejections(new CloudLogger({ projectId: env.GOOGLE_CLOUD_PROJECT ?? env.GCLOUD_PROJECT }));
  const server = await startPushServer({ env, port: Number(env.PORT ?? 8080), host: env.BATON_HOST ?? '0.0.0.0' });
  server.handler.log({ severity: 'INFO', message: `listening on ${server.url}`, baton_event: 'entry.listening' });
  process.once('SIGTERM', () => void server.close());
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
