/**
 * A grid job's results matrix (`GET jobs/{id}/matrix`) as the view shows it: its columns
 * (parameters, status, duration, the chosen metrics, outputs), rows sorted by any column,
 * and the shown table as CSV. Pure: no JupyterLab imports.
 */
import { Status } from './runState';

/** One combination of the grid with its newest run, as the server sends it. */
export interface MatrixRow {
  parameters: Record<string, unknown>;
  run_id: string | null;
  runs: number;
  fire_time: string | null;
  status: Status | null;
  /** Seconds from the run's start to its end; null while it has not ended. */
  duration: number | null;
  metrics: Record<string, number>;
  /** A short preview of each output ("100×3 table", "float64 array 10×10", "0.93"). */
  outputs: Record<string, string>;
}

export interface JobMatrix {
  job_id: string;
  job_name: string;
  parameters: string[];
  metrics: string[];
  outputs: string[];
  rows: MatrixRow[];
}

export type ColumnKind =
  'parameter' | 'status' | 'duration' | 'metric' | 'output';

export interface MatrixColumn {
  kind: ColumnKind;
  /** The parameter's, metric's or output's name; the kind for status and duration. */
  name: string;
}

export type SortDirection = 'ascending' | 'descending';

export interface MatrixSort {
  column: MatrixColumn;
  direction: SortDirection;
}

/** The shown columns: parameters, status, duration, the chosen metrics (all when `chosen`
 * is null), outputs. */
export function matrixColumns(
  matrix: JobMatrix,
  chosenMetrics: ReadonlySet<string> | null = null
): MatrixColumn[] {
  return [
    ...matrix.parameters.map(name => ({ kind: 'parameter' as const, name })),
    { kind: 'status', name: 'status' },
    { kind: 'duration', name: 'duration' },
    ...matrix.metrics
      .filter(name => chosenMetrics === null || chosenMetrics.has(name))
      .map(name => ({ kind: 'metric' as const, name })),
    ...matrix.outputs.map(name => ({ kind: 'output' as const, name }))
  ];
}

/** A column's identity, e.g. `metric:accuracy`. */
export function columnId(column: MatrixColumn): string {
  return `${column.kind}:${column.name}`;
}

/** A row's value in a column; undefined where it has none. */
export function cellValue(row: MatrixRow, column: MatrixColumn): unknown {
  switch (column.kind) {
    case 'parameter':
      return row.parameters[column.name];
    case 'status':
      return row.status ?? undefined;
    case 'duration':
      return row.duration ?? undefined;
    case 'metric':
      return row.metrics[column.name];
    case 'output':
      return row.outputs[column.name];
  }
}

/** A value as a cell shows it: text as it is, numbers as JavaScript writes them, other
 * values as JSON; "" for none. */
export function cellText(value: unknown): string {
  if (value === undefined || value === null) {
    return '';
  }
  if (typeof value === 'string') {
    return value;
  }
  if (typeof value === 'number') {
    return String(value);
  }
  return JSON.stringify(value);
}

/** -1, 0 or 1: numbers by value, before text (compared as people read numbers in it);
 * anything else by its JSON text. */
function compareValues(a: unknown, b: unknown): number {
  if (typeof a === 'number' && typeof b === 'number') {
    return a === b ? 0 : a < b ? -1 : 1;
  }
  if (typeof a === 'number') {
    return -1;
  }
  if (typeof b === 'number') {
    return 1;
  }
  return cellText(a).localeCompare(cellText(b), undefined, { numeric: true });
}

/** The rows sorted by a column (stable); rows without a value in it come last either way. */
export function sortRows(
  rows: readonly MatrixRow[],
  sort: MatrixSort | null
): MatrixRow[] {
  if (!sort) {
    return [...rows];
  }
  const sign = sort.direction === 'ascending' ? 1 : -1;
  return rows
    .map((row, index) => ({ row, index, value: cellValue(row, sort.column) }))
    .sort((a, b) => {
      const aMissing = a.value === undefined;
      const bMissing = b.value === undefined;
      if (aMissing || bMissing) {
        return aMissing === bMissing ? a.index - b.index : aMissing ? 1 : -1;
      }
      return sign * compareValues(a.value, b.value) || a.index - b.index;
    })
    .map(entry => entry.row);
}

/** The sort after a click on a column's header: ascending first, then descending. */
export function nextSort(
  current: MatrixSort | null,
  column: MatrixColumn
): MatrixSort {
  const same = current && columnId(current.column) === columnId(column);
  return {
    column,
    direction:
      same && current.direction === 'ascending' ? 'descending' : 'ascending'
  };
}

/** A CSV field, quoted when it holds a comma, a quote or a line break (RFC 4180). */
function csvField(text: string): string {
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

/** The shown table as CSV: `run_id`, then the shown columns in their order (duration as
 * `duration_s`), the rows in the shown order. */
export function matrixCsv(
  columns: readonly MatrixColumn[],
  rows: readonly MatrixRow[]
): string {
  const header = [
    'run_id',
    ...columns.map(column =>
      column.kind === 'duration' ? 'duration_s' : column.name
    )
  ];
  const lines = [
    header,
    ...rows.map(row => [
      row.run_id ?? '',
      ...columns.map(column => cellText(cellValue(row, column)))
    ])
  ];
  return lines.map(line => line.map(csvField).join(',')).join('\n') + '\n';
}
