/** Root-relative paths of pipeline files and step files ('/'-separated). Pure. */
import { PipelineStep } from './pipeline';

export function dirname(path: string): string {
  return path.split('/').slice(0, -1).join('/');
}

/** `relative` (which may hold `.` and `..`) resolved against `directory`. */
export function joinPath(directory: string, relative: string): string {
  const parts: string[] = [];
  for (const part of `${directory}/${relative}`.split('/')) {
    if (part === '..') {
      parts.pop();
    } else if (part && part !== '.') {
      parts.push(part);
    }
  }
  return parts.join('/');
}

/** `path` (relative to the root) relative to `directory` (also relative to the root). */
export function relativePath(directory: string, path: string): string {
  const from = directory ? directory.split('/') : [];
  const to = path.split('/');
  let common = 0;
  while (
    common < from.length &&
    common < to.length - 1 &&
    from[common] === to[common]
  ) {
    common++;
  }
  return [...from.slice(common).map(() => '..'), ...to.slice(common)].join('/');
}

/** Whether `path` is `base` or inside the directory `base`. */
export function isWithin(path: string, base: string): boolean {
  return path === base || path.startsWith(`${base}/`);
}

/**
 * The steps whose file was renamed or moved from `from` to `to` (a file or a directory,
 * root-relative), each with its new `file_path` relative to the pipeline's directory.
 * None when the pipeline file itself moved along (its relative paths still hold).
 */
export function renamedStepFiles(
  steps: PipelineStep[],
  pipelinePath: string,
  from: string,
  to: string
): Array<[string, string]> {
  if (isWithin(pipelinePath, from) || isWithin(pipelinePath, to)) {
    return [];
  }
  const directory = dirname(pipelinePath);
  return steps.flatMap(step => {
    const file = joinPath(directory, step.filePath);
    if (!isWithin(file, from)) {
      return [];
    }
    const moved = to + file.slice(from.length);
    return [[step.uuid, relativePath(directory, moved)] as [string, string]];
  });
}

/** The uuids of the steps whose file is `path` or inside the directory `path`. */
export function stepsUsing(
  steps: PipelineStep[],
  pipelinePath: string,
  path: string
): string[] {
  const directory = dirname(pipelinePath);
  return steps
    .filter(step => isWithin(joinPath(directory, step.filePath), path))
    .map(step => step.uuid);
}
