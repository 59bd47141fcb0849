/** Two runs side by side (`GET runs/compare`): the answer's types and what the view derives
 * from it. Pure. */
import { StepOutput } from './outputs';
import { Status, StatusEvent, TERMINAL } from './runState';

export type Side = 'a' | 'b';

export interface ComparedRun {
  id: string;
  status: Status;
  pipeline_uuid: string;
  pipeline_name: string;
  pipeline_path: string | null;
  created_time?: string;
  started_time?: string | null;
  finished_time?: string | null;
  duration: number | null;
}

export interface ValueChange {
  name: string;
  change: 'added' | 'removed' | 'changed';
  a: unknown;
  b: unknown;
}

export interface NameChanges {
  added: string[];
  removed: string[];
}

export interface ComparedStepRun {
  ran: boolean;
  status: Status | null;
  duration: number | null;
  cached?: boolean;
  metrics: Record<string, number>;
  outputs: StepOutput[] | null;
}

export interface StepChanges {
  title?: { a: string; b: string };
  file_path?: { a: string; b: string };
  environment?: { a: string | null; b: string | null };
  image?: { a: string | null; b: string | null };
  kernel?: { a: string | null; b: string | null };
  parameters?: ValueChange[];
  env_variable_names?: NameChanges;
  incoming_connections?: NameChanges;
  code?: { a: string; b: string };
}

export interface ComparedStep {
  uuid: string;
  title: string;
  file_path: string;
  /** By the file's suffix (null: not a step file). */
  kind: 'notebook' | 'python' | 'shell' | 'r' | null;
  in: Side[];
  changes: StepChanges;
  code: { a: string | null; b: string | null; same: boolean | null };
  a: ComparedStepRun;
  b: ComparedStepRun;
  metrics: {
    name: string;
    a: number | null;
    b: number | null;
    delta: number | null;
  }[];
  outputs: {
    name: string | null;
    a: StepOutput | null;
    b: StepOutput | null;
    same: boolean;
  }[];
}

export interface Comparison {
  a: ComparedRun;
  b: ComparedRun;
  same_pipeline: boolean;
  pipeline: {
    name: { a: string; b: string } | null;
    parameters: ValueChange[];
    env_variable_names: NameChanges;
    steps: { added: string[]; removed: string[]; matched: string[] };
    connections: {
      added: { from: string; to: string }[];
      removed: { from: string; to: string }[];
    };
  };
  steps: ComparedStep[];
}

/** How a step differs between the runs: only in one pipeline, its definition changed, it
 * ran differently (status), or nothing. */
export type StepDifference = 'added' | 'removed' | 'changed' | 'ran' | 'same';

export function stepDifference(step: ComparedStep): StepDifference {
  if (!step.in.includes('a')) {
    return 'added';
  }
  if (!step.in.includes('b')) {
    return 'removed';
  }
  if (Object.keys(step.changes).length) {
    return 'changed';
  }
  return step.a.status !== step.b.status ? 'ran' : 'same';
}

/** The names of a step's changed settings, in the order the view lists them. */
export function changedSettings(step: ComparedStep): string[] {
  const order: (keyof StepChanges)[] = [
    'code',
    'parameters',
    'environment',
    'image',
    'kernel',
    'env_variable_names',
    'incoming_connections',
    'title',
    'file_path'
  ];
  return order.filter(name => step.changes[name] !== undefined);
}

/** Whether the pipelines differ at all (name, parameters, env names, steps, connections). */
export function pipelinesDiffer(comparison: Comparison): boolean {
  const { pipeline } = comparison;
  return (
    pipeline.name !== null ||
    pipeline.parameters.length > 0 ||
    pipeline.env_variable_names.added.length > 0 ||
    pipeline.env_variable_names.removed.length > 0 ||
    pipeline.steps.added.length > 0 ||
    pipeline.steps.removed.length > 0 ||
    pipeline.connections.added.length > 0 ||
    pipeline.connections.removed.length > 0 ||
    comparison.steps.some(step => Object.keys(step.changes).length > 0)
  );
}

/** A step's title by uuid, for connections ("Load → Train"); the uuid when unknown. */
export function titleOf(comparison: Comparison, uuid: string): string {
  return comparison.steps.find(step => step.uuid === uuid)?.title ?? uuid;
}

/** A value as the view shows it: JSON, "—" when missing. */
export function formatValue(value: unknown): string {
  if (value === null || value === undefined) {
    return '—';
  }
  return typeof value === 'string' ? JSON.stringify(value) : String(value);
}

/** Seconds as "850 ms", "4.2 s", "3 min 07 s"; "" when unknown. */
export function formatSeconds(seconds: number | null | undefined): string {
  if (seconds === null || seconds === undefined || !(seconds >= 0)) {
    return '';
  }
  if (seconds < 1) {
    return `${Math.round(seconds * 1000)} ms`;
  }
  if (seconds < 60) {
    return `${seconds.toFixed(1)} s`;
  }
  const minutes = Math.floor(seconds / 60);
  return `${minutes} min ${String(Math.floor(seconds % 60)).padStart(2, '0')} s`;
}

/** A metric delta with its sign, to 4 significant digits ("+0.25", "-3"); "" when unknown. */
export function formatDelta(delta: number | null): string {
  if (delta === null) {
    return '';
  }
  const text = String(Number(delta.toPrecision(4)));
  return delta > 0 ? `+${text}` : text;
}

/** The runs chosen for a comparison after the user toggles `runId`: at most two, the
 * earlier pick dropped when a third is chosen. */
export function toggleChoice(chosen: string[], runId: string): string[] {
  if (chosen.includes(runId)) {
    return chosen.filter(id => id !== runId);
  }
  return [...chosen, runId].slice(-2);
}

/** Two chosen runs as (a, b): the older run first, by creation time. */
export function olderFirst<T extends { id: string; created_time: string }>(
  runs: T[],
  chosen: string[]
): [string, string] | null {
  const picked = runs.filter(run => chosen.includes(run.id));
  if (picked.length !== 2) {
    return null;
  }
  picked.sort(
    (x, y) => Date.parse(x.created_time) - Date.parse(y.created_time)
  );
  return [picked[0].id, picked[1].id];
}

/** Whether a status event changes what a comparison of `runIds` shows: a step or the run of
 * one of them ended (its status, duration, metrics and outputs are then stored). */
export function endsPartOf(event: StatusEvent, runIds: string[]): boolean {
  return runIds.includes(event.run_id) && TERMINAL.has(event.status);
}
