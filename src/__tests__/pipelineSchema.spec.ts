import { readFileSync } from 'fs';
import { join } from 'path';

import { graphFromJson } from '../model/pipeline';
import { PipelineFormat, schemaIssues } from '../model/pipelineSchema';

const ROOT = join(__dirname, '..', '..');

interface Case {
  name: string;
  format: PipelineFormat;
  document: unknown;
  issues: { message: string; step: string | null; field: string | null }[];
}

/** The server's cases: tests/test_pipeline_formats.py checks the same expected issues. */
const CASES: Case[] = JSON.parse(
  readFileSync(join(ROOT, 'tests', 'pipeline_formats', 'invalid.json'), 'utf-8')
);

const PUBLISHED: [PipelineFormat, string][] = [
  ['orchest', 'examples/quickstart/quickstart.orchest'],
  ['orchest', 'examples/sklearn-quickstart/quickstart.orchest'],
  ['elyra', 'examples/elyra/hello.pipeline']
];

function byMessage<T extends { message: string }>(issues: T[]): T[] {
  return [...issues].sort((a, b) => a.message.localeCompare(b.message));
}

describe('the pipeline formats checked with the server’s schemas', () => {
  it.each(PUBLISHED)('a published %s pipeline (%s) passes', (format, path) => {
    const doc = JSON.parse(readFileSync(join(ROOT, path), 'utf-8'));
    expect(schemaIssues(format, doc)).toEqual([]);
    expect(graphFromJson(doc, path).issues).toEqual([]);
  });

  it.each(CASES.map(c => [c.name, c] as const))(
    '%s: the issues the server reports',
    (_, { format, document, issues }) => {
      expect(byMessage(schemaIssues(format, document))).toEqual(
        byMessage(issues)
      );
    }
  );

  it('the view shows a file’s schema issues with its graph', () => {
    const broken = CASES.find(c => c.name === 'retries negative')!;
    const graph = graphFromJson(broken.document, 'p.orchest');
    expect(graph.issues).toEqual(broken.issues);
    expect(graph.steps.length).toBeGreaterThan(0);
  });
});
