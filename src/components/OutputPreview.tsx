/** What a step passed on, as the edge preview and the step panel show it: each output's
 * name, type and size with its preview (a table's schema and first rows, an array's dtype,
 * shape and range, an image's thumbnail, a value), and the step's metrics. */
import React from 'react';

import {
  formatBytes,
  formatShape,
  OutputPreview,
  previewText,
  shortType,
  StepOutput
} from '../model/outputs';
import { useTranslation } from './translation';

function TableView({
  preview
}: {
  preview: Extract<OutputPreview, { kind: 'table' }>;
}): JSX.Element {
  const trans = useTranslation();
  const [rows, columns] = preview.shape;
  return (
    <>
      <div className="jp-orchest-output-shape">
        {trans._n('%1 row', '%1 rows', rows)} ×{' '}
        {trans._n('%1 column', '%1 columns', columns)}
        {preview.rows.length < rows
          ? ` · ${trans.__('first %1 shown', preview.rows.length)}`
          : ''}
      </div>
      <div className="jp-orchest-output-table-scroll">
        <table className="jp-orchest-output-table" data-preview="table">
          <thead>
            <tr>
              {preview.columns.map((column, index) => (
                <th key={index} data-column={column.name}>
                  {column.name}
                  <span className="jp-orchest-output-dtype">
                    {column.dtype}
                  </span>
                </th>
              ))}
            </tr>
          </thead>
          <tbody>
            {preview.rows.map((row, index) => (
              <tr key={index}>
                {row.map((cell, column) => (
                  <td key={column}>{previewText(cell)}</td>
                ))}
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </>
  );
}

function PreviewView({ preview }: { preview: OutputPreview }): JSX.Element {
  const trans = useTranslation();
  switch (preview.kind) {
    case 'table':
      return <TableView preview={preview} />;
    case 'array':
      return (
        <dl className="jp-orchest-facts" data-preview="array">
          <dt>{trans.__('dtype')}</dt>
          <dd>{preview.dtype}</dd>
          <dt>{trans.__('shape')}</dt>
          <dd>{formatShape(preview.shape)}</dd>
          {preview.min !== undefined && (
            <>
              <dt>{trans.__('min')}</dt>
              <dd>{previewText(preview.min)}</dd>
              <dt>{trans.__('max')}</dt>
              <dd>{previewText(preview.max)}</dd>
            </>
          )}
        </dl>
      );
    case 'image':
      return (
        <img
          className="jp-orchest-output-image"
          data-preview="image"
          src={preview.thumbnail}
          alt={trans.__('Thumbnail of the image')}
        />
      );
    case 'value':
      return (
        <pre className="jp-orchest-output-value" data-preview="value">
          {JSON.stringify(preview.value, null, 2)}
        </pre>
      );
    case 'text':
      return (
        <pre className="jp-orchest-output-value" data-preview="text">
          {preview.text}
        </pre>
      );
  }
}

/** One output: its name, type and size, then its preview (or why it has none). */
export function OutputView({ output }: { output: StepOutput }): JSX.Element {
  const trans = useTranslation();
  return (
    <div
      className="jp-orchest-output"
      data-output={output.name ?? ''}
      data-output-type={output.type}
    >
      <div className="jp-orchest-output-head">
        <span className="jp-orchest-output-name">
          {output.name ?? trans.__('(unnamed)')}
        </span>{' '}
        <span className="jp-orchest-output-type" title={output.type}>
          {shortType(output.type)}
        </span>{' '}
        <span className="jp-orchest-output-bytes">
          {formatBytes(output.bytes)}
        </span>
      </div>
      {output.preview ? (
        <PreviewView preview={output.preview} />
      ) : (
        <div className="jp-orchest-empty">
          {output.preview_error
            ? trans.__('No preview: %1', output.preview_error)
            : trans.__('No preview of this type.')}
        </div>
      )}
    </div>
  );
}

/** Every output of a step; a line saying it passed none. */
export function OutputsView({
  outputs
}: {
  outputs: readonly StepOutput[];
}): JSX.Element {
  const trans = useTranslation();
  if (outputs.length === 0) {
    return (
      <div className="jp-orchest-empty" data-outputs="none">
        {trans.__('It passed no output (orchest.output).')}
      </div>
    );
  }
  return (
    <div className="jp-orchest-outputs" data-outputs={outputs.length}>
      {outputs.map((output, index) => (
        <OutputView key={`${output.name}-${index}`} output={output} />
      ))}
    </div>
  );
}

/** A step's metrics by name; nothing when it logged none. */
export function MetricsView({
  metrics
}: {
  metrics: Record<string, number>;
}): JSX.Element | null {
  const names = Object.keys(metrics).sort();
  if (names.length === 0) {
    return null;
  }
  return (
    <dl className="jp-orchest-facts" data-metrics="">
      {names.map(name => (
        <React.Fragment key={name}>
          <dt>{name}</dt>
          <dd data-metric={name}>{String(metrics[name])}</dd>
        </React.Fragment>
      ))}
    </dl>
  );
}
