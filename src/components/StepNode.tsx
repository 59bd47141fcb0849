/** One step on the canvas: title, file kind, status and duration of the shown run, issues. */
import { Node, NodeProps, Position } from '@xyflow/react';
import React, { memo } from 'react';

import { nodeIssueText } from '../model/issues';
import { kindLabel, PipelineStep } from '../model/pipeline';
import { StepHandle } from './StepHandle';

/** What a node shows of its step (not its connections: adding one redraws no node). */
export type StepLabel = Pick<
  PipelineStep,
  'uuid' | 'title' | 'filePath' | 'kind' | 'kernel'
>;

export interface StepNodeData extends Record<string, unknown> {
  step: StepLabel;
  /** Status in the shown run; "" when the step is not part of it (or no run is shown). */
  status: string;
  /** The run a cached step reused the result of; null when the step was not cached. */
  cachedFrom: string | null;
  duration: string;
  issues: string[];
}

export type StepNodeType = Node<StepNodeData, 'step'>;

function StepNodeView({
  data,
  selected
}: NodeProps<StepNodeType>): JSX.Element {
  const { step, status, cachedFrom, duration, issues } = data;
  const cached = cachedFrom !== null;
  const classes = [
    'jp-orchest-node',
    `jp-orchest-status-${status ? status.toLowerCase() : 'none'}`,
    issues.length ? 'jp-orchest-node-invalid' : '',
    cached ? 'jp-orchest-node-cached' : '',
    selected ? 'jp-mod-selected' : ''
  ];
  return (
    <div
      className={classes.join(' ')}
      data-step-uuid={step.uuid}
      data-status={status}
      data-cached={cached ? 'true' : undefined}
      data-kind={step.kind}
      title={`${step.title}\n${step.filePath}`}
    >
      <StepHandle type="target" position={Position.Left} />
      <div className="jp-orchest-node-title">{step.title}</div>
      <div className="jp-orchest-node-meta">
        <span className={`jp-orchest-kind jp-orchest-kind-${step.kind}`}>
          {kindLabel(step)}
        </span>
        {status && <span className="jp-orchest-node-status">{status}</span>}
        {cached && (
          <span
            className="jp-orchest-node-cached-badge"
            title={`Not run: reused the result of run ${cachedFrom}`}
          >
            cached
          </span>
        )}
        {duration && (
          <span className="jp-orchest-node-duration">{duration}</span>
        )}
      </div>
      {issues.length > 0 && (
        <div className="jp-orchest-node-issues" title={issues.join('\n')}>
          ⚠{' '}
          {issues.length === 1
            ? nodeIssueText(issues[0], step)
            : `${issues.length} issues`}
        </div>
      )}
      <StepHandle type="source" position={Position.Right} />
    </div>
  );
}

export const StepNode = memo(StepNodeView);
