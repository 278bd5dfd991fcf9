import type { ClientConfig } from '@google-cloud/pubsub';

/**
 * Options for a `PubSub` client: the emulator at `host:port` when one is given (default port 8085),
 * else real Pub/Sub with Application Default Credentials.
 */
export function pubsubClientOptions(projectId: string | undefined, emulatorHost: string | undefined): ClientConfig {
  const base = projectId === undefined ? {} : { projectId };
  if (emulatorHost === undefined || emulatorHost === '') return base;
  const index = emulatorHost.lastIndexOf(':');
  const [servicePath, port] = index < 0 ? [emulatorHost, 8085] : [emulatorHost.slice(0, index), Number(emulatorHost.slice(index + 1))];
  return { ...base, servicePath, port, emulatorMode: true };
}
