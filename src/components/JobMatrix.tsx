/** A grid job's results matrix: a row per combination, sortable by any column, the metric
 * columns the user chooses, a click on a row opens its run; the shown table as CSV. */
import React, { useMemo, useState } from 'react';

import { formatElapsed } from '../model/format';
import {
  cellText,
  cellValue,
  columnId,
  JobMatrix,
  MatrixColumn,
  matrixColumns,
  matrixCsv,
  MatrixRow,
  MatrixSort,
  nextSort,
  sortRows
} from '../model/matrix';
import { useTranslation } from './translation';

export interface JobMatrixActions {
  /** The run's own pipeline as it ran (`orchest:open-run`). */
  openRun(runId: string): void;
  /** Save the shown table as a CSV file of this name. */
  exportCsv(csv: string, fileName: string): void;
  refresh(): void;
}

function ColumnHeader({
  column,
  sort,
  onSort
}: {
  column: MatrixColumn;
  sort: MatrixSort | null;
  onSort: (column: MatrixColumn) => void;
}): JSX.Element {
  const trans = useTranslation();
  const id = columnId(column);
  const sorted = sort && columnId(sort.column) === id ? sort.direction : null;
  const label =
    column.kind === 'status'
      ? trans.__('Status')
      : column.kind === 'duration'
        ? trans.__('Duration')
        : column.name;
  return (
    <th
      data-column={id}
      data-kind={column.kind}
      aria-sort={sorted ?? 'none'}
      scope="col"
    >
      <button
        type="button"
        className="jp-orchest-linkbutton"
        title={trans.__('Sort by %1', label)}
        onClick={() => onSort(column)}
      >
        {label}
        {sorted === 'ascending' ? ' ▲' : sorted === 'descending' ? ' ▼' : ''}
      </button>
    </th>
  );
}

function Cell({
  row,
  column
}: {
  row: MatrixRow;
  column: MatrixColumn;
}): JSX.Element {
  const trans = useTranslation();
  const value = cellValue(row, column);
  const id = columnId(column);
  if (column.kind === 'status') {
    const status = row.status;
    return (
      <td data-column={id}>
        {status ? (
          <span
            className={`jp-orchest-badge jp-orchest-status-${status.toLowerCase()}`}
          >
            {status}
          </span>
        ) : (
          trans.__('not run yet')
        )}
      </td>
    );
  }
  const text =
    column.kind === 'duration' && typeof value === 'number'
      ? formatElapsed(value * 1000)
      : cellText(value);
  return (
    <td data-column={id} className={`jp-orchest-matrix-${column.kind}`}>
      {text}
    </td>
  );
}

/** One combination's row; drawn again only when it or the columns change (a sort only
 * moves it). */
const MatrixRowView = React.memo(function MatrixRowView({
  row,
  columns,
  openRun
}: {
  row: MatrixRow;
  columns: MatrixColumn[];
  openRun: (runId: string) => void;
}): JSX.Element {
  const trans = useTranslation();
  return (
    <tr
      data-run-id={row.run_id ?? ''}
      data-status={row.status ?? ''}
      title={
        row.run_id
          ? trans.__('Open this run as it ran')
          : trans.__('This combination has not run yet')
      }
      onClick={() => row.run_id && openRun(row.run_id)}
    >
      {columns.map(column => (
        <Cell key={columnId(column)} row={row} column={column} />
      ))}
    </tr>
  );
});

function MetricChooser({
  metrics,
  chosen,
  onChange
}: {
  metrics: string[];
  chosen: ReadonlySet<string> | null;
  onChange: (chosen: Set<string>) => void;
}): JSX.Element | null {
  const trans = useTranslation();
  if (metrics.length === 0) {
    return null;
  }
  const shown = chosen ?? new Set(metrics);
  return (
    <fieldset className="jp-orchest-matrix-metrics" data-metric-chooser="">
      <legend>{trans.__('Metric columns')}</legend>
      {metrics.map(name => (
        <label key={name}>
          <input
            type="checkbox"
            data-metric={name}
            checked={shown.has(name)}
            onChange={event => {
              const next = new Set(shown);
              if (event.target.checked) {
                next.add(name);
              } else {
                next.delete(name);
              }
              onChange(next);
            }}
          />
          {name}
        </label>
      ))}
    </fieldset>
  );
}

export function JobMatrixTable({
  matrix,
  error,
  actions
}: {
  matrix: JobMatrix | null;
  error: string | null;
  actions: JobMatrixActions;
}): JSX.Element {
  const trans = useTranslation();
  const [sort, setSort] = useState<MatrixSort | null>(null);
  const [chosen, setChosen] = useState<Set<string> | null>(null);
  const columns = useMemo(
    () => (matrix ? matrixColumns(matrix, chosen) : []),
    [matrix, chosen]
  );
  const rows = useMemo(
    () => sortRows(matrix?.rows ?? [], sort),
    [matrix, sort]
  );
  return (
    <div className="jp-orchest-matrix" data-job-matrix={matrix?.job_id ?? ''}>
      <div className="jp-orchest-panel-header">
        <span className="jp-orchest-panel-title">
          {matrix
            ? trans._n(
                '%2: %1 combination',
                '%2: %1 combinations',
                matrix.rows.length,
                matrix.job_name
              )
            : trans.__('Loading…')}
        </span>
        <span>
          <button
            type="button"
            className="jp-orchest-button"
            data-action="export-csv"
            title={trans.__('Save the table as shown (columns, order) as CSV')}
            disabled={!matrix}
            onClick={() =>
              matrix &&
              actions.exportCsv(
                matrixCsv(columns, rows),
                `${matrix.job_name}-matrix.csv`
              )
            }
          >
            {trans.__('Export CSV')}
          </button>
          <button
            type="button"
            className="jp-orchest-button"
            data-action="refresh-matrix"
            onClick={() => actions.refresh()}
          >
            {trans.__('Refresh')}
          </button>
        </span>
      </div>
      {error && <div className="jp-orchest-inline-error">{error}</div>}
      {matrix && (
        <MetricChooser
          metrics={matrix.metrics}
          chosen={chosen}
          onChange={setChosen}
        />
      )}
      <table className="jp-orchest-runs jp-orchest-matrix-table">
        <thead>
          <tr>
            {columns.map(column => (
              <ColumnHeader
                key={columnId(column)}
                column={column}
                sort={sort}
                onSort={c => setSort(nextSort(sort, c))}
              />
            ))}
          </tr>
        </thead>
        <tbody>
          {rows.map(row => (
            <MatrixRowView
              key={JSON.stringify(row.parameters)}
              row={row}
              columns={columns}
              openRun={actions.openRun}
            />
          ))}
        </tbody>
      </table>
    </div>
  );
}
