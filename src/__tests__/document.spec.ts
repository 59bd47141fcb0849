import * as fs from 'fs';
import * as path from 'path';

import {
  EditablePipeline,
  EditError,
  findPath,
  FormatLimitError,
  newPipelineText,
  orchestFromGraph
} from '../model/document';
import { parsePipeline } from '../model/pipeline';

const EXAMPLES = path.join(__dirname, '..', '..', 'examples');
const read = (relative: string) =>
  fs.readFileSync(path.join(EXAMPLES, relative), 'utf-8');

function orchest(text: string): EditablePipeline {
  return EditablePipeline.fromText(text, 'orchest');
}

const graphOf = (doc: EditablePipeline, file = 'p.orchest') =>
  parsePipeline(doc.toText(), file);

describe('round trip', () => {
  it.each([
    ['quickstart/quickstart.orchest', 'orchest'],
    ['sklearn-quickstart/quickstart.orchest', 'orchest'],
    ['elyra/hello.pipeline', 'elyra']
  ] as const)(
    'writes %s back byte for byte when nothing changed',
    (file, format) => {
      const text = read(file);
      expect(EditablePipeline.fromText(text, format).toText()).toBe(text);
    }
  );

  it('keeps unknown fields and key order through an edit', () => {
    const text = JSON.stringify(
      {
        'x-tool': { keep: [1, 2] },
        name: 'p',
        uuid: 'u',
        steps: {
          a: {
            uuid: 'a',
            title: 'A',
            file_path: 'a.py',
            'x-step': true,
            incoming_connections: []
          },
          b: {
            title: 'B',
            uuid: 'b',
            file_path: 'b.py',
            incoming_connections: []
          }
        },
        trailer: null
      },
      null,
      4
    );
    const doc = orchest(text);
    const graph = graphOf(doc);
    const edited = doc
      .connect('a', 'b', graph)
      .move(new Map([['a', { x: 10.4, y: 20.6 }]]));
    const out = edited.toText();
    const parsed = JSON.parse(out);
    expect(Object.keys(parsed)).toEqual([
      'x-tool',
      'name',
      'uuid',
      'steps',
      'trailer'
    ]);
    expect(parsed['x-tool']).toEqual({ keep: [1, 2] });
    expect(parsed.steps.a['x-step']).toBe(true);
    expect(Object.keys(parsed.steps.b).slice(0, 3)).toEqual([
      'title',
      'uuid',
      'file_path'
    ]);
    expect(parsed.steps.b.incoming_connections).toEqual(['a']);
    expect(parsed.steps.a.meta_data.position).toEqual([10, 21]);
    expect(out.split('\n')[1].startsWith('    "x-tool"')).toBe(true);
    const original = text.split('\n');
    const added = out.split('\n').filter(line => {
      const index = original.indexOf(line);
      if (index >= 0) {
        original.splice(index, 1);
      }
      return index < 0;
    });
    expect(added.length).toBeLessThan(12);
  });

  it('leaves the original document unchanged (undo keeps it)', () => {
    const text = read('quickstart/quickstart.orchest');
    const doc = orchest(text);
    doc.removeSteps([graphOf(doc).steps[0].uuid]);
    expect(doc.toText()).toBe(text);
  });
});

describe('steps and connections', () => {
  const empty = () => orchest(newPipelineText('new'));

  it('creates an empty pipeline with a fresh uuid', () => {
    const a = JSON.parse(newPipelineText('x'));
    const b = JSON.parse(newPipelineText('x'));
    expect(a.steps).toEqual({});
    expect(a.uuid).toMatch(/^[0-9a-f-]{36}$/);
    expect(a.uuid).not.toBe(b.uuid);
  });

  it('adds steps with fresh uuids, titled after their files', () => {
    const [doc, uuid] = empty().addStep('sub/load data.py', { x: 5, y: 6 });
    const [doc2, uuid2] = doc.addStep('report.ipynb', { x: 300, y: 6 });
    const graph = graphOf(doc2);
    expect(uuid).not.toBe(uuid2);
    expect(graph.steps.map(s => [s.title, s.filePath, s.kind])).toEqual([
      ['load data', 'sub/load data.py', 'python'],
      ['report', 'report.ipynb', 'notebook']
    ]);
    expect(graph.steps[0].position).toEqual({ x: 5, y: 6 });
  });

  it('gives a second step for the same file a title of its own', () => {
    let doc = empty();
    for (let i = 0; i < 3; i++) {
      doc = doc.addStep('clean.py', { x: 0, y: i * 100 })[0];
    }
    expect(graphOf(doc).steps.map(s => s.title)).toEqual([
      'clean',
      'clean (2)',
      'clean (3)'
    ]);
  });

  it('connects, refuses cycles naming the steps, and disconnects', () => {
    let doc = empty();
    const uuids: string[] = [];
    for (const file of ['a.py', 'b.py', 'c.py']) {
      const [next, uuid] = doc.addStep(file, { x: 0, y: 0 });
      doc = next;
      uuids.push(uuid);
    }
    const [a, b, c] = uuids;
    doc = doc.connect(a, b, graphOf(doc)).connect(b, c, graphOf(doc));
    expect(graphOf(doc).steps.find(s => s.uuid === c)?.incoming).toEqual([b]);
    expect(() => doc.connect(c, a, graphOf(doc))).toThrow(
      'Connecting "c" to "a" would close a cycle: "a" → "b" → "c" → "a".'
    );
    expect(() => doc.connect(a, a, graphOf(doc))).toThrow(EditError);
    expect(doc.connect(a, b, graphOf(doc))).toBe(doc);
    doc = doc.disconnect(b, c);
    expect(graphOf(doc).steps.find(s => s.uuid === c)?.incoming).toEqual([]);
    expect(findPath(graphOf(doc), a, c)).toBeNull();
  });

  it('removing a step removes its connections', () => {
    const doc = orchest(read('quickstart/quickstart.orchest'));
    const load = graphOf(doc).steps.find(s => s.title === 'Load data')!;
    const after = graphOf(doc.removeSteps([load.uuid]));
    expect(after.steps).toHaveLength(4);
    expect(after.steps.every(s => !s.incoming.includes(load.uuid))).toBe(true);
  });

  it('edits step and pipeline fields', () => {
    const doc = orchest(read('quickstart/quickstart.orchest'));
    const step = graphOf(doc).steps[1];
    const edited = doc
      .updateStep(step.uuid, {
        title: 'Stats',
        parameters: { alpha: 0.5 },
        kernel: 'ir'
      })
      .updatePipeline({ parameters: { seed: 3 } });
    const json = JSON.parse(edited.toText());
    expect(json.steps[step.uuid].title).toBe('Stats');
    expect(json.steps[step.uuid].parameters).toEqual({ alpha: 0.5 });
    expect(json.steps[step.uuid].kernel).toEqual({
      name: 'ir',
      display_name: 'Python 3'
    });
    expect(json.parameters).toEqual({ seed: 3 });
    expect(() => doc.updateStep('nope', { title: 'x' })).toThrow(EditError);
  });
});

describe('Elyra files', () => {
  const text = read('elyra/hello.pipeline');
  const doc = () => EditablePipeline.fromText(text, 'elyra');
  const graph = () => parsePipeline(text, 'hello.pipeline');

  it('are edited in place in their own format', () => {
    const [twice] = doc().addStep('produce.py', { x: 0, y: 0 });
    const titles = parsePipeline(twice.toText(), 'hello.pipeline').steps.map(
      s => s.title
    );
    expect(new Set(titles).size).toBe(titles.length);
    const [withStep, uuid] = doc().addStep('more.ipynb', { x: 1, y: 2 });
    const produce = graph().steps.find(s => s.filePath === 'produce.py')!;
    const edited = withStep
      .connect(
        produce.uuid,
        uuid,
        parsePipeline(withStep.toText(), 'hello.pipeline')
      )
      .move(new Map([[produce.uuid, { x: 7, y: 8 }]]))
      .updateStep(uuid, { title: 'More' });
    const after = parsePipeline(edited.toText(), 'hello.pipeline');
    expect(after.format).toBe('elyra');
    const added = after.steps.find(s => s.uuid === uuid)!;
    expect(added).toMatchObject({
      title: 'More',
      kind: 'notebook',
      incoming: [produce.uuid]
    });
    expect(after.steps.find(s => s.uuid === produce.uuid)?.position).toEqual({
      x: 7,
      y: 8
    });
    const removed = parsePipeline(
      edited.removeSteps([produce.uuid]).toText(),
      'h.pipeline'
    );
    expect(removed.steps.every(s => !s.incoming.includes(produce.uuid))).toBe(
      true
    );
  });

  it('say when a change needs Orchest format, and convert', () => {
    expect(() => doc().addStep('run.sh', { x: 0, y: 0 })).toThrow(
      FormatLimitError
    );
    const step = graph().steps[0];
    expect(() => doc().updateStep(step.uuid, { parameters: { a: 1 } })).toThrow(
      FormatLimitError
    );
    const converted = orchestFromGraph(graph());
    const back = parsePipeline(JSON.stringify(converted), 'hello.orchest');
    expect(back.format).toBe('orchest');
    expect(back.steps.map(s => [s.uuid, s.incoming])).toEqual(
      graph().steps.map(s => [s.uuid, s.incoming])
    );
  });
});
