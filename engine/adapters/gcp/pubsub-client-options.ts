import type { ClientConfig } from '@google-cloud/pubsub';

/**
 * Options for a `PubSub` client: the emulator at `host:port` when one is given (default port 8085),
 * else real Pub/Sub with Application Default Credentials. The host goes in as `apiEndpoint`, which the
 * client prefers over `PUBSUB_EMULATOR_HOST`: a process that talks to more than one endpoint (the
 * rehearsal, where each processor publishes through its own IAM guard) gets the one it asked for.
 */
export function pubsubClientOptions(projectId: string | undefined, emulatorHost: string | undefined): ClientConfig {
  const base = projectId === undefined ? {} : { projectId };
  if (emulatorHost === undefined || emulatorHost === '') return base;
  const apiEndpoint = emulatorHost.lastIndexOf(':') < 0 ? `${emulatorHost}:8085` : emulatorHost;
  return { ...base, apiEndpoint, emulatorMode: true };
}
