import {
  JobMatrix,
  MatrixRow,
  matrixColumns,
  matrixCsv,
  nextSort,
  sortRows
} from '../model/matrix';

function row(
  runId: string | null,
  a: unknown,
  b: unknown,
  extra: Partial<MatrixRow> = {}
): MatrixRow {
  return {
    parameters: { a, 'Train.b': b },
    run_id: runId,
    runs: runId ? 1 : 0,
    fire_time: null,
    status: runId ? 'SUCCESS' : null,
    duration: runId ? 1.5 : null,
    metrics: {},
    outputs: {},
    ...extra
  };
}

const MATRIX: JobMatrix = {
  job_id: 'j',
  job_name: 'sweep',
  parameters: ['a', 'Train.b'],
  metrics: ['accuracy', 'loss'],
  outputs: ['Load.df'],
  rows: [
    row('r1', 10, 'x', { metrics: { accuracy: 0.8, loss: 2 }, duration: 3 }),
    row('r2', 2, 'y', {
      metrics: { accuracy: 0.95, loss: 1 },
      outputs: { 'Load.df': '100×3 table' }
    }),
    row(null, 1, 'z,"q"'),
    row('r3', 2, 'x', { status: 'FAILURE', metrics: { loss: 5 } })
  ]
};

const ids = (rows: MatrixRow[]) => rows.map(r => r.run_id);

describe('matrixColumns', () => {
  it('shows parameters, status, duration, every metric and the outputs', () => {
    expect(matrixColumns(MATRIX).map(c => `${c.kind}:${c.name}`)).toEqual([
      'parameter:a',
      'parameter:Train.b',
      'status:status',
      'duration:duration',
      'metric:accuracy',
      'metric:loss',
      'output:Load.df'
    ]);
  });

  it('shows only the chosen metrics', () => {
    const columns = matrixColumns(MATRIX, new Set(['loss']));
    expect(columns.filter(c => c.kind === 'metric').map(c => c.name)).toEqual([
      'loss'
    ]);
  });
});

describe('sortRows', () => {
  it('sorts numbers by value, both ways, rows without a value last', () => {
    const accuracy = { kind: 'metric' as const, name: 'accuracy' };
    expect(
      ids(sortRows(MATRIX.rows, { column: accuracy, direction: 'ascending' }))
    ).toEqual(['r1', 'r2', null, 'r3']);
    expect(
      ids(sortRows(MATRIX.rows, { column: accuracy, direction: 'descending' }))
    ).toEqual(['r2', 'r1', null, 'r3']);
  });

  it('sorts a parameter numerically (2 before 10) and keeps ties in order', () => {
    const a = { kind: 'parameter' as const, name: 'a' };
    expect(
      ids(sortRows(MATRIX.rows, { column: a, direction: 'ascending' }))
    ).toEqual([null, 'r2', 'r3', 'r1']);
  });

  it('sorts text and statuses, a combination not run yet last', () => {
    const status = { kind: 'status' as const, name: 'status' };
    expect(
      ids(sortRows(MATRIX.rows, { column: status, direction: 'ascending' }))
    ).toEqual(['r3', 'r1', 'r2', null]);
    const duration = { kind: 'duration' as const, name: 'duration' };
    expect(
      ids(sortRows(MATRIX.rows, { column: duration, direction: 'descending' }))
    ).toEqual(['r1', 'r2', 'r3', null]);
  });

  it('keeps the grid order without a sort', () => {
    expect(ids(sortRows(MATRIX.rows, null))).toEqual(['r1', 'r2', null, 'r3']);
  });
});

describe('nextSort', () => {
  it('sorts ascending first, then descending, and a new column ascending', () => {
    const a = { kind: 'parameter' as const, name: 'a' };
    const loss = { kind: 'metric' as const, name: 'loss' };
    const first = nextSort(null, a);
    expect(first.direction).toBe('ascending');
    expect(nextSort(first, a).direction).toBe('descending');
    expect(nextSort(nextSort(first, a), a).direction).toBe('ascending');
    expect(nextSort(first, loss)).toEqual({
      column: loss,
      direction: 'ascending'
    });
  });
});

describe('matrixCsv', () => {
  it('writes the shown columns and rows, quoting what needs it', () => {
    const columns = matrixColumns(MATRIX, new Set(['accuracy']));
    const rows = sortRows(MATRIX.rows, {
      column: columns[0],
      direction: 'descending'
    });
    expect(matrixCsv(columns, rows).split('\n')).toEqual([
      'run_id,a,Train.b,status,duration_s,accuracy,Load.df',
      'r1,10,x,SUCCESS,3,0.8,',
      'r2,2,y,SUCCESS,1.5,0.95,100×3 table',
      'r3,2,x,FAILURE,1.5,,',
      ',1,"z,""q""",,,,',
      ''
    ]);
  });

  it('writes values that are not text or numbers as JSON', () => {
    const matrix: JobMatrix = {
      ...MATRIX,
      parameters: ['a'],
      metrics: [],
      outputs: [],
      rows: [row('r', [1, 2], null), row('s', { k: true }, null)]
    };
    const csv = matrixCsv(matrixColumns(matrix), matrix.rows);
    expect(csv.split('\n').slice(1, 3)).toEqual([
      'r,"[1,2]",SUCCESS,1.5',
      's,"{""k"":true}",SUCCESS,1.5'
    ]);
  });
});
