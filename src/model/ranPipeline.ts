/**
 * The pipeline a past run ran (`GET runs/{id}` → `pipeline`) as a drawable graph, and how
 * today's pipeline file differs from it. Pure: no JupyterLab imports.
 */
import { graphFromJson, PipelineGraph, PipelineStep } from './pipeline';

/** A step of the pipeline a run ran, as the runs API returns it. */
export interface RanStep {
  uuid: string;
  title: string;
  file_path: string;
  incoming_connections: string[];
  parameters: Record<string, unknown>;
  environment?: string | null;
  kernel?: { name?: string } | null;
  env_variable_names?: string[];
  meta_data?: Record<string, unknown>;
}

/** The pipeline a run ran: stored when it started, with the run's parameter overrides. */
export interface RanPipeline {
  name: string;
  uuid: string;
  parameters: Record<string, unknown>;
  env_variable_names?: string[];
  steps: Record<string, RanStep>;
}

/** The graph of the pipeline a run ran. */
export function graphOfRun(pipeline: RanPipeline, path: string): PipelineGraph {
  return graphFromJson(
    {
      name: pipeline.name,
      uuid: pipeline.uuid,
      parameters: pipeline.parameters ?? {},
      steps: pipeline.steps ?? {}
    },
    path
  );
}

/** How today's pipeline differs from the one a run ran (by step uuid; titles for people). */
export interface PipelineChanges {
  /** The pipeline file is gone (or is no longer a pipeline). */
  gone: boolean;
  /** Titles of the run's steps that today's pipeline no longer has. */
  removed: string[];
  /** Titles of today's steps the run did not have. */
  added: string[];
  /** Titles of steps whose file, title, connections or parameters changed. */
  modified: string[];
  /** The pipeline parameters changed. */
  pipelineParameters: boolean;
}

/** Whether two JSON values are equal (object key order does not matter). */
export function sameJson(a: unknown, b: unknown): boolean {
  if (a === b) {
    return true;
  }
  if (Array.isArray(a) || Array.isArray(b)) {
    return (
      Array.isArray(a) &&
      Array.isArray(b) &&
      a.length === b.length &&
      a.every((item, i) => sameJson(item, b[i]))
    );
  }
  if (a && b && typeof a === 'object' && typeof b === 'object') {
    const left = a as Record<string, unknown>;
    const right = b as Record<string, unknown>;
    const keys = Object.keys(left);
    return (
      keys.length === Object.keys(right).length &&
      keys.every(key => key in right && sameJson(left[key], right[key]))
    );
  }
  return false;
}

function sameStep(ran: PipelineStep, today: PipelineStep): boolean {
  return (
    ran.title === today.title &&
    ran.filePath === today.filePath &&
    sameJson([...ran.incoming].sort(), [...today.incoming].sort()) &&
    sameJson(ran.parameters, today.parameters)
  );
}

/** What changed from the pipeline a run ran to today's (`null`: the file is gone). */
export function pipelineChanges(
  ran: PipelineGraph,
  today: PipelineGraph | null
): PipelineChanges {
  if (!today) {
    return {
      gone: true,
      removed: [],
      added: [],
      modified: [],
      pipelineParameters: false
    };
  }
  const now = new Map(today.steps.map(step => [step.uuid, step]));
  const before = new Set(ran.steps.map(step => step.uuid));
  return {
    gone: false,
    removed: ran.steps.filter(s => !now.has(s.uuid)).map(s => s.title),
    added: today.steps.filter(s => !before.has(s.uuid)).map(s => s.title),
    modified: ran.steps
      .filter(s => now.has(s.uuid) && !sameStep(s, now.get(s.uuid)!))
      .map(s => s.title),
    pipelineParameters: !sameJson(ran.parameters, today.parameters)
  };
}

/** Whether anything changed since the run. */
export function hasChanges(changes: PipelineChanges): boolean {
  return (
    changes.gone ||
    changes.removed.length > 0 ||
    changes.added.length > 0 ||
    changes.modified.length > 0 ||
    changes.pipelineParameters
  );
}

/** The banner's sentences about what changed since the run (empty: nothing changed). */
export function changesMessage(
  changes: PipelineChanges,
  __: (text: string, ...args: string[]) => string
): string {
  if (changes.gone) {
    return __(
      'The pipeline file is gone: this is the pipeline as the run ran it.'
    );
  }
  if (!hasChanges(changes)) {
    return '';
  }
  const parts: string[] = [];
  if (changes.removed.length) {
    parts.push(__('removed: %1', changes.removed.join(', ')));
  }
  if (changes.added.length) {
    parts.push(__('added: %1', changes.added.join(', ')));
  }
  if (changes.modified.length) {
    parts.push(__('changed: %1', changes.modified.join(', ')));
  }
  if (changes.pipelineParameters) {
    parts.push(__('pipeline parameters changed'));
  }
  return __(
    'The pipeline file has changed since this run (%1); this is the pipeline as the run ran it.',
    parts.join('; ')
  );
}

/** What made a step run, for people: the kinds of change of its cache key (`changed`), the
 * changed parents by title ("parameters, parents (Load)"); null when none is recorded. */
export function ranBecause(
  changed: string[] | null | undefined,
  changedParents: string[] | null | undefined,
  titleOf: (uuid: string) => string
): string | null {
  if (!changed?.length) {
    return null;
  }
  const parents = (changedParents ?? []).map(titleOf);
  return changed
    .map(kind =>
      kind === 'parents' && parents.length
        ? `parents (${parents.join(', ')})`
        : kind
    )
    .join(', ');
}
