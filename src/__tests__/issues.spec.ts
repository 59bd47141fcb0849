import { nodeIssueText } from '../model/issues';

const STEP = { title: 'Load', uuid: '3f2a1c9e-0b7d-4c1e-9a55-2d1f3c4b5a6e' };

describe('nodeIssueText', () => {
  it("drops the step's own label, keeping the problem", () => {
    expect(
      nodeIssueText(
        `Step "Load" (${STEP.uuid}): file_path load.py does not exist.`,
        STEP
      )
    ).toBe('file_path load.py does not exist.');
    expect(
      nodeIssueText(
        `Step "Load" (${STEP.uuid}) lists itself in incoming_connections.`,
        STEP
      )
    ).toBe('lists itself in incoming_connections.');
  });

  it('leaves messages about other steps or the pipeline as they are', () => {
    const other = 'Step "Other" (1234): file_path x.py does not exist.';
    expect(nodeIssueText(other, STEP)).toBe(other);
    expect(nodeIssueText('Duplicate title', STEP)).toBe('Duplicate title');
  });
});
