/**
 * A step's fields as the step form edits them (text), and the patch applying them makes.
 * Pure: no JupyterLab imports.
 */
import { StepPatch } from './document';
import { PipelineStep } from './pipeline';

const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

export interface StepDraft {
  title: string;
  filePath: string;
  environment: string;
  kernel: string;
  /** Environment variables as `NAME=value` lines. */
  env: string;
  /** Parameters as JSON text. */
  parameters: string;
}

export const prettyJson = (value: Record<string, unknown>): string =>
  JSON.stringify(value, null, 2);

/** Environment variables as `NAME=value` lines. */
export function envText(env: Record<string, string>): string {
  return Object.entries(env)
    .map(([name, value]) => `${name}=${value}`)
    .join('\n');
}

/** The variables `NAME=value` lines set (blank lines skipped), or what is wrong with them. */
export function parseEnvText(
  text: string
): { value: Record<string, string> } | { error: string } {
  const value: Record<string, string> = {};
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    if (!lines[i].trim()) {
      continue;
    }
    const equals = lines[i].indexOf('=');
    const name = equals < 0 ? '' : lines[i].slice(0, equals).trim();
    if (!ENV_NAME.test(name)) {
      return {
        error: `line ${i + 1} is not NAME=value (a name of letters, digits and _)`
      };
    }
    value[name] = lines[i].slice(equals + 1);
  }
  return { value };
}

/** The object a JSON text holds, or why it is not a JSON object. */
export function parseJsonObject(
  text: string
): { value: Record<string, unknown> } | { error: string } {
  try {
    const value = JSON.parse(text);
    if (typeof value !== 'object' || value === null || Array.isArray(value)) {
      return { error: 'must be a JSON object, like {"alpha": 0.5}' };
    }
    return { value };
  } catch (err) {
    return { error: `is not valid JSON: ${(err as Error).message}` };
  }
}

export function draftOf(step: PipelineStep): StepDraft {
  return {
    title: step.title,
    filePath: step.filePath,
    environment: step.environment,
    kernel: step.kernel,
    env: envText(step.env ?? {}),
    parameters: prettyJson(step.parameters)
  };
}

/**
 * What applying the draft changes (empty when nothing), or null while a field is invalid.
 * `orchestFields` says whether the file has environment, kernel and variables fields.
 */
export function draftPatch(
  step: PipelineStep,
  draft: StepDraft,
  orchestFields: boolean
): StepPatch | null {
  const parameters = parseJsonObject(draft.parameters);
  const env = parseEnvText(draft.env);
  if (!('value' in parameters) || !('value' in env)) {
    return null;
  }
  const patch: StepPatch = {};
  if (draft.title !== step.title) {
    patch.title = draft.title;
  }
  if (draft.filePath !== step.filePath) {
    patch.file_path = draft.filePath;
  }
  if (orchestFields && draft.environment !== step.environment) {
    patch.environment = draft.environment;
  }
  if (orchestFields && draft.kernel !== step.kernel) {
    patch.kernel = draft.kernel;
  }
  if (orchestFields && envText(env.value) !== envText(step.env ?? {})) {
    patch.env_variables = env.value;
  }
  if (prettyJson(parameters.value) !== prettyJson(step.parameters)) {
    patch.parameters = parameters.value;
  }
  return patch;
}
