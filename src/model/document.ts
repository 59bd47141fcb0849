/**
 * Editing pipeline files: every change is applied to the file's own JSON, so fields the
 * editor does not know (other tools' included) and key order survive a save. Orchest
 * files are edited in their format; Elyra files in theirs, or a `FormatLimitError` says
 * the change needs Orchest's format. Pure: no JupyterLab imports.
 */
import { isObject, PipelineGraph, Position, stepKind } from './pipeline';

type Json = Record<string, any>;

/** A change Elyra's pipeline format cannot hold (it can be saved as `.orchest`). */
export class FormatLimitError extends Error {}

/** A change that would break the pipeline (a cycle, an unknown step); nothing changed. */
export class EditError extends Error {}

export interface StepPatch {
  title?: string;
  file_path?: string;
  parameters?: Record<string, unknown>;
  environment?: string;
  kernel?: string;
  env_variables?: Record<string, string>;
}

export interface PipelinePatch {
  name?: string;
  parameters?: Record<string, unknown>;
  settings?: Record<string, unknown>;
}

/** A new v4 uuid (crypto.randomUUID where the browser has it). */
export function newUuid(): string {
  const crypto = (globalThis as any).crypto;
  if (crypto?.randomUUID) {
    return crypto.randomUUID();
  }
  const hex = [...Array(32)].map(() =>
    Math.floor(Math.random() * 16).toString(16)
  );
  hex[12] = '4';
  hex[16] = ((parseInt(hex[16], 16) & 3) | 8).toString(16);
  const s = hex.join('');
  return `${s.slice(0, 8)}-${s.slice(8, 12)}-${s.slice(12, 16)}-${s.slice(16, 20)}-${s.slice(20)}`;
}

/** The text of a new, empty Orchest pipeline. */
export function newPipelineText(name: string): string {
  const doc = {
    name,
    uuid: newUuid(),
    version: '1.0',
    settings: {},
    parameters: {},
    steps: {}
  };
  return JSON.stringify(doc, null, 2) + '\n';
}

/** How a file's JSON was written, so a save writes it the same way. */
export interface TextStyle {
  indent: string | number;
  finalNewline: boolean;
}

export function textStyle(text: string): TextStyle {
  const match = /^[{[]\r?\n([ \t]+)\S/.exec(text);
  return {
    indent: match ? match[1] : text.trimStart().startsWith('{\n') ? 2 : 0,
    finalNewline: text.endsWith('\n')
  };
}

export function serialize(doc: Json, style: TextStyle): string {
  return (
    JSON.stringify(doc, null, style.indent) + (style.finalNewline ? '\n' : '')
  );
}

/**
 * One pipeline file being edited: `doc` is its JSON; each edit returns a new document
 * (the old one is untouched, which is what undo keeps).
 */
export class EditablePipeline {
  constructor(
    readonly doc: Json,
    readonly format: 'orchest' | 'elyra',
    readonly style: TextStyle
  ) {}

  static fromText(text: string, format: 'orchest' | 'elyra'): EditablePipeline {
    const doc = JSON.parse(text);
    if (!isObject(doc)) {
      throw new EditError('The pipeline file is not a JSON object.');
    }
    return new EditablePipeline(doc, format, textStyle(text));
  }

  toText(): string {
    return serialize(this.doc, this.style);
  }

  /** Add a step for a file (relative to the pipeline's directory); returns its uuid too. */
  addStep(
    filePath: string,
    position: Position,
    title?: string
  ): [EditablePipeline, string] {
    const uuid = newUuid();
    const fileName = filePath.split('/').pop() ?? filePath;
    const base =
      title ??
      (this.format === 'elyra'
        ? fileName
        : fileName.replace(/\.[^.]+$/, '') || fileName);
    // Titles name steps (in run selections and the CLI), so a second step for the same
    // file gets "name (2)" rather than a title the server would call ambiguous.
    const name = uniqueTitle(base, this.titles());
    if (this.format === 'elyra') {
      const op = ELYRA_OPS[stepKind(filePath)];
      if (!op) {
        throw new FormatLimitError(
          `Elyra pipelines cannot run "${filePath}": they have notebook, Python and R ` +
            'nodes only.'
        );
      }
      const node = elyraNode(uuid, op, filePath, name, position);
      return [this.withElyraNodes(nodes => [...nodes, node]), uuid];
    }
    const step = {
      uuid,
      title: name,
      file_path: filePath,
      incoming_connections: [],
      kernel: { name: 'python', display_name: 'Python 3' },
      environment: '',
      parameters: {},
      meta_data: {
        position: [Math.round(position.x), Math.round(position.y)],
        hidden: false
      }
    };
    return [this.withSteps(steps => ({ ...steps, [uuid]: step })), uuid];
  }

  /** Remove steps and every connection to them. */
  removeSteps(uuids: string[]): EditablePipeline {
    const gone = new Set(uuids);
    if (this.format === 'elyra') {
      return this.withElyraNodes(nodes =>
        nodes
          .filter(node => !gone.has(node.id))
          .map(node =>
            withoutElyraLinks(node, link => gone.has(link.node_id_ref))
          )
      );
    }
    return this.withSteps(steps => {
      const kept: Json = {};
      for (const [key, step] of Object.entries(steps)) {
        if (gone.has(stepUuid(key, step))) {
          continue;
        }
        const incoming = Array.isArray(step.incoming_connections)
          ? step.incoming_connections
          : [];
        kept[key] = incoming.some((parent: string) => gone.has(parent))
          ? {
              ...step,
              incoming_connections: incoming.filter(
                (parent: string) => !gone.has(parent)
              )
            }
          : step;
      }
      return kept;
    });
  }

  /** Connect `source` → `target`; refuses self-loops, repeats and cycles, naming the steps. */
  connect(
    source: string,
    target: string,
    graph: PipelineGraph
  ): EditablePipeline {
    const titles = new Map(graph.steps.map(step => [step.uuid, step.title]));
    if (!titles.has(source) || !titles.has(target)) {
      throw new EditError(
        'Both ends of a connection must be steps of this pipeline.'
      );
    }
    if (source === target) {
      throw new EditError(
        `A step cannot be connected to itself ("${titles.get(source)}").`
      );
    }
    const target_ = graph.steps.find(step => step.uuid === target);
    if (target_?.incoming.includes(source)) {
      return this;
    }
    const path = findPath(graph, target, source);
    if (path) {
      const names = [...path, target]
        .map(uuid => `"${titles.get(uuid)}"`)
        .join(' → ');
      throw new EditError(
        `Connecting "${titles.get(source)}" to "${titles.get(target)}" would close a cycle: ` +
          `${names}.`
      );
    }
    if (this.format === 'elyra') {
      return this.withElyraNodes(nodes =>
        nodes.map(node =>
          node.id === target ? withElyraLink(node, source) : node
        )
      );
    }
    return this.updateOrchestStep(target, step => ({
      ...step,
      incoming_connections: [
        ...(Array.isArray(step.incoming_connections)
          ? step.incoming_connections
          : []),
        source
      ]
    }));
  }

  disconnect(source: string, target: string): EditablePipeline {
    if (this.format === 'elyra') {
      return this.withElyraNodes(nodes =>
        nodes.map(node =>
          node.id === target
            ? withoutElyraLinks(node, link => link.node_id_ref === source)
            : node
        )
      );
    }
    return this.updateOrchestStep(target, step => ({
      ...step,
      incoming_connections: (Array.isArray(step.incoming_connections)
        ? step.incoming_connections
        : []
      ).filter((parent: string) => parent !== source)
    }));
  }

  /** Store positions (top-left corners, rounded) of these steps. */
  move(positions: Map<string, Position>): EditablePipeline {
    if (this.format === 'elyra') {
      return this.withElyraNodes(nodes =>
        nodes.map(node => {
          const position = positions.get(node.id);
          if (!position) {
            return node;
          }
          const appData = isObject(node.app_data) ? node.app_data : {};
          const uiData = isObject(appData.ui_data) ? appData.ui_data : {};
          return {
            ...node,
            app_data: {
              ...appData,
              ui_data: {
                ...uiData,
                x_pos: Math.round(position.x),
                y_pos: Math.round(position.y)
              }
            }
          };
        })
      );
    }
    return this.withSteps(steps => {
      const moved: Json = {};
      for (const [key, step] of Object.entries(steps)) {
        const position = isObject(step)
          ? positions.get(stepUuid(key, step))
          : undefined;
        if (!position) {
          moved[key] = step;
          continue;
        }
        const meta = isObject(step.meta_data)
          ? step.meta_data
          : { hidden: false };
        moved[key] = {
          ...step,
          meta_data: {
            ...meta,
            position: [Math.round(position.x), Math.round(position.y)]
          }
        };
      }
      return moved;
    });
  }

  updateStep(uuid: string, patch: StepPatch): EditablePipeline {
    if (this.format === 'elyra') {
      return this.updateElyraStep(uuid, patch);
    }
    return this.updateOrchestStep(uuid, step => {
      const next = { ...step };
      if (patch.title !== undefined) {
        next.title = patch.title;
      }
      if (patch.file_path !== undefined) {
        next.file_path = patch.file_path;
      }
      if (patch.parameters !== undefined) {
        next.parameters = patch.parameters;
      }
      if (patch.environment !== undefined) {
        next.environment = patch.environment;
      }
      if (patch.kernel !== undefined) {
        next.kernel = {
          ...(isObject(step.kernel) ? step.kernel : {}),
          name: patch.kernel
        };
      }
      if (patch.env_variables !== undefined) {
        next.env_variables = patch.env_variables;
      }
      return next;
    });
  }

  updatePipeline(patch: PipelinePatch): EditablePipeline {
    if (this.format === 'elyra') {
      if (patch.parameters !== undefined || patch.settings !== undefined) {
        throw new FormatLimitError(
          'Elyra pipelines have no pipeline parameters or Orchest settings.'
        );
      }
      return this.withPrimary(primary => {
        const appData = isObject(primary.app_data) ? primary.app_data : {};
        const properties = isObject(appData.properties)
          ? appData.properties
          : {};
        return {
          ...primary,
          app_data: {
            ...appData,
            properties: { ...properties, name: patch.name }
          }
        };
      });
    }
    const doc: Json = { ...this.doc };
    if (patch.name !== undefined) {
      doc.name = patch.name;
    }
    if (patch.parameters !== undefined) {
      doc.parameters = patch.parameters;
    }
    if (patch.settings !== undefined) {
      doc.settings = patch.settings;
    }
    return new EditablePipeline(doc, this.format, this.style);
  }

  private updateElyraStep(uuid: string, patch: StepPatch): EditablePipeline {
    if (
      patch.parameters !== undefined ||
      patch.environment !== undefined ||
      patch.kernel !== undefined ||
      patch.env_variables !== undefined
    ) {
      throw new FormatLimitError(
        'Elyra nodes have no Orchest parameters, environment, kernel or environment variables fields.'
      );
    }
    return this.withElyraNodes(nodes =>
      nodes.map(node => {
        if (node.id !== uuid) {
          return node;
        }
        const appData = isObject(node.app_data) ? { ...node.app_data } : {};
        if (patch.title !== undefined) {
          appData.label = patch.title;
          appData.ui_data = {
            ...(isObject(appData.ui_data) ? appData.ui_data : {}),
            label: patch.title
          };
        }
        if (patch.file_path !== undefined) {
          const op = ELYRA_OPS[stepKind(patch.file_path)];
          if (!op) {
            throw new FormatLimitError(
              `Elyra pipelines cannot run "${patch.file_path}": they have notebook, Python ` +
                'and R nodes only.'
            );
          }
          appData.component_parameters = {
            ...(isObject(appData.component_parameters)
              ? appData.component_parameters
              : {}),
            filename: patch.file_path
          };
          return { ...node, op, app_data: appData };
        }
        return { ...node, app_data: appData };
      })
    );
  }

  private updateOrchestStep(
    uuid: string,
    change: (step: Json) => Json
  ): EditablePipeline {
    let found = false;
    const doc = this.withSteps(steps => {
      const next: Json = {};
      for (const [key, step] of Object.entries(steps)) {
        if (isObject(step) && stepUuid(key, step) === uuid) {
          found = true;
          next[key] = change(step);
        } else {
          next[key] = step;
        }
      }
      return next;
    });
    if (!found) {
      throw new EditError(`The pipeline has no step ${uuid}.`);
    }
    return doc;
  }

  /** The titles steps have now (Elyra: node labels). */
  private titles(): Set<string> {
    if (this.format === 'elyra') {
      const primary = (
        Array.isArray(this.doc.pipelines) ? this.doc.pipelines : []
      ).find(p => isObject(p) && p.id === this.doc.primary_pipeline);
      const nodes: Json[] = Array.isArray(primary?.nodes) ? primary.nodes : [];
      return new Set(
        nodes.map(
          node => node.app_data?.ui_data?.label || node.app_data?.label || ''
        )
      );
    }
    const steps: unknown[] = isObject(this.doc.steps)
      ? Object.values(this.doc.steps)
      : [];
    return new Set(
      steps.map(step =>
        isObject(step) && typeof step.title === 'string' ? step.title : ''
      )
    );
  }

  private withSteps(change: (steps: Json) => Json): EditablePipeline {
    const steps = isObject(this.doc.steps) ? this.doc.steps : {};
    return new EditablePipeline(
      { ...this.doc, steps: change(steps) },
      this.format,
      this.style
    );
  }

  private withPrimary(change: (primary: Json) => Json): EditablePipeline {
    const pipelines: Json[] = Array.isArray(this.doc.pipelines)
      ? this.doc.pipelines
      : [];
    const index = pipelines.findIndex(
      p => isObject(p) && p.id === this.doc.primary_pipeline
    );
    if (index < 0) {
      throw new EditError(
        'The Elyra pipeline has no primary pipeline to edit.'
      );
    }
    const next = [...pipelines];
    next[index] = change(pipelines[index]);
    return new EditablePipeline(
      { ...this.doc, pipelines: next },
      this.format,
      this.style
    );
  }

  private withElyraNodes(change: (nodes: Json[]) => Json[]): EditablePipeline {
    return this.withPrimary(primary => ({
      ...primary,
      nodes: change(Array.isArray(primary.nodes) ? primary.nodes : [])
    }));
  }
}

/** `base`, or `base (2)`, `base (3)`, ... : the first one not in `taken`. */
export function uniqueTitle(base: string, taken: Set<string>): string {
  let title = base;
  for (let n = 2; taken.has(title); n++) {
    title = `${base} (${n})`;
  }
  return title;
}

const ELYRA_OPS: Partial<Record<string, string>> = {
  notebook: 'execute-notebook-node',
  python: 'execute-python-node',
  r: 'execute-r-node'
};

function stepUuid(key: string, step: Json): string {
  return typeof step.uuid === 'string' && step.uuid ? step.uuid : key;
}

/** A path of uuids from `from` to `to` following connections downstream, or null. */
export function findPath(
  graph: PipelineGraph,
  from: string,
  to: string
): string[] | null {
  const children = new Map<string, string[]>();
  for (const step of graph.steps) {
    for (const parent of step.incoming) {
      const siblings = children.get(parent);
      if (siblings) {
        siblings.push(step.uuid);
      } else {
        children.set(parent, [step.uuid]);
      }
    }
  }
  const previous = new Map<string, string | null>([[from, null]]);
  const queue = [from];
  while (queue.length) {
    const current = queue.shift() as string;
    if (current === to) {
      const path = [current];
      let back = previous.get(current);
      while (back) {
        path.unshift(back);
        back = previous.get(back);
      }
      return path;
    }
    for (const child of children.get(current) ?? []) {
      if (!previous.has(child)) {
        previous.set(child, current);
        queue.push(child);
      }
    }
  }
  return null;
}

function elyraNode(
  id: string,
  op: string,
  filename: string,
  label: string,
  position: Position
): Json {
  return {
    id,
    type: 'execution_node',
    op,
    app_data: {
      component_parameters: {
        filename,
        env_vars: [],
        dependencies: [],
        outputs: []
      },
      label: '',
      ui_data: {
        label,
        x_pos: Math.round(position.x),
        y_pos: Math.round(position.y),
        description: ''
      }
    },
    inputs: [
      {
        id: 'inPort',
        app_data: {
          ui_data: { cardinality: { min: 0, max: -1 }, label: 'Input Port' }
        },
        links: []
      }
    ],
    outputs: [
      {
        id: 'outPort',
        app_data: {
          ui_data: { cardinality: { min: 0, max: -1 }, label: 'Output Port' }
        }
      }
    ]
  };
}

function withElyraLink(node: Json, source: string): Json {
  const inputs: Json[] =
    Array.isArray(node.inputs) && node.inputs.length
      ? node.inputs
      : [{ id: 'inPort', links: [] }];
  const [first, ...rest] = inputs;
  const links = Array.isArray(first.links) ? first.links : [];
  const link = { id: newUuid(), node_id_ref: source, port_id_ref: 'outPort' };
  return { ...node, inputs: [{ ...first, links: [...links, link] }, ...rest] };
}

function withoutElyraLinks(node: Json, drop: (link: Json) => boolean): Json {
  if (!Array.isArray(node.inputs)) {
    return node;
  }
  let changed = false;
  const inputs = node.inputs.map((port: Json) => {
    if (!isObject(port) || !Array.isArray(port.links)) {
      return port;
    }
    const links = port.links.filter(
      (link: Json) => !(isObject(link) && drop(link))
    );
    changed = changed || links.length !== port.links.length;
    return { ...port, links };
  });
  return changed ? { ...node, inputs } : node;
}

/** An Orchest pipeline with the same steps as an Elyra one (for "save as .orchest"). */
export function orchestFromGraph(graph: PipelineGraph, uuid?: string): Json {
  const steps: Json = {};
  for (const step of graph.steps) {
    steps[step.uuid] = {
      uuid: step.uuid,
      title: step.title,
      file_path: step.filePath,
      incoming_connections: step.incoming,
      kernel: { name: 'python', display_name: 'Python 3' },
      environment: '',
      parameters: step.parameters,
      meta_data: {
        position: step.position ? [step.position.x, step.position.y] : [0, 0],
        hidden: false
      }
    };
  }
  return {
    name: graph.name,
    uuid: uuid ?? newUuid(),
    version: '1.0',
    settings: {},
    parameters: {},
    steps
  };
}
