import * as fs from 'fs';
import * as path from 'path';

import {
  kindLabel,
  parsePipeline,
  PipelineFormatError,
  stepKind
} from '../model/pipeline';

const EXAMPLES = path.join(__dirname, '..', '..', 'examples');

function example(relative: string): string {
  return fs.readFileSync(path.join(EXAMPLES, relative), 'utf-8');
}

describe('parsePipeline', () => {
  it('reads an Orchest pipeline with positions and connections', () => {
    const graph = parsePipeline(
      example('quickstart/quickstart.orchest'),
      'quickstart.orchest'
    );
    expect(graph.format).toBe('orchest');
    expect(graph.name).toBe('quickstart');
    expect(graph.steps).toHaveLength(5);
    const byTitle = Object.fromEntries(graph.steps.map(s => [s.title, s]));
    expect(byTitle['Load data'].kind).toBe('python');
    expect(byTitle['Statistics'].kind).toBe('notebook');
    expect(byTitle['Statistics'].incoming).toEqual([byTitle['Load data'].uuid]);
    expect(byTitle['Statistics'].position).toEqual({ x: 300, y: 0 });
  });

  it('reads an Elyra pipeline: node ids, labels, links and ui positions', () => {
    const graph = parsePipeline(
      example('elyra/hello.pipeline'),
      'elyra/hello.pipeline'
    );
    expect(graph.format).toBe('elyra');
    expect(graph.steps.length).toBeGreaterThan(1);
    const produce = graph.steps.find(s => s.filePath === 'produce.py');
    expect(produce?.position).toEqual({ x: 80, y: 60 });
    expect(
      graph.steps.some(s => s.incoming.includes(produce?.uuid ?? ''))
    ).toBe(true);
  });

  it('explains why a file is not a pipeline', () => {
    expect(() => parsePipeline('{nope', 'a.orchest')).toThrow(
      PipelineFormatError
    );
    expect(() => parsePipeline('[1, 2]', 'a.orchest')).toThrow(/not an object/);
    expect(() => parsePipeline('{"name": "x"}', 'a.orchest')).toThrow(
      /no "steps"/
    );
    expect(() =>
      parsePipeline('{"doc_type": "pipeline"}', 'a.pipeline')
    ).toThrow(/primary_pipeline/);
  });

  it('tolerates malformed steps without failing the whole file', () => {
    const graph = parsePipeline(
      JSON.stringify({
        steps: {
          a: 3,
          b: {
            title: 'B',
            incoming_connections: 'x',
            meta_data: { position: ['x', 1] }
          }
        }
      }),
      'dir/p.orchest'
    );
    expect(graph.name).toBe('p');
    expect(graph.steps).toEqual([
      expect.objectContaining({
        uuid: 'b',
        title: 'B',
        incoming: [],
        position: null,
        kind: 'unknown'
      })
    ]);
  });

  it('maps file names to kinds', () => {
    expect(['a.ipynb', 'a.py', 'a.sh', 'a.R', 'a.txt'].map(stepKind)).toEqual([
      'notebook',
      'python',
      'shell',
      'r',
      'unknown'
    ]);
  });

  it('labels notebooks by the language their kernel names', () => {
    const label = (kind: 'notebook' | 'r', kernel: string) =>
      kindLabel({ kind, kernel });
    expect(label('notebook', 'r')).toBe('R notebook');
    expect(label('notebook', 'ir')).toBe('R notebook');
    expect(label('notebook', 'python')).toBe('Notebook');
    expect(label('notebook', '')).toBe('Notebook');
    expect(label('r', '')).toBe('R');
  });
});

describe('limits', () => {
  it('refuses files too large or with too many steps to draw, saying so', () => {
    const padding = 'x'.repeat(11 * 1024 * 1024);
    expect(() =>
      parsePipeline(`{"steps": {}, "pad": "${padding}"}`, 'a.orchest')
    ).toThrow(/too large/);
    const steps = Object.fromEntries(
      Array.from({ length: 5001 }, (_, i) => [`s${i}`, { file_path: 'a.py' }])
    );
    expect(() => parsePipeline(JSON.stringify({ steps }), 'a.orchest')).toThrow(
      /5001 steps/
    );
  });
});
