/** How validation issues read where they are shown. Pure. */

/**
 * An issue as its own node shows it: without the leading `Step "<title>" (<uuid>)` that
 * names the step (the node is the step), so the node's little room goes to the problem.
 */
export function nodeIssueText(
  message: string,
  step: { title: string; uuid: string }
): string {
  const label = `Step "${step.title}" (${step.uuid})`;
  if (!message.startsWith(label)) {
    return message;
  }
  const rest = message.slice(label.length).replace(/^[\s:,]+/, '');
  return rest || message;
}
