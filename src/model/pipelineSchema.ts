/**
 * The pipeline file formats' JSON Schemas, checked with ajv. The schemas are the server's
 * (`orchest_ext/pipeline/schemas/`, copied here by `npm run build:schemas`) and errors are
 * worded as `orchest_ext/pipeline/schema.py` words them, so the view and the server report
 * a malformed file with the same issues. Pure: no JupyterLab imports.
 */
import Ajv, { ErrorObject, ValidateFunction } from 'ajv';

import elyraSchema from './schemas/elyra-pipeline.schema.json';
import orchestSchema from './schemas/orchest-pipeline.schema.json';

export type PipelineFormat = 'orchest' | 'elyra';

/** One way a file breaks its format's schema (the server's issue shape). */
export interface SchemaIssue {
  message: string;
  step: string | null;
  field: string | null;
}

type Json = Record<string, unknown>;
type PathPart = string | number;

const TYPE_NAMES: Record<string, string> = {
  object: 'an object',
  array: 'an array',
  string: 'a string',
  boolean: 'a boolean',
  integer: 'an integer',
  number: 'a number',
  null: 'null'
};
const DEFAULT_MESSAGES: Record<string, string> = {
  required: '{where}: field "{path}" is required.',
  type: '{where}: field "{path}" must be {expected}, got {got}.',
  minLength: '{where}: field "{path}" must not be empty.',
  maxLength:
    '{where}: field "{path}" has {length} characters, more than {limit}.',
  minimum: '{where}: field "{path}" must be at least {limit}, got {value}.',
  additionalProperties: '{where}: field "{path}" is unknown.'
};
const FALLBACK_MESSAGE = '{where}: field "{path}" is not valid ({keyword}).';
const PLACEHOLDER =
  /\{(where|path|key|value|got|expected|limit|length|json|keyword)\}/g;
const SHORT_VALUE = 60;

let validators: Record<PipelineFormat, ValidateFunction> | null = null;

function validator(format: PipelineFormat): ValidateFunction {
  if (!validators) {
    const ajv = new Ajv({
      allErrors: true,
      verbose: true,
      allowUnionTypes: true
    });
    ajv.addVocabulary(['x-messages', 'x-field']);
    validators = {
      orchest: ajv.compile(orchestSchema),
      elyra: ajv.compile(elyraSchema)
    };
  }
  return validators[format];
}

/** Every way `doc` breaks the format's schema, one issue per problem. */
export function schemaIssues(
  format: PipelineFormat,
  doc: unknown
): SchemaIssue[] {
  const validate = validator(format);
  if (validate(doc)) {
    return [];
  }
  const errors = reported(validate.errors ?? []);
  const seen = new Set<string>();
  const issues: SchemaIssue[] = [];
  for (const error of errors) {
    const found = issueOf(format, doc, error);
    const key = JSON.stringify(found);
    if (!seen.has(key)) {
      seen.add(key);
      issues.push(found);
    }
  }
  return issues;
}

/** The errors jsonschema would report: an `anyOf`'s, not its branches'; a property
 * name's, not the `propertyNames` summary. */
function reported(errors: ErrorObject[]): ErrorObject[] {
  const alternatives = errors.filter(error => error.keyword === 'anyOf');
  return errors.filter(
    error =>
      error.keyword !== 'propertyNames' &&
      !alternatives.some(
        any =>
          any !== error &&
          any.instancePath === error.instancePath &&
          error.schemaPath.startsWith(`${any.schemaPath}/`)
      )
  );
}

function issueOf(
  format: PipelineFormat,
  doc: unknown,
  error: ErrorObject
): SchemaIssue {
  const path = instancePath(doc, error.instancePath);
  const params = error.params as Json;
  let value: unknown = error.data;
  if (error.keyword === 'required') {
    path.push(String(params.missingProperty));
  } else if (error.keyword === 'additionalProperties') {
    path.push(String(params.additionalProperty));
  } else if (error.propertyName !== undefined) {
    value = error.propertyName;
  }
  const [anchor, where, step] = anchorOf(format, doc, path);
  const relative = path.slice(anchor);
  const schema = (error.parentSchema ?? {}) as Json;
  const messages = (schema['x-messages'] ?? {}) as Record<string, string>;
  const template =
    messages[error.keyword] ??
    DEFAULT_MESSAGES[error.keyword] ??
    FALLBACK_MESSAGE;
  const words: Record<string, string> = {
    where,
    path: pathText(relative),
    key: relative.length ? short(String(relative[relative.length - 1])) : '',
    value: short(value),
    got: jsonType(value),
    json: pythonJson(value),
    expected: error.keyword === 'type' ? expected(error.schema) : '',
    limit: String(error.schema),
    length: typeof value === 'string' ? String(value.length) : '',
    keyword: error.keyword
  };
  return {
    message: template.replace(PLACEHOLDER, (_, name: string) => words[name]),
    step,
    field: fieldOf(schema, error.keyword, relative)
  };
}

/** The issue's field: the schema's `x-field`, else the first name of the path. */
function fieldOf(
  schema: Json,
  keyword: string,
  relative: PathPart[]
): string | null {
  if (typeof schema['x-field'] === 'string') {
    return schema['x-field'];
  }
  if (keyword === 'required' && relative.length) {
    return String(relative[relative.length - 1]);
  }
  const name = relative.find(part => typeof part === 'string');
  return name === undefined ? null : String(name);
}

/** A JSON pointer as path parts, array indexes as numbers (as jsonschema gives them). */
function instancePath(doc: unknown, pointer: string): PathPart[] {
  const parts: PathPart[] = [];
  let current: unknown = doc;
  for (const raw of pointer.split('/').slice(1)) {
    const name = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    const part = Array.isArray(current) ? Number(name) : name;
    parts.push(part);
    current = (current as any)?.[part];
  }
  return parts;
}

/** `kernel.name`, `incoming_connections[0]`: a path as messages show it. */
export function pathText(path: PathPart[]): string {
  let text = '';
  for (const part of path) {
    text += typeof part === 'number' ? `[${part}]` : text ? `.${part}` : part;
  }
  return text;
}

/** Where in the document an issue is told from: [path length, how it is named, step]. */
function anchorOf(
  format: PipelineFormat,
  doc: unknown,
  path: PathPart[]
): [number, string, string | null] {
  const root = doc as Json;
  if (format === 'orchest') {
    if (path.length >= 2 && path[0] === 'steps') {
      const key = String(path[1]);
      return [2, stepWhere(key, (root.steps as Json)[key]), key];
    }
    return [0, 'Pipeline', null];
  }
  if (path.length >= 2 && path[0] === 'pipelines') {
    const pipeline = (root.pipelines as Json[])[path[1] as number];
    const nodes = pipeline.nodes as unknown[];
    if (
      path.length >= 4 &&
      path[2] === 'nodes' &&
      isObject(nodes[path[3] as number])
    ) {
      const node = nodes[path[3] as number] as Json;
      const [where, step] = nodeWhere(node, path[3] as number);
      return [4, where, step];
    }
    return [2, 'Elyra pipeline', null];
  }
  return [0, 'Elyra pipeline', null];
}

/** How a step is named before its fields are known to be valid. */
function stepWhere(key: string, raw: unknown): string {
  if (!isObject(raw)) {
    return `Step "${key}"`;
  }
  const title =
    [raw.title, raw.file_path].find(
      (name): name is string => typeof name === 'string' && name !== ''
    ) ?? 'untitled';
  return `Step "${title}" (${typeof raw.uuid === 'string' ? raw.uuid : key})`;
}

function nodeWhere(node: Json, index: number): [string, string | null] {
  const title = nodeTitle(node) || 'untitled';
  return typeof node.id === 'string'
    ? [`Node "${title}" (${node.id})`, node.id]
    : [`Node "${title}" (nodes[${index}])`, null];
}

/** An Elyra node's title: `app_data.label`, `app_data.ui_data.label`, the filename. */
export function nodeTitle(node: Json): string {
  const appData = isObject(node.app_data) ? node.app_data : {};
  const uiData = isObject(appData.ui_data) ? appData.ui_data : {};
  const parameters = appData.component_parameters;
  const filename =
    isObject(parameters) && 'filename' in parameters
      ? parameters.filename
      : appData.filename;
  const names = [appData.label, uiData.label, filename];
  const name = names.find(
    (n): n is string => typeof n === 'string' && n.trim() !== ''
  );
  return name ?? '';
}

function expected(types: unknown): string {
  const names = Array.isArray(types) ? types : [types];
  return names
    .map(name => TYPE_NAMES[String(name)] ?? String(name))
    .join(' or ');
}

function jsonType(value: unknown): string {
  if (value === null || value === undefined) {
    return 'null';
  }
  if (Array.isArray(value)) {
    return 'an array';
  }
  return TYPE_NAMES[typeof value] ?? typeof value;
}

/** A value as the server quotes it: Python's `repr` of text, JSON of the rest, cut short. */
export function short(value: unknown, limit = SHORT_VALUE): string {
  const text = typeof value === 'string' ? value : pythonJson(value);
  if (text.length <= limit) {
    return typeof value === 'string' ? pythonRepr(text) : text;
  }
  return `${pythonRepr(text.slice(0, limit))}... (${text.length} characters)`;
}

function pythonRepr(text: string): string {
  const quote = text.includes("'") && !text.includes('"') ? '"' : "'";
  const escaped = text
    .replace(/\\/g, '\\\\')
    .replace(/\n/g, '\\n')
    .replace(/\r/g, '\\r')
    .replace(/\t/g, '\\t');
  return (
    quote + (quote === "'" ? escaped.replace(/'/g, "\\'") : escaped) + quote
  );
}

/** JSON as Python's `json.dumps` writes it (`", "` and `": "` between items). */
function pythonJson(value: unknown): string {
  if (Array.isArray(value)) {
    return `[${value.map(pythonJson).join(', ')}]`;
  }
  if (isObject(value)) {
    const items = Object.entries(value).map(
      ([key, item]) => `${JSON.stringify(key)}: ${pythonJson(item)}`
    );
    return `{${items.join(', ')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}

function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
