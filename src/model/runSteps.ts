/** Which steps a run of a given type runs (the server's subgraph rule, for the files a run
 * will read). Pure. */
import { PipelineStep } from './pipeline';

export type RunScope = 'full' | 'selection' | 'incoming' | 'descendants';

/** Every step reachable from `start` by following `next` (without `start` itself). */
function reachable(
  start: string[],
  next: (uuid: string) => string[]
): Set<string> {
  const seen = new Set<string>();
  const stack = [...start];
  while (stack.length) {
    for (const uuid of next(stack.pop() as string)) {
      if (!seen.has(uuid)) {
        seen.add(uuid);
        stack.push(uuid);
      }
    }
  }
  return seen;
}

/** The steps a run of `scope` over `selected` runs, in the pipeline's order. */
export function stepsInRun(
  steps: PipelineStep[],
  scope: RunScope,
  selected: string[],
  inclusive = false
): PipelineStep[] {
  if (scope === 'full') {
    return steps;
  }
  const children = new Map<string, string[]>();
  const parents = new Map(steps.map(step => [step.uuid, step.incoming]));
  for (const step of steps) {
    for (const parent of step.incoming) {
      children.set(parent, [...(children.get(parent) ?? []), step.uuid]);
    }
  }
  let chosen: Set<string>;
  if (scope === 'selection') {
    chosen = new Set(selected);
  } else if (scope === 'incoming') {
    chosen = reachable(selected, uuid => parents.get(uuid) ?? []);
    if (inclusive) {
      selected.forEach(uuid => chosen.add(uuid));
    } else {
      selected.forEach(uuid => chosen.delete(uuid));
    }
  } else {
    chosen = reachable(selected, uuid => children.get(uuid) ?? []);
    selected.forEach(uuid => chosen.add(uuid));
  }
  return steps.filter(step => chosen.has(step.uuid));
}
