import { Firestore } from '@google-cloud/firestore';
import { describe, expect, it } from 'vitest';
import {
  DEFAULT_FIRESTORE_PREFIX,
  FIRESTORE_SUBCOLLECTIONS,
  PUBSUB_MAX_MESSAGE_RETENTION_DAYS,
  RETENTION_DAYS,
  TTL_FIELD,
} from '../../../engine/config/conventions.ts';
import { collections } from '../../../engine/adapters/gcp/firestore-docs.ts';
import { fixturePath, generated } from './generate-fixture.ts';

// Issue 16 #7: the render described a layout (baton_barriers/…/baton_members) the store never wrote. The
// TTL policies must name exactly the collection groups the gcp adapters write: every top-level collection
// of firestore-docs.ts `collections` under the default prefix, and the two subcollections.

/** What the adapters write, read from the adapters' own collection references (no connection is made). */
function writtenGroups(): string[] {
  const db = new Firestore({ projectId: 'layout-test' });
  const topLevel = Object.values(collections(db, DEFAULT_FIRESTORE_PREFIX)).map((c) => c.id);
  return [...topLevel, ...Object.values(FIRESTORE_SUBCOLLECTIONS)].sort();
}

describe('rendered Firestore TTL policies (issue 16 #7)', () => {
  it('name exactly the collection groups the adapters write, in Terraform and in deploy.sh', async () => {
    const { files } = await generated(fixturePath('small/pipeline.yaml'));
    const tf = files.get('terraform/firestore.tf') ?? '';
    const tfGroups = [...tf.matchAll(/^\s*collection\s*=\s*"([^"]+)"/gm)].map((m) => m[1]);
    expect(tfGroups.sort()).toEqual(writtenGroups());
    for (const field of tf.matchAll(/^\s*field\s*=\s*"([^"]+)"/gm)) expect(field[1]).toBe(TTL_FIELD);

    const sh = files.get('gcloud/deploy.sh') ?? '';
    const shGroups = [...sh.matchAll(/fields ttls update \S+ .*--collection-group '?([^'\s]+)'?/g)].map((m) => m[1]);
    expect(shGroups.sort()).toEqual(writtenGroups());
  });

  it('keeps documents longer than Pub/Sub can redeliver a message', () => {
    expect(RETENTION_DAYS).toBeGreaterThan(PUBSUB_MAX_MESSAGE_RETENTION_DAYS);
  });
});
