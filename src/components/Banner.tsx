/** Messages above the graph: validation issues, failed API calls, notices. */
import React from 'react';

import { Issue } from '../api';
import { PipelineGraph } from '../model/pipeline';
import { useTranslation } from './translation';

export interface BannerProps {
  graph: PipelineGraph | null;
  issues: Issue[];
  error: string | null;
  notice: string | null;
  onDismiss: () => void;
}

/** One message the user can dismiss: a failed call (an alert) or a notice. */
function Dismissible({
  kind,
  message,
  onDismiss
}: {
  kind: 'error' | 'notice';
  message: string;
  onDismiss: () => void;
}): JSX.Element {
  const trans = useTranslation();
  return (
    <div
      className={`jp-orchest-banner jp-orchest-banner-${kind === 'error' ? 'error' : 'info'}`}
      role={kind === 'error' ? 'alert' : 'status'}
      data-banner={kind}
    >
      <span>{message}</span>
      <button
        type="button"
        className="jp-orchest-dismiss"
        onClick={onDismiss}
        title={trans.__('Dismiss')}
      >
        ×
      </button>
    </div>
  );
}

export function Banner({
  graph,
  issues,
  error,
  notice,
  onDismiss
}: BannerProps): JSX.Element | null {
  const trans = useTranslation();
  const titles = new Map(
    graph?.steps.map(step => [step.uuid, step.title]) ?? []
  );
  if (!issues.length && !error && !notice) {
    return null;
  }
  return (
    <div className="jp-orchest-banners">
      {error && (
        <Dismissible kind="error" message={error} onDismiss={onDismiss} />
      )}
      {notice && (
        <Dismissible kind="notice" message={notice} onDismiss={onDismiss} />
      )}
      {issues.length > 0 && (
        <div
          className="jp-orchest-banner jp-orchest-banner-warn"
          data-banner="issues"
        >
          <strong>
            {trans._n(
              'The pipeline has %1 issue:',
              'The pipeline has %1 issues:',
              issues.length
            )}
          </strong>
          <ul>
            {issues.slice(0, 20).map((issue, index) => (
              <li key={index} data-issue-step={issue.step ?? ''}>
                {issue.step && titles.has(issue.step)
                  ? `${titles.get(issue.step)}: `
                  : ''}
                {issue.message}
              </li>
            ))}
            {issues.length > 20 && (
              <li>{trans.__('… and %1 more', issues.length - 20)}</li>
            )}
          </ul>
        </div>
      )}
    </div>
  );
}
