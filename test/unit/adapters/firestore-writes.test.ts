import { readdirSync } from 'node:fs';
import { join, relative } from 'node:path';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';
import { packageRoot } from '../../../engine/config/package-root.ts';

// #12: a full-document replace dropped a field. On Firestore, Baton never rewrites a shared document:
// every fact is its own document, written once with create(). This test finds, with the type checker,
// every call that writes through a Firestore object anywhere in engine/ (only engine/adapters/gcp/ may
// import the SDK), and holds each one to the reviewed list below. A new write fails here until it is
// added, with the reason it cannot replace a document another writer shares.

const FIRESTORE_WRITERS = new Set(['DocumentReference', 'CollectionReference', 'Transaction', 'WriteBatch', 'BulkWriter', 'Firestore']);
const WRITE_METHODS = new Set(['create', 'set', 'update', 'delete', 'add', 'runTransaction', 'batch', 'bulkWriter', 'recursiveDelete']);

/** `file › enclosing function › Receiver.method`, for every Firestore write in engine/ (sorted, with repeats). */
function firestoreWrites(): { site: string; args: string[] }[] {
  return scan().writes;
}

/**
 * Every Firestore write in engine/, and every call of the `createOnce` helper (the one place most
 * documents are created) with its arguments.
 */
function scan(): { writes: { site: string; args: string[] }[]; createOnceCalls: { site: string; args: string[] }[] } {
  const root = packageRoot();
  const engine = join(root, 'engine');
  const files = (readdirSync(engine, { recursive: true }) as string[]).filter((f) => f.endsWith('.ts')).map((f) => join(engine, f));
  const program = ts.createProgram(files, {
    target: ts.ScriptTarget.ES2022,
    module: ts.ModuleKind.NodeNext,
    moduleResolution: ts.ModuleResolutionKind.NodeNext,
    allowImportingTsExtensions: true,
    noEmit: true,
    strict: true,
    skipLibCheck: true,
  });
  const checker = program.getTypeChecker();
  const writes: { site: string; args: string[] }[] = [];
  const createOnceCalls: { site: string; args: string[] }[] = [];
  for (const source of program.getSourceFiles()) {
    if (!source.fileName.startsWith(engine)) continue;
    const visit = (node: ts.Node): void => {
      if (ts.isCallExpression(node) && ts.isIdentifier(node.expression) && node.expression.text === 'createOnce') {
        createOnceCalls.push({ site: `${relative(root, source.fileName)} › ${enclosingName(node)}`, args: node.arguments.map((a) => a.getText(source)) });
      }
      if (ts.isCallExpression(node) && ts.isPropertyAccessExpression(node.expression) && WRITE_METHODS.has(node.expression.name.text)) {
        const receiver = checker.getTypeAtLocation(node.expression.expression);
        const name = (receiver.getSymbol() ?? receiver.aliasSymbol)?.getName();
        const declared = receiver.getSymbol()?.declarations?.[0]?.getSourceFile().fileName ?? '';
        if (name !== undefined && FIRESTORE_WRITERS.has(name) && declared.includes('@google-cloud/firestore')) {
          writes.push({
            site: `${relative(root, source.fileName)} › ${enclosingName(node)} › ${name}.${node.expression.name.text}`,
            args: node.arguments.map((a) => a.getText(source)),
          });
        }
      }
      ts.forEachChild(node, visit);
    };
    visit(source);
  }
  return { writes: writes.sort((a, b) => a.site.localeCompare(b.site)), createOnceCalls };
}

function enclosingName(node: ts.Node): string {
  for (let n: ts.Node | undefined = node.parent; n !== undefined; n = n.parent) {
    if ((ts.isMethodDeclaration(n) || ts.isFunctionDeclaration(n)) && n.name !== undefined) return n.name.getText();
  }
  return '(top level)';
}

/** Every Firestore write Baton makes, and why none of them replaces a document another writer shares. */
const REVIEWED: Record<string, string> = {
  'engine/adapters/gcp/firestore-docs.ts › createOnce › DocumentReference.create':
    'every per-fact document (key snapshot, member, batch item, trigger slot, bus claim/settle/dead letter): must-not-exist precondition, never overwrites',
  'engine/adapters/gcp/firestore-run-journal.ts › set › DocumentReference.set':
    "the CLI run journal: one document per run name, written only by that run's own driver (not shared, not on the completion path)",
  'engine/adapters/gcp/firestore-state-store.ts › markPublished › DocumentReference.update':
    "two fields (published, publishedAt) of the one decided trigger's own document, never its record",
  'engine/adapters/gcp/firestore-state-store.ts › openBatch › Firestore.runTransaction':
    'once per coordinator trigger, over one coordinator × key; every document it writes is read in the same transaction',
  'engine/adapters/gcp/firestore-state-store.ts › openBatch › Transaction.create': 'the new batch and a supersede marker in the old batch slot: create-only',
  'engine/adapters/gcp/firestore-state-store.ts › openBatch › Transaction.update': "one field (state) of the superseded batch's own document",
  'engine/adapters/gcp/firestore-state-store.ts › openBatch › Transaction.set':
    'the newest-batch link of one coordinator × key ({ batchId } only), read in the same transaction; only openBatch writes it',
  'engine/adapters/gcp/firestore-state-store.ts › completeBatch › DocumentReference.update':
    "one field (state) of the completed batch's own document, by the one caller whose trigger create won",
  'engine/adapters/gcp/pubsub-dead-letter-queue.ts › claimRedrive › Firestore.runTransaction':
    'once per operator redrive, over one dead-letter record; both documents it writes are read or created in it',
  'engine/adapters/gcp/pubsub-dead-letter-queue.ts › claimRedrive › Transaction.create':
    'the redriven copy of one dead-letter record, under a new id: create-only',
  'engine/adapters/gcp/pubsub-dead-letter-queue.ts › claimRedrive › Transaction.delete':
    'the dead-letter record just read in the same transaction (moved, not lost)',
  'engine/adapters/gcp/pubsub-dead-letter-queue.ts › releaseRedrive › Firestore.runTransaction': 'undoes one failed redrive claim of the same operator command',
  'engine/adapters/gcp/pubsub-dead-letter-queue.ts › releaseRedrive › Transaction.create':
    'the dead-letter record back under its original id, which the claim had deleted: create-only',
  'engine/adapters/gcp/pubsub-dead-letter-queue.ts › releaseRedrive › Transaction.delete': "the claim's own redriven copy, read in the same transaction",
  'engine/adapters/gcp/pubsub-dead-letter-queue.ts › unsettle › DocumentReference.delete':
    "one subscription's settled mark of one dead-lettered id, so the redelivery reaches the consumer; the consumer's next settle recreates it with create()",
  'engine/adapters/gcp/pubsub-dead-letter-queue.ts › forget › DocumentReference.delete': 'one dead-letter record an operator purged; no decision reads it',
  'engine/adapters/gcp/pubsub-dead-letter-queue.ts › redriveOne › DocumentReference.delete':
    "the caller's own just-created push-path redrive claim, when the publish failed (so the held copy can be redriven again)",
  'engine/adapters/gcp/pubsub-message-bus.ts › publish › DocumentReference.delete': "the caller's own just-created publish claim, when the send failed",
  'engine/adapters/gcp/pubsub-message-bus.ts › publish › DocumentReference.update': "one field (sent) of the caller's own publish claim",
};

describe('Firestore writes (#12: no full-document replace of shared state)', () => {
  const writes = firestoreWrites();

  it('finds the writes it looks for (the scan sees through helpers and transactions)', () => {
    expect(writes.map((w) => w.site)).toContain('engine/adapters/gcp/firestore-docs.ts › createOnce › DocumentReference.create');
    expect(writes.map((w) => w.site)).toContain('engine/adapters/gcp/firestore-state-store.ts › openBatch › Transaction.create');
  });

  it('makes no Firestore write that is not in the reviewed list', () => {
    expect([...new Set(writes.map((w) => w.site))].sort()).toEqual(Object.keys(REVIEWED).sort());
  });

  it('never rewrites the record of a document after create(): every update and set names its fields, and none is `json`', () => {
    const updates = writes.filter((w) => /\.(update|set)$/.test(w.site));
    expect(updates.length).toBeGreaterThan(0);
    for (const { site, args } of updates) {
      // A transaction's update/set takes (ref, data); a document's takes (data).
      const data = site.includes('Transaction.') ? args[1] : args[0];
      expect(data, site).toMatch(/^\{[^{}]*\}$/);
      expect(data, site).not.toMatch(/\.\.\.|\bjson\b/);
    }
  });

  it('creates every barrier-path document (key snapshot, member, trigger) with create(), never set()', () => {
    const barrierPath = writes.filter((w) => /firestore-state-store\.ts › (openKey|recordMember|decideTrigger|createTrigger)/.test(w.site));
    expect(barrierPath).toEqual([]);
    expect(writes.filter((w) => w.site.endsWith('.set') && !w.site.includes('run-journal') && !w.site.includes('Transaction.set'))).toEqual([]);
  });
});

describe('Firestore retention (issue 16 #7: every document Baton creates expires)', () => {
  const { writes, createOnceCalls } = scan();

  it('sets expire_at on every create() and set(): the data names the TTL field', () => {
    const creates = writes.filter((w) => /\.(create|set)$/.test(w.site));
    expect(creates.length).toBeGreaterThan(0);
    for (const { site, args } of creates) {
      const data = site.includes('Transaction.') ? args[1] : args[0];
      expect(data, site).toMatch(/\[TTL_FIELD\]|\bexpire_at\b/);
    }
  });

  it("gives every createOnce() call an expiry computed by expiryFrom (a key's first completion, or the record's creation)", () => {
    expect(createOnceCalls.length).toBeGreaterThanOrEqual(8);
    for (const { site, args } of createOnceCalls) {
      expect(args, site).toHaveLength(3);
      expect(args[2], site).toMatch(/^expiryFrom\(/);
    }
  });

  it('expires a barrier key as a unit: its snapshot and members count from its first completion', () => {
    const keyPath = createOnceCalls.filter((c) => /firestore-state-store\.ts › (openKey|recordMember)$/.test(c.site));
    expect(keyPath.map((c) => c.args[2])).toEqual(['expiryFrom(snapshot.firstCompletionAt)', 'expiryFrom(firstCompletionAt)']);
  });
});
