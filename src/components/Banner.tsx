/** Messages above the graph: validation issues, failed API calls, notices. */
import React from 'react';

import { Issue } from '../api';
import { PipelineGraph } from '../model/pipeline';

export interface BannerProps {
  graph: PipelineGraph | null;
  issues: Issue[];
  error: string | null;
  notice: string | null;
  onDismiss: () => void;
}

export function Banner({
  graph,
  issues,
  error,
  notice,
  onDismiss
}: BannerProps): JSX.Element | null {
  const titles = new Map(
    graph?.steps.map(step => [step.uuid, step.title]) ?? []
  );
  if (!issues.length && !error && !notice) {
    return null;
  }
  return (
    <div className="jp-orchest-banners">
      {error && (
        <div
          className="jp-orchest-banner jp-orchest-banner-error"
          role="alert"
          data-banner="error"
        >
          <span>{error}</span>
          <button
            type="button"
            className="jp-orchest-dismiss"
            onClick={onDismiss}
            title="Dismiss"
          >
            ×
          </button>
        </div>
      )}
      {notice && (
        <div
          className="jp-orchest-banner jp-orchest-banner-info"
          data-banner="notice"
        >
          <span>{notice}</span>
          <button
            type="button"
            className="jp-orchest-dismiss"
            onClick={onDismiss}
            title="Dismiss"
          >
            ×
          </button>
        </div>
      )}
      {issues.length > 0 && (
        <div
          className="jp-orchest-banner jp-orchest-banner-warn"
          data-banner="issues"
        >
          <strong>
            The pipeline has {issues.length} issue
            {issues.length === 1 ? '' : 's'}:
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
            {issues.length > 20 && <li>… and {issues.length - 20} more</li>}
          </ul>
        </div>
      )}
    </div>
  );
}
