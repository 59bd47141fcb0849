/** The side panel of one step: status and timings in the shown run, its log (followed live
 * while it runs), its parameters, and its executed notebook. */
import { TranslationBundle } from '@jupyterlab/translation';
import React, { useEffect, useRef, useState } from 'react';

import { OrchestApi } from '../api';
import { ViewState } from '../controller';
import { formatDuration, formatTime } from '../model/format';
import { kindLabel } from '../model/pipeline';
import { TERMINAL } from '../model/runState';
import { StepResults } from './StepResults';
import { useTranslation } from './translation';

/** How much of a log the panel keeps (the tail). */
const MAX_LOG_CHARS = 512 * 1024;
const LOG_FOLLOW_MS = 1000;
/** The line shown above a log whose start the panel does not keep. */
function cutNotice(trans: TranslationBundle): string {
  return (
    trans.__('[… earlier output not shown: the panel keeps the last 512 KiB]') +
    '\n'
  );
}

/** The part of a log the panel keeps: its last characters, and whether any came before. */
interface LogTail {
  text: string;
  cut: boolean;
}

/** A kernelspec the Kernel field offers. */
export interface KernelChoice {
  name: string;
  displayName: string;
}

/** What the step panel can open, and the choices its fields offer. */
export interface StepActions {
  openExecutedNotebook(
    runId: string,
    stepUuid: string,
    asCopy: boolean
  ): Promise<void>;
  openSource(filePath: string): Promise<void>;
  /** A run's own pipeline, read-only, in a tab (`orchest:open-run`). */
  openRun(runId: string): Promise<void>;
  /** Two runs side by side, in a tab (`orchest:compare-runs`). */
  compareRuns(a: string, b: string): Promise<void>;
  /** A step's whole log in a tab. */
  openLog(runId: string, stepUuid: string, title: string): Promise<void>;
  /** The files under the pipeline's directory that can be steps (relative to it). */
  stepFiles(): Promise<string[]>;
  /** The kernelspecs installed on the server. */
  kernels(): Promise<KernelChoice[]>;
}

function useStepLog(
  api: OrchestApi,
  runId: string | null,
  stepUuid: string,
  active: boolean
): LogTail & { error: string | null } {
  const [tail, setTail] = useState<LogTail>({ text: '', cut: false });
  const [error, setError] = useState<string | null>(null);
  const offset = useRef(0);
  useEffect(() => {
    offset.current = 0;
    setTail({ text: '', cut: false });
    setError(null);
  }, [runId, stepUuid]);
  useEffect(() => {
    if (!runId) {
      return;
    }
    let cancelled = false;
    let timer: number | undefined;
    const follow = async () => {
      try {
        const start = offset.current;
        const log = await api.stepLog(runId, stepUuid, start);
        if (cancelled) {
          return;
        }
        setError(null);
        let more = !log.complete;
        if (log.size - start > MAX_LOG_CHARS) {
          // more is written than the panel keeps: read only the tail (as many bytes as it
          // keeps characters)
          offset.current = log.size - MAX_LOG_CHARS;
          setTail({ text: '', cut: true });
          more = true;
        } else if (log.next_offset > start) {
          offset.current = log.next_offset;
          setTail(previous => {
            const text = previous.text + log.text;
            return text.length > MAX_LOG_CHARS
              ? { text: text.slice(-MAX_LOG_CHARS), cut: true }
              : { text, cut: previous.cut };
          });
        }
        const unread = offset.current < log.size;
        if (more && (active || unread)) {
          // what is written already is read at once (unless a character still being
          // written held the read back), new output once a second
          const now = unread && offset.current > start;
          timer = window.setTimeout(follow, now ? 0 : LOG_FOLLOW_MS);
        }
      } catch (err) {
        if (!cancelled) {
          setError((err as Error).message);
        }
      }
    };
    void follow();
    return () => {
      cancelled = true;
      window.clearTimeout(timer);
    };
  }, [api, runId, stepUuid, active]);
  return { ...tail, error };
}

/** What a step's `run_reason` means, for people. */
function runReasons(trans: TranslationBundle): Record<string, string> {
  return {
    refresh: trans.__('the run refreshed the cache'),
    opted_out: trans.__('the step opts out of caching (cache: false)'),
    no_earlier_key: trans.__('no earlier successful run of it'),
    key_changed: trans.__('its code, parameters, inputs or a parent changed'),
    source_missing: trans.__("the earlier result's run directory is gone"),
    cache_error: trans.__(
      'its cache key could not be computed (see the server log)'
    )
  };
}

function ExecutedNotebookButtons({
  open
}: {
  open: (asCopy: boolean) => void;
}): JSX.Element {
  const trans = useTranslation();
  return (
    <>
      <button
        type="button"
        className="jp-orchest-button"
        data-action="open-notebook"
        title={trans.__('The notebook as this run executed it, read-only')}
        onClick={() => open(false)}
      >
        {trans.__('Open executed notebook')}
      </button>
      <button
        type="button"
        className="jp-orchest-button"
        data-action="open-notebook-copy"
        title={trans.__('Save a copy next to the pipeline and open it')}
        onClick={() => open(true)}
      >
        {trans.__('Open a copy')}
      </button>
    </>
  );
}

/** What the step panel shows: the drawn graph, the inspected step, the run and issues. */
export type StepDetailsState = Pick<
  ViewState,
  'graph' | 'inspected' | 'run' | 'issues'
>;

export function StepDetails({
  api,
  state,
  actions,
  ranBecause
}: {
  api: OrchestApi;
  state: StepDetailsState;
  actions: StepActions;
  /** What made each step of the run run ("parameters, parents (Load)"), where recorded. */
  ranBecause?: Record<string, string>;
}): JSX.Element {
  const trans = useTranslation();
  const step = state.graph?.steps.find(s => s.uuid === state.inspected);
  const stepState = step ? state.run?.steps[step.uuid] : undefined;
  const runId = stepState ? (state.run?.id ?? null) : null;
  const active = stepState !== undefined && !TERMINAL.has(stepState.status);
  const { text, cut, error } = useStepLog(api, runId, step?.uuid ?? '', active);
  const logRef = useRef<HTMLPreElement>(null);
  useEffect(() => {
    const element = logRef.current;
    if (element) {
      element.scrollTop = element.scrollHeight;
    }
  }, [text]);
  if (!step) {
    return (
      <div className="jp-orchest-empty">
        {trans.__('Click a step to see its log and details.')}
      </div>
    );
  }
  const issues = state.issues.filter(issue => issue.step === step.uuid);
  const because = ranBecause?.[step.uuid];
  return (
    <div className="jp-orchest-step-details" data-step-details={step.uuid}>
      <h3 className="jp-orchest-step-title">{step.title}</h3>
      <dl className="jp-orchest-facts">
        <dt>{trans.__('File')}</dt>
        <dd>
          <button
            type="button"
            className="jp-orchest-linkbutton"
            onClick={() => void actions.openSource(step.filePath)}
          >
            {step.filePath || trans.__('(none)')}
          </button>{' '}
          ({kindLabel(step)})
        </dd>
        <dt>{trans.__('Status')}</dt>
        <dd data-step-status={stepState?.status ?? ''}>
          {stepState
            ? stepState.status
            : state.run
              ? trans.__('not part of the shown run')
              : trans.__('no run yet')}
        </dd>
        {stepState?.message && (
          <>
            <dt>{trans.__('Message')}</dt>
            <dd>{stepState.message}</dd>
          </>
        )}
        {because ? (
          <>
            <dt>{trans.__('Ran because')}</dt>
            <dd data-ran-because={because}>
              {trans.__('%1 changed', because)}
            </dd>
          </>
        ) : (
          stepState?.run_reason &&
          stepState.run_reason !== 'cache_off' && (
            <>
              <dt>{trans.__('Ran because')}</dt>
              <dd data-run-reason={stepState.run_reason}>
                {runReasons(trans)[stepState.run_reason] ??
                  stepState.run_reason}
              </dd>
            </>
          )
        )}
        {stepState?.started_time && (
          <>
            <dt>{trans.__('Started')}</dt>
            <dd>{formatTime(stepState.started_time)}</dd>
          </>
        )}
        {stepState?.finished_time && (
          <>
            <dt>{trans.__('Finished')}</dt>
            <dd>
              {formatTime(stepState.finished_time)} (
              {formatDuration(stepState.started_time, stepState.finished_time)})
            </dd>
          </>
        )}
      </dl>
      {issues.length > 0 && (
        <ul className="jp-orchest-step-issues">
          {issues.map((issue, index) => (
            <li key={index}>{issue.message}</li>
          ))}
        </ul>
      )}
      {step.kind === 'notebook' && (
        <div className="jp-orchest-step-actions">
          <button
            type="button"
            className="jp-orchest-button"
            data-action="open-source-notebook"
            title={trans.__("Open the step's notebook to edit it")}
            onClick={() => void actions.openSource(step.filePath)}
          >
            {trans.__('Open notebook')}
          </button>
          {runId && (
            <ExecutedNotebookButtons
              open={asCopy =>
                void actions.openExecutedNotebook(runId, step.uuid, asCopy)
              }
            />
          )}
        </div>
      )}
      {runId && stepState && (
        <StepResults api={api} runId={runId} step={stepState} />
      )}
      <h4>{trans.__('Parameters')}</h4>
      <pre className="jp-orchest-params">
        {Object.keys(step.parameters).length
          ? JSON.stringify(step.parameters, null, 2)
          : '{}'}
      </pre>
      <h4>{active ? trans.__('Log (following)') : trans.__('Log')}</h4>
      {error && <div className="jp-orchest-inline-error">{error}</div>}
      {runId && cut && (
        <button
          type="button"
          className="jp-orchest-button"
          data-action="open-full-log"
          title={trans.__(
            'The panel keeps the last 512 KiB; open the whole log in a tab'
          )}
          onClick={() => void actions.openLog(runId, step.uuid, step.title)}
        >
          {trans.__('Open full log')}
        </button>
      )}
      <pre className="jp-orchest-log" data-step-log={step.uuid} ref={logRef}>
        {runId
          ? (cut ? cutNotice(trans) : '') + text
          : trans.__('Run the step to see its log.')}
      </pre>
    </div>
  );
}
