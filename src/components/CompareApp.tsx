/** Two runs side by side: what differs in the pipelines they ran, and each step's status,
 * duration, changes, metrics and outputs in both, with a notebook diff for notebook steps. */
import React from 'react';

import {
  changedSettings,
  ComparedRun,
  ComparedStep,
  Comparison,
  formatDelta,
  formatSeconds,
  formatValue,
  pipelinesDiffer,
  stepDifference,
  titleOf,
  ValueChange
} from '../model/compare';
import { formatTime } from '../model/format';
import { formatBytes, shortType, StepOutput } from '../model/outputs';
import { OutputView } from './OutputPreview';
import { useTranslation } from './translation';

export interface CompareActions {
  /** nbdime's diff of a notebook step's executed notebooks, in a tab. */
  diffNotebooks(step: ComparedStep): void;
  /** A run's own pipeline, read-only (`orchest:open-run`). */
  openRun(runId: string): void;
  /** Ask the server again (a run may have gone on). */
  refresh(): void;
}

function StatusBadge({ status }: { status: string | null }): JSX.Element {
  if (!status) {
    return <span className="jp-orchest-compare-absent">—</span>;
  }
  return (
    <span
      className={`jp-orchest-badge jp-orchest-status-${status.toLowerCase()}`}
    >
      {status}
    </span>
  );
}

function RunCard({
  side,
  run,
  actions
}: {
  side: string;
  run: ComparedRun;
  actions: CompareActions;
}): JSX.Element {
  const trans = useTranslation();
  return (
    <div className="jp-orchest-compare-run" data-side={side}>
      <strong>{side.toUpperCase()}</strong> <StatusBadge status={run.status} />{' '}
      <button
        type="button"
        className="jp-orchest-linkbutton"
        title={trans.__('Open the pipeline as this run ran it (read-only)')}
        onClick={() => actions.openRun(run.id)}
      >
        {trans.__('run %1', run.id.slice(0, 8))}
      </button>{' '}
      <span>{run.pipeline_name}</span>{' '}
      <span className="jp-orchest-muted">
        {formatTime(run.started_time ?? run.created_time)}{' '}
        {formatSeconds(run.duration)}
      </span>
    </div>
  );
}

function ValueChanges({
  changes,
  kind
}: {
  changes: ValueChange[];
  kind: string;
}): JSX.Element {
  return (
    <ul className="jp-orchest-compare-values">
      {changes.map(change => (
        <li key={change.name} data-change={kind} data-name={change.name}>
          <code>{change.name}</code>: {formatValue(change.a)} →{' '}
          {formatValue(change.b)}
        </li>
      ))}
    </ul>
  );
}

function PipelineChanges({
  comparison
}: {
  comparison: Comparison;
}): JSX.Element {
  const trans = useTranslation();
  const { pipeline } = comparison;
  const titles = (uuids: string[]) =>
    uuids.map(uuid => titleOf(comparison, uuid)).join(', ');
  const edge = (e: { from: string; to: string }) =>
    `${titleOf(comparison, e.from)} → ${titleOf(comparison, e.to)}`;
  if (!pipelinesDiffer(comparison)) {
    return (
      <p data-pipeline-change="none">
        {trans.__('Both runs ran the same pipeline definition.')}
      </p>
    );
  }
  const envNames = pipeline.env_variable_names;
  const changedSteps = comparison.steps.filter(
    step => Object.keys(step.changes).length > 0
  );
  return (
    <ul className="jp-orchest-compare-pipeline">
      {changedSteps.length > 0 && (
        <li data-pipeline-change="steps-changed">
          {trans.__(
            'Steps changed: %1',
            changedSteps.map(step => step.title).join(', ')
          )}
        </li>
      )}
      {pipeline.name && (
        <li data-pipeline-change="name">
          {trans.__('Name: %1 → %2', pipeline.name.a, pipeline.name.b)}
        </li>
      )}
      {pipeline.parameters.length > 0 && (
        <li data-pipeline-change="parameters">
          {trans.__('Pipeline parameters:')}
          <ValueChanges changes={pipeline.parameters} kind="pipeline" />
        </li>
      )}
      {pipeline.steps.added.length > 0 && (
        <li data-pipeline-change="steps-added">
          {trans.__('Steps added: %1', titles(pipeline.steps.added))}
        </li>
      )}
      {pipeline.steps.removed.length > 0 && (
        <li data-pipeline-change="steps-removed">
          {trans.__('Steps removed: %1', titles(pipeline.steps.removed))}
        </li>
      )}
      {pipeline.connections.added.length > 0 && (
        <li data-pipeline-change="connections-added">
          {trans.__(
            'Connections added: %1',
            pipeline.connections.added.map(edge).join(', ')
          )}
        </li>
      )}
      {pipeline.connections.removed.length > 0 && (
        <li data-pipeline-change="connections-removed">
          {trans.__(
            'Connections removed: %1',
            pipeline.connections.removed.map(edge).join(', ')
          )}
        </li>
      )}
      {envNames.added.length + envNames.removed.length > 0 && (
        <li data-pipeline-change="env-variables">
          {trans.__(
            'Environment variables added: %1; removed: %2',
            envNames.added.join(', ') || '—',
            envNames.removed.join(', ') || '—'
          )}
        </li>
      )}
    </ul>
  );
}

/** A step's changed settings: parameters value by value, the rest by name and value. */
function StepChangeList({ step }: { step: ComparedStep }): JSX.Element {
  const trans = useTranslation();
  const labels: Record<string, string> = {
    code: trans.__('code'),
    parameters: trans.__('parameters'),
    environment: trans.__('environment'),
    image: trans.__('image'),
    kernel: trans.__('kernel'),
    env_variable_names: trans.__('environment variables'),
    incoming_connections: trans.__('connections'),
    title: trans.__('title'),
    file_path: trans.__('file')
  };
  return (
    <div className="jp-orchest-compare-changes">
      {changedSettings(step).map(name => (
        <div key={name} data-setting={name}>
          <span className="jp-orchest-compare-setting">{labels[name]}</span>
          {name === 'parameters' && (
            <ValueChanges changes={step.changes.parameters ?? []} kind="step" />
          )}
          {name === 'code' && (
            <span className="jp-orchest-muted">
              {' '}
              {step.code.a?.slice(0, 8)} → {step.code.b?.slice(0, 8)}
            </span>
          )}
          {['environment', 'image', 'kernel', 'title', 'file_path'].includes(
            name
          ) && (
            <span>
              {' '}
              {formatValue((step.changes as any)[name].a)} →{' '}
              {formatValue((step.changes as any)[name].b)}
            </span>
          )}
        </div>
      ))}
    </div>
  );
}

function Metrics({ step }: { step: ComparedStep }): JSX.Element {
  return (
    <ul className="jp-orchest-compare-values">
      {step.metrics.map(metric => (
        <li key={metric.name} data-metric={metric.name}>
          <code>{metric.name}</code>: {formatValue(metric.a)} →{' '}
          {formatValue(metric.b)} {formatDelta(metric.delta)}
        </li>
      ))}
    </ul>
  );
}

/** Each output either run recorded: its type and size in A and B, and both previews. */
function Outputs({ step }: { step: ComparedStep }): JSX.Element {
  const trans = useTranslation();
  const describe = (o: StepOutput | null) =>
    o ? `${shortType(o.type)} ${formatBytes(o.bytes)}` : '—';
  return (
    <div className="jp-orchest-compare-outputs">
      {step.outputs.map(output => (
        <details
          key={output.name ?? ''}
          data-output={output.name ?? ''}
          data-same={String(output.same)}
        >
          <summary>
            <code>{output.name ?? trans.__('(unnamed)')}</code>:{' '}
            {describe(output.a)} → {describe(output.b)}
            {output.same ? '' : ` (${trans.__('differs')})`}
          </summary>
          <div className="jp-orchest-compare-previews">
            {(['a', 'b'] as const).map(side => {
              const shown = output[side];
              return (
                <div key={side} data-side={side}>
                  {shown ? <OutputView output={shown} /> : '—'}
                </div>
              );
            })}
          </div>
        </details>
      ))}
    </div>
  );
}

function StepRow({
  step,
  actions
}: {
  step: ComparedStep;
  actions: CompareActions;
}): JSX.Element {
  const trans = useTranslation();
  const difference = stepDifference(step);
  const labels: Record<string, string> = {
    added: trans.__('only in B'),
    removed: trans.__('only in A'),
    changed: trans.__('changed'),
    ran: trans.__('ran differently'),
    same: trans.__('same')
  };
  const canDiff = step.kind === 'notebook' && step.a.ran && step.b.ran;
  return (
    <tr data-step-uuid={step.uuid} data-difference={difference}>
      <td title={step.file_path}>{step.title}</td>
      <td>
        <span className={`jp-orchest-compare-${difference}`}>
          {labels[difference]}
        </span>
        <StepChangeList step={step} />
      </td>
      <td data-side="a">
        <StatusBadge status={step.a.status} /> {formatSeconds(step.a.duration)}
      </td>
      <td data-side="b">
        <StatusBadge status={step.b.status} /> {formatSeconds(step.b.duration)}
      </td>
      <td>
        <Metrics step={step} />
        <Outputs step={step} />
      </td>
      <td>
        {canDiff && (
          <button
            type="button"
            className="jp-orchest-button"
            data-action="diff-notebooks"
            title={trans.__(
              "Show nbdime's diff of this step's executed notebooks"
            )}
            onClick={() => actions.diffNotebooks(step)}
          >
            {trans.__('Diff notebooks')}
          </button>
        )}
      </td>
    </tr>
  );
}

export function CompareApp({
  comparison,
  error,
  actions
}: {
  comparison: Comparison | null;
  error: string | null;
  actions: CompareActions;
}): JSX.Element {
  const trans = useTranslation();
  if (error) {
    return (
      <div className="jp-orchest-compare jp-orchest-error" role="alert">
        {error}
      </div>
    );
  }
  if (!comparison) {
    return <div className="jp-orchest-compare">{trans.__('Loading…')}</div>;
  }
  return (
    <div className="jp-orchest-compare">
      <div className="jp-orchest-compare-header">
        <RunCard side="a" run={comparison.a} actions={actions} />
        <RunCard side="b" run={comparison.b} actions={actions} />
        <button
          type="button"
          className="jp-orchest-button"
          data-action="refresh-comparison"
          onClick={() => actions.refresh()}
        >
          {trans.__('Refresh')}
        </button>
      </div>
      {!comparison.same_pipeline && (
        <div
          className="jp-orchest-banner jp-orchest-banner-warn"
          data-banner="different-pipelines"
        >
          {trans.__(
            'These runs are of different pipelines: steps are matched by uuid.'
          )}
        </div>
      )}
      <h3>{trans.__('Pipeline differences')}</h3>
      <PipelineChanges comparison={comparison} />
      <h3>{trans.__('Steps')}</h3>
      <table className="jp-orchest-compare-steps">
        <thead>
          <tr>
            <th>{trans.__('Step')}</th>
            <th>{trans.__('Difference')}</th>
            <th>{trans.__('A')}</th>
            <th>{trans.__('B')}</th>
            <th>{trans.__('Metrics and outputs')}</th>
            <th />
          </tr>
        </thead>
        <tbody>
          {comparison.steps.map(step => (
            <StepRow key={step.uuid} step={step} actions={actions} />
          ))}
        </tbody>
      </table>
    </div>
  );
}
