import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadPipeline } from '../../../engine/config/load-pipeline.ts';
import { checkDrift, generateAll, generateEach, generateSourceOf, type FileSink } from '../../../generators/generate.ts';
import { fixturePath, generated } from './generate-fixture.ts';
import { widePipeline } from './wide-pipeline.ts';

const GOLDEN = fixturePath('small/expected');
const SMALL = fixturePath('small/pipeline.yaml');

function writeTree(dir: string, files: ReadonlyMap<string, string>): void {
  rmSync(dir, { recursive: true, force: true });
  for (const [path, content] of files) {
    mkdirSync(dirname(join(dir, path)), { recursive: true });
    writeFileSync(join(dir, path), content);
  }
}

describe('generateAll', () => {
  it('matches the golden output of the small fixture (BATON_UPDATE_GOLDEN=1 rewrites it)', async () => {
    const { files } = await generated(SMALL);
    if (process.env.BATON_UPDATE_GOLDEN === '1') writeTree(GOLDEN, files);
    expect(await checkDrift(GOLDEN, files)).toEqual({ changed: [], missing: [], extra: [] });
  });

  it('produces every output, in sorted order', async () => {
    const { files } = await generated(SMALL);
    const paths = [...files.keys()];
    expect(paths).toEqual([...paths].sort());
    for (const path of [
      'ARCHITECTURE.md',
      'diagram.dot',
      'diagram.mmd',
      'diagram.svg',
      'docs/barriers.md',
      'docs/processors.md',
      'docs/runbook.md',
      'docs/topics.md',
      'gcloud/deploy.sh',
      'terraform/main.tf',
      'terraform/iam.tf',
      'terraform/pubsub.tf',
      'terraform/monitoring.tf',
    ]) {
      expect(paths).toContain(path);
    }
  });

  it('is deterministic: a second run is byte-identical and holds no timestamp', async () => {
    const { files } = await generated(SMALL);
    const again = await generateAll(loadPipeline(SMALL));
    expect(again).toEqual(files);
    const today = new Date().toISOString().slice(0, 10);
    for (const [path, content] of files) expect(content.includes(today), path).toBe(false);
  });

  it('refuses a pipeline that did not load', async () => {
    await expect(generateAll({ file: 'broken.yaml', diagnostics: [], graphChecksSkipped: true })).rejects.toThrow(/broken\.yaml did not load/);
  });
});

describe('generateEach', () => {
  it('hands a large file over in many pieces that join to the whole file', async () => {
    const wide = widePipeline(1000);
    const whole = await generateAll(wide);
    const pieces = new Map<string, string[]>();
    for await (const [path, chunks] of generateEach(generateSourceOf(wide))) pieces.set(path, [...chunks]);
    const script = pieces.get('gcloud/deploy.sh') ?? [];
    // ~1.9 MB at 1,000 processors, in pieces of about 64 KB (one item, such as a barrier naming every member, can be longer).
    expect(script.length).toBeGreaterThan(10);
    expect([...pieces].map(([path, chunks]) => [path, chunks.join('')])).toEqual([...whole]);
  });
});

describe('checkDrift', () => {
  const dir = mkdtempSync(join(tmpdir(), 'baton-drift-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('lists changed, missing and extra files, each sorted', async () => {
    const files = new Map([
      ['a.txt', 'one'],
      ['docs/b.md', 'two'],
      ['docs/c.md', 'three'],
    ]);
    writeTree(
      dir,
      new Map([
        ['a.txt', 'one'],
        ['docs/b.md', 'edited by hand'],
        ['terraform/orphan.tf', 'left behind'],
      ]),
    );
    expect(await checkDrift(dir, files)).toEqual({ changed: ['docs/b.md'], missing: ['docs/c.md'], extra: ['terraform/orphan.tf'] });
  });

  it('counts every file as missing when the output folder does not exist', async () => {
    expect(await checkDrift(join(dir, 'nope'), new Map([['x', 'y']]))).toEqual({ changed: [], missing: ['x'], extra: [] });
  });

  it('compares pieces byte for byte across piece boundaries and multi-byte characters, and a file that is shorter or longer differs', async () => {
    writeTree(
      dir,
      new Map([
        ['same.md', 'é→x\nend'],
        ['prefix.md', 'é→x'],
        ['longer.md', 'é→x\nend\n'],
      ]),
    );
    const pieces = ['é', '→x', '\n', 'end'];
    const files = ['same.md', 'prefix.md', 'longer.md'].map((path) => [path, pieces] as const);
    expect(await checkDrift(dir, files)).toEqual({ changed: ['longer.md', 'prefix.md'], missing: [], extra: [] });
  });

  it('hands each piece to the sink as UTF-8 and closes it as incomplete when rendering the file fails part way', async () => {
    writeTree(dir, new Map([['a.md', 'old']]));
    const received: string[] = [];
    const closed: boolean[] = [];
    const sink = (): Promise<FileSink> =>
      Promise.resolve({
        write: (chunk: Uint8Array) => Promise.resolve(void received.push(Buffer.from(chunk).toString('utf8'))),
        close: (complete: boolean) => Promise.resolve(void closed.push(complete)),
      });
    await checkDrift(dir, [['a.md', ['né', 'w']]], sink);
    expect([received, closed]).toEqual([['né', 'w'], [true]]);
    function* failing(): Generator<string> {
      yield 'half';
      throw new Error('template failed');
    }
    await expect(checkDrift(dir, [['a.md', failing()]], sink)).rejects.toThrow('template failed');
    expect(closed).toEqual([true, false]);
  });
});
