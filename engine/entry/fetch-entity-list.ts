// Data flow: coordinator full run → fetchEntityList(full_list_url with {key}) → HTTP GET → JSON ids → batch entity list.
import type { ResolvedCoordinator } from '../config/resolved-pipeline.ts';
import type { EntityId } from '../ports/state-store.ts';
import type { EntityListProvider } from '../runtime/coordinator.ts';

/**
 * The full entity list of a coordinator from its `entities.full_list_url` (`{key}` replaced): a JSON
 * array of ids, or an object with an `ids` array. The coordinator treats any failure here as
 * transient, so the trigger is redelivered rather than opening a batch with a wrong list.
 */
export function fetchEntityList(coordinator: Pick<ResolvedCoordinator, 'name' | 'fullListUrl'>, fetchImpl: typeof fetch = fetch): EntityListProvider {
  return async (key) => {
    if (coordinator.fullListUrl === undefined) throw new Error(`coordinator ${coordinator.name} has no entities.full_list_url for a full run`);
    const url = coordinator.fullListUrl.replaceAll('{key}', encodeURIComponent(key));
    const response = await fetchImpl(url, { headers: { accept: 'application/json' }, signal: AbortSignal.timeout(30_000) });
    if (!response.ok) throw new Error(`GET ${url}: HTTP ${response.status}`);
    const body: unknown = await response.json();
    const ids: unknown = Array.isArray(body) ? body : (body as { ids?: unknown } | null)?.ids;
    if (!Array.isArray(ids) || !ids.every((id): id is EntityId => typeof id === 'string' || typeof id === 'number')) {
      throw new Error(`GET ${url}: expected a JSON array of ids (or {"ids": [...]})`);
    }
    return ids;
  };
}
