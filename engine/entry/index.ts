// Data flow: deploy package main → these exports → functions framework (batonBarrier) or a container (startPushServer).
export { batonBarrier, batonHttp, batonCloudEvent } from './baton-barrier.ts';
export { startPushServer, type PushServer, type PushServerOptions } from './push-server.ts';
export { openEntry, type OpenEntryOptions, type OpenedEntry } from './open-entry.ts';
export { BatonHandler, type DeliveryResult, type EntryRequest, type EntryResponse } from './baton-handler.ts';
export { CloudLogger, formatLogEntry, type LogEntry, type Logger } from './cloud-logger.ts';
export { OidcVerifier } from './oidc-verifier.ts';
export { ENTRY_ENV } from './read-entry-config.ts';
export { serve } from './serve.ts';
