/**
 * Reading pipeline files (Orchest `.orchest` JSON and Elyra pipeline-flow v3 `.pipeline`)
 * into the graph the view draws, with the issues of the file's schema. Pure: no JupyterLab
 * imports.
 */
import { SchemaIssue, schemaIssues } from './pipelineSchema';

export type StepKind = 'notebook' | 'python' | 'shell' | 'r' | 'unknown';

export interface Position {
  x: number;
  y: number;
}

export interface PipelineStep {
  uuid: string;
  title: string;
  filePath: string;
  kind: StepKind;
  incoming: string[];
  position: Position | null;
  parameters: Record<string, unknown>;
  environment: string;
  kernel: string;
  /** The step's own environment variables (`env_variables`); none when absent. */
  env?: Record<string, string>;
}

export interface PipelineGraph {
  format: 'orchest' | 'elyra';
  name: string;
  uuid: string;
  steps: PipelineStep[];
  parameters: Record<string, unknown>;
  settings: Record<string, unknown>;
  /** How the file breaks its format's schema (the server adds the checks that need files). */
  issues: SchemaIssue[];
}

/** Largest pipeline file the view reads (bigger ones get a message, not a frozen tab). */
export const MAX_PIPELINE_BYTES = 10 * 1024 * 1024;
/** Most steps the view draws. */
export const MAX_DRAWN_STEPS = 5000;

/** Why a file cannot be shown as a pipeline, in words a user can act on. */
export class PipelineFormatError extends Error {}

const ELYRA_STEP_OPS = new Set([
  'execute-notebook-node',
  'execute-python-node',
  'execute-r-node'
]);

/** The kind of a step from its file name, as the server decides it. */
export function stepKind(filePath: string): StepKind {
  const lower = filePath.toLowerCase();
  if (lower.endsWith('.ipynb')) {
    return 'notebook';
  }
  if (lower.endsWith('.py')) {
    return 'python';
  }
  if (lower.endsWith('.sh')) {
    return 'shell';
  }
  if (lower.endsWith('.r')) {
    return 'r';
  }
  return 'unknown';
}

export const KIND_LABELS: Record<StepKind, string> = {
  notebook: 'Notebook',
  python: 'Python',
  shell: 'Shell',
  r: 'R',
  unknown: 'File'
};

/** Notebook labels by the language a step's kernel names (Orchest's `r`, IRkernel's `ir`). */
const NOTEBOOK_LANGUAGE_LABELS: Record<string, string> = {
  r: 'R notebook',
  ir: 'R notebook',
  julia: 'Julia notebook'
};

/** How the view labels a step's kind: its file kind, notebooks also by kernel language. */
export function kindLabel(step: Pick<PipelineStep, 'kind' | 'kernel'>): string {
  if (step.kind === 'notebook') {
    const language = NOTEBOOK_LANGUAGE_LABELS[step.kernel.toLowerCase()];
    if (language) {
      return language;
    }
  }
  return KIND_LABELS[step.kind];
}

/** Parse a pipeline file's text; throws `PipelineFormatError` when it is not a pipeline. */
export function parsePipeline(text: string, path: string): PipelineGraph {
  if (text.length > MAX_PIPELINE_BYTES) {
    throw new PipelineFormatError(
      `The file is too large to show: ${Math.round(text.length / 1024 / 1024)} MB; the ` +
        `pipeline view reads files up to ${MAX_PIPELINE_BYTES / 1024 / 1024} MB.`
    );
  }
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (err) {
    throw new PipelineFormatError(
      `The file is not valid JSON: ${(err as Error).message}`
    );
  }
  return graphFromJson(doc, path);
}

/** The graph of a pipeline file's parsed JSON (see `parsePipeline`). */
export function graphFromJson(doc: unknown, path: string): PipelineGraph {
  if (!isObject(doc)) {
    throw new PipelineFormatError(
      'The file is not a pipeline: its JSON is not an object.'
    );
  }
  const elyra = isElyra(doc, path);
  const graph = elyra ? parseElyra(doc, path) : parseOrchest(doc, path);
  if (graph.steps.length > MAX_DRAWN_STEPS) {
    throw new PipelineFormatError(
      `The pipeline has ${graph.steps.length} steps; the pipeline view draws up to ` +
        `${MAX_DRAWN_STEPS}. It can still be run with the REST API or ` +
        '`jupyter orchest run`.'
    );
  }
  return { ...graph, issues: schemaIssues(elyra ? 'elyra' : 'orchest', doc) };
}

function isElyra(doc: Record<string, unknown>, path: string): boolean {
  return (
    doc.doc_type === 'pipeline' ||
    (path.endsWith('.pipeline') && !('steps' in doc))
  );
}

type ReadGraph = Omit<PipelineGraph, 'issues'>;

function parseOrchest(doc: Record<string, unknown>, path: string): ReadGraph {
  if (!isObject(doc.steps)) {
    throw new PipelineFormatError(
      'The file is not a pipeline: it has no "steps" object (Orchest format) and is not an ' +
        'Elyra pipeline.'
    );
  }
  const steps: PipelineStep[] = [];
  for (const [key, raw] of Object.entries(doc.steps)) {
    if (!isObject(raw)) {
      continue;
    }
    const uuid = typeof raw.uuid === 'string' && raw.uuid ? raw.uuid : key;
    const filePath = typeof raw.file_path === 'string' ? raw.file_path : '';
    const meta = isObject(raw.meta_data) ? raw.meta_data : {};
    steps.push({
      uuid,
      title: typeof raw.title === 'string' && raw.title ? raw.title : uuid,
      filePath,
      kind: stepKind(filePath),
      incoming: stringList(raw.incoming_connections),
      position: pointFromArray(meta.position),
      parameters: isObject(raw.parameters) ? raw.parameters : {},
      environment: typeof raw.environment === 'string' ? raw.environment : '',
      kernel:
        isObject(raw.kernel) && typeof raw.kernel.name === 'string'
          ? raw.kernel.name
          : '',
      env: stringMap(raw.env_variables)
    });
  }
  return {
    format: 'orchest',
    name: typeof doc.name === 'string' && doc.name ? doc.name : baseName(path),
    uuid: typeof doc.uuid === 'string' ? doc.uuid : '',
    steps,
    parameters: isObject(doc.parameters) ? doc.parameters : {},
    settings: isObject(doc.settings) ? doc.settings : {}
  };
}

function parseElyra(doc: Record<string, unknown>, path: string): ReadGraph {
  const pipelines = Array.isArray(doc.pipelines) ? doc.pipelines : [];
  const primary = pipelines.find(
    p => isObject(p) && p.id === doc.primary_pipeline
  );
  if (!isObject(primary)) {
    throw new PipelineFormatError(
      'The Elyra pipeline has no entry in "pipelines" whose id is its "primary_pipeline".'
    );
  }
  const appData = isObject(primary.app_data) ? primary.app_data : {};
  const properties = isObject(appData.properties) ? appData.properties : {};
  const nodes = Array.isArray(primary.nodes) ? primary.nodes : [];
  const steps: PipelineStep[] = [];
  for (const node of nodes) {
    if (!isObject(node) || typeof node.id !== 'string') {
      continue;
    }
    const nodeData = isObject(node.app_data) ? node.app_data : {};
    const uiData = isObject(nodeData.ui_data) ? nodeData.ui_data : {};
    const filename = elyraParameter(nodeData, 'filename');
    const filePath = typeof filename === 'string' ? filename : '';
    const runnable =
      (node.type ?? 'execution_node') === 'execution_node' &&
      ELYRA_STEP_OPS.has(node.op as string);
    steps.push({
      uuid: node.id,
      title: elyraTitle(nodeData, uiData, filePath) || node.id,
      filePath,
      kind: runnable ? stepKind(filePath) : 'unknown',
      incoming: elyraParents(node),
      position: pointFromXY(uiData.x_pos, uiData.y_pos),
      parameters: {},
      environment: '',
      kernel: '',
      env: {}
    });
  }
  const name = typeof properties.name === 'string' ? properties.name : '';
  return {
    format: 'elyra',
    name: name || baseName(path),
    uuid: typeof primary.id === 'string' ? primary.id : '',
    steps,
    parameters: {},
    settings: {}
  };
}

function elyraParameter(
  appData: Record<string, unknown>,
  name: string
): unknown {
  const parameters = appData.component_parameters;
  if (isObject(parameters) && name in parameters) {
    return parameters[name];
  }
  return appData[name];
}

function elyraTitle(
  appData: Record<string, unknown>,
  uiData: Record<string, unknown>,
  filePath: string
): string {
  for (const name of [appData.label, uiData.label, filePath]) {
    if (typeof name === 'string' && name.trim()) {
      return name;
    }
  }
  return '';
}

function elyraParents(node: Record<string, unknown>): string[] {
  const parents: string[] = [];
  for (const port of Array.isArray(node.inputs) ? node.inputs : []) {
    const links = isObject(port) && Array.isArray(port.links) ? port.links : [];
    for (const link of links) {
      if (isObject(link) && typeof link.node_id_ref === 'string') {
        parents.push(link.node_id_ref);
      }
    }
  }
  return [...new Set(parents)];
}

function pointFromArray(value: unknown): Position | null {
  if (Array.isArray(value) && value.length === 2) {
    return pointFromXY(value[0], value[1]);
  }
  return null;
}

function pointFromXY(x: unknown, y: unknown): Position | null {
  if (isFiniteNumber(x) && isFiniteNumber(y)) {
    return { x, y };
  }
  return null;
}

function isFiniteNumber(value: unknown): value is number {
  return typeof value === 'number' && Number.isFinite(value);
}

/** The string-valued entries of a JSON object (others are left out). */
function stringMap(value: unknown): Record<string, string> {
  return isObject(value)
    ? Object.fromEntries(
        Object.entries(value).filter(
          (entry): entry is [string, string] => typeof entry[1] === 'string'
        )
      )
    : {};
}

function stringList(value: unknown): string[] {
  return Array.isArray(value)
    ? value.filter((v): v is string => typeof v === 'string')
    : [];
}

export function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function baseName(path: string): string {
  const file = path.split('/').pop() ?? path;
  return file.replace(/\.[^.]*$/, '');
}
