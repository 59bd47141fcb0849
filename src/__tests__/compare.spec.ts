import {
  changedSettings,
  endsPartOf,
  ComparedStep,
  Comparison,
  formatDelta,
  formatSeconds,
  formatValue,
  olderFirst,
  pipelinesDiffer,
  stepDifference,
  titleOf,
  toggleChoice
} from '../model/compare';

function step(overrides: Partial<ComparedStep>): ComparedStep {
  const ran = {
    ran: true,
    status: 'SUCCESS' as const,
    duration: 1,
    metrics: {},
    outputs: null
  };
  return {
    uuid: 's',
    title: 'S',
    file_path: 's.ipynb',
    kind: 'notebook',
    in: ['a', 'b'],
    changes: {},
    code: { a: 'x', b: 'x', same: true },
    a: ran,
    b: ran,
    metrics: [],
    outputs: [],
    ...overrides
  };
}

function comparison(steps: ComparedStep[]): Comparison {
  const run = {
    id: 'r',
    status: 'SUCCESS' as const,
    pipeline_uuid: 'p',
    pipeline_name: 'P',
    pipeline_path: null,
    duration: 1
  };
  return {
    a: run,
    b: { ...run, id: 'q' },
    same_pipeline: true,
    pipeline: {
      name: null,
      parameters: [],
      env_variable_names: { added: [], removed: [] },
      steps: { added: [], removed: [], matched: steps.map(s => s.uuid) },
      connections: { added: [], removed: [] }
    },
    steps
  };
}

describe('a step compared in two runs', () => {
  it('is added, removed, changed, ran differently or the same', () => {
    expect(stepDifference(step({ in: ['b'] }))).toBe('added');
    expect(stepDifference(step({ in: ['a'] }))).toBe('removed');
    const changed = step({
      changes: { parameters: [{ name: 'lr', change: 'changed', a: 1, b: 2 }] }
    });
    expect(stepDifference(changed)).toBe('changed');
    const failed = step({});
    failed.b = { ...failed.b, status: 'FAILURE' };
    expect(stepDifference(failed)).toBe('ran');
    expect(stepDifference(step({}))).toBe('same');
  });

  it('lists its changed settings code first', () => {
    const changed = step({
      changes: {
        title: { a: 'S', b: 'T' },
        code: { a: 'x', b: 'y' },
        parameters: []
      }
    });
    expect(changedSettings(changed)).toEqual(['code', 'parameters', 'title']);
  });
});

describe('two pipelines compared', () => {
  it('differ when a step changed even if nothing else did', () => {
    expect(pipelinesDiffer(comparison([step({})]))).toBe(false);
    const changed = step({ changes: { code: { a: 'x', b: 'y' } } });
    expect(pipelinesDiffer(comparison([changed]))).toBe(true);
    const renamed = comparison([]);
    renamed.pipeline.name = { a: 'P', b: 'Q' };
    expect(pipelinesDiffer(renamed)).toBe(true);
  });

  it('name steps by title, by uuid when unknown', () => {
    const both = comparison([step({ uuid: 'u1', title: 'Load' })]);
    expect(titleOf(both, 'u1')).toBe('Load');
    expect(titleOf(both, 'u2')).toBe('u2');
  });
});

describe('formatting', () => {
  it('shows values, seconds and deltas', () => {
    expect(formatValue(null)).toBe('—');
    expect(formatValue('a')).toBe('"a"');
    expect(formatValue(0.5)).toBe('0.5');
    expect(formatSeconds(null)).toBe('');
    expect(formatSeconds(0.25)).toBe('250 ms');
    expect(formatSeconds(4.21)).toBe('4.2 s');
    expect(formatSeconds(187)).toBe('3 min 07 s');
    expect(formatDelta(null)).toBe('');
    expect(formatDelta(2)).toBe('+2');
    expect(formatDelta(-0.125)).toBe('-0.125');
    expect(formatDelta(0.5 - 0.9)).toBe('-0.4');
    expect(formatDelta(1 / 3)).toBe('+0.3333');
  });
});

describe('choosing two runs', () => {
  it('keeps at most two, dropping the earlier pick', () => {
    expect(toggleChoice([], 'a')).toEqual(['a']);
    expect(toggleChoice(['a'], 'b')).toEqual(['a', 'b']);
    expect(toggleChoice(['a', 'b'], 'c')).toEqual(['b', 'c']);
    expect(toggleChoice(['a', 'b'], 'a')).toEqual(['b']);
  });

  it('puts the older run first', () => {
    const runs = [
      { id: 'new', created_time: '2026-01-02T00:00:00Z' },
      { id: 'old', created_time: '2026-01-01T00:00:00Z' },
      { id: 'other', created_time: '2026-01-03T00:00:00Z' }
    ];
    expect(olderFirst(runs, ['new', 'old'])).toEqual(['old', 'new']);
    expect(olderFirst(runs, ['new'])).toBeNull();
  });
});

describe('a comparison of runs in progress', () => {
  it('is asked again when a step or run of either ends', () => {
    const event = (run_id: string, status: string) =>
      ({ schema_id: 's', run_id, pipeline_uuid: 'p', status, seq: 1 }) as any;
    expect(endsPartOf(event('a', 'SUCCESS'), ['a', 'b'])).toBe(true);
    expect(endsPartOf(event('b', 'FAILURE'), ['a', 'b'])).toBe(true);
    expect(endsPartOf(event('b', 'STARTED'), ['a', 'b'])).toBe(false);
    expect(endsPartOf(event('c', 'SUCCESS'), ['a', 'b'])).toBe(false);
  });
});
