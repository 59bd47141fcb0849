import {
  changesMessage,
  graphOfRun,
  hasChanges,
  pipelineChanges,
  ranBecause,
  RanPipeline,
  sameJson
} from '../model/ranPipeline';
import { parsePipeline } from '../model/pipeline';

const __ = (text: string, ...args: string[]) =>
  args.reduce((out, arg, i) => out.replace(`%${i + 1}`, arg), text);

const RAN: RanPipeline = {
  name: 'demo',
  uuid: 'p1',
  parameters: { rate: 1 },
  env_variable_names: [],
  steps: {
    a: {
      uuid: 'a',
      title: 'Load',
      file_path: 'load.py',
      incoming_connections: [],
      parameters: { n: 3 },
      meta_data: { position: [0, 0] }
    },
    b: {
      uuid: 'b',
      title: 'Train',
      file_path: 'train.ipynb',
      incoming_connections: ['a'],
      parameters: {},
      meta_data: { position: [200, 0] }
    }
  }
};

function today(edit: (doc: RanPipeline) => void) {
  const doc: RanPipeline = JSON.parse(JSON.stringify(RAN));
  edit(doc);
  return parsePipeline(JSON.stringify(doc), 'demo.orchest');
}

describe('the pipeline a run ran', () => {
  const ran = graphOfRun(RAN, 'demo.orchest');

  it('is drawn from the run, with its parameters and connections', () => {
    expect(ran.name).toBe('demo');
    expect(ran.steps.map(s => s.uuid)).toEqual(['a', 'b']);
    expect(ran.steps[0].parameters).toEqual({ n: 3 });
    expect(ran.steps[1].incoming).toEqual(['a']);
    expect(ran.steps[1].kind).toBe('notebook');
    expect(ran.steps[1].position).toEqual({ x: 200, y: 0 });
  });

  it('has no banner when today’s file is the same (positions do not count)', () => {
    const same = today(doc => {
      doc.steps.a.meta_data = { position: [50, 50] };
    });
    const changes = pipelineChanges(ran, same);
    expect(hasChanges(changes)).toBe(false);
    expect(changesMessage(changes, __)).toBe('');
  });

  it('names a deleted step and a changed parameter', () => {
    const edited = today(doc => {
      delete doc.steps.b;
      doc.steps.a.parameters = { n: 4 };
    });
    const changes = pipelineChanges(ran, edited);
    expect(changes).toEqual({
      gone: false,
      removed: ['Train'],
      added: [],
      modified: ['Load'],
      pipelineParameters: false
    });
    expect(changesMessage(changes, __)).toBe(
      'The pipeline file has changed since this run (removed: Train; changed: Load); ' +
        'this is the pipeline as the run ran it.'
    );
  });

  it('names added steps, rewired connections and pipeline parameters', () => {
    const edited = today(doc => {
      doc.steps.c = { ...doc.steps.a, uuid: 'c', title: 'Report' };
      doc.steps.b.incoming_connections = ['c'];
      doc.parameters = { rate: 2 };
    });
    const changes = pipelineChanges(ran, edited);
    expect(changes.added).toEqual(['Report']);
    expect(changes.modified).toEqual(['Train']);
    expect(changes.pipelineParameters).toBe(true);
  });

  it('says so when the file is gone', () => {
    const changes = pipelineChanges(ran, null);
    expect(hasChanges(changes)).toBe(true);
    expect(changesMessage(changes, __)).toMatch(/file is gone/);
  });

  it('compares parameters as JSON, whatever the key order', () => {
    expect(
      sameJson({ a: 1, b: [1, { c: 2 }] }, { b: [1, { c: 2 }], a: 1 })
    ).toBe(true);
    expect(sameJson({ a: 1 }, { a: 1, b: undefined })).toBe(false);
    expect(sameJson([1, 2], [2, 1])).toBe(false);
    expect(sameJson(1, '1')).toBe(false);
  });
});

describe('what made a step run', () => {
  const titles: Record<string, string> = { a: 'Load' };
  const titleOf = (uuid: string) => titles[uuid] ?? uuid;

  it('names the kinds of change and the changed parents by title', () => {
    expect(ranBecause(['parameters'], null, titleOf)).toBe('parameters');
    expect(ranBecause(['code', 'parents'], ['a', 'x'], titleOf)).toBe(
      'code, parents (Load, x)'
    );
    expect(ranBecause(['parents'], [], titleOf)).toBe('parents');
  });

  it('is absent when the run recorded no change', () => {
    expect(ranBecause(null, null, titleOf)).toBeNull();
    expect(ranBecause([], null, titleOf)).toBeNull();
  });
});
