import * as fs from 'fs';
import * as path from 'path';

import {
  hasOverlap,
  layeredLayout,
  layoutSteps,
  NODE_HEIGHT,
  NODE_WIDTH,
  placeNewSteps
} from '../model/layout';
import { parsePipeline, PipelineStep, Position } from '../model/pipeline';

const EXAMPLES = path.join(__dirname, '..', '..', 'examples');

function step(
  uuid: string,
  position: Position | null,
  incoming: string[] = []
): PipelineStep {
  return {
    uuid,
    title: uuid,
    filePath: `${uuid}.py`,
    kind: 'python',
    incoming,
    position,
    parameters: {},
    environment: '',
    kernel: '',
    env: {}
  };
}

describe('layoutSteps', () => {
  it('keeps stored positions that do not overlap', () => {
    const graph = parsePipeline(
      fs.readFileSync(
        path.join(EXAMPLES, 'quickstart', 'quickstart.orchest'),
        'utf-8'
      ),
      'q.orchest'
    );
    const layout = layoutSteps(graph.steps);
    expect(layout.automatic).toBe(false);
    expect(layout.positions.get(graph.steps[1].uuid)).toEqual(
      graph.steps[1].position
    );
  });

  it('lays out in ranks, parents left of children, when positions are missing', () => {
    const steps = [
      step('a', null),
      step('b', null, ['a']),
      step('c', null, ['b'])
    ];
    const layout = layoutSteps(steps);
    expect(layout.automatic).toBe(true);
    const [a, b, c] = ['a', 'b', 'c'].map(u => layout.positions.get(u)!);
    expect(a.x + NODE_WIDTH).toBeLessThanOrEqual(b.x);
    expect(b.x + NODE_WIDTH).toBeLessThanOrEqual(c.x);
  });

  it('draws overlapping stored positions where they are (only Tidy up moves steps)', () => {
    const steps = [step('a', { x: 0, y: 0 }), step('b', { x: 10, y: 10 })];
    const layout = layoutSteps(steps);
    expect(layout.automatic).toBe(false);
    expect(layout.positions.get('a')).toEqual({ x: 0, y: 0 });
    expect(layout.positions.get('b')).toEqual({ x: 10, y: 10 });
  });

  it('keeps stored positions and places steps without one below them', () => {
    const steps = [
      step('a', { x: 40, y: 0 }),
      step('b', { x: 300, y: 100 }),
      step('c', null, ['a']),
      step('d', null, ['c'])
    ];
    const layout = layoutSteps(steps);
    expect(layout.automatic).toBe(true);
    expect(layout.positions.get('a')).toEqual({ x: 40, y: 0 });
    expect(layout.positions.get('b')).toEqual({ x: 300, y: 100 });
    const c = layout.positions.get('c')!;
    const d = layout.positions.get('d')!;
    expect(c.y).toBeGreaterThanOrEqual(100 + NODE_HEIGHT);
    expect(d.y).toBeGreaterThanOrEqual(100 + NODE_HEIGHT);
    expect(c.x + NODE_WIDTH).toBeLessThanOrEqual(d.x);
    expect(hasOverlap([...layout.positions.values()])).toBe(false);
  });

  it('lays out 500 steps without overlap', () => {
    const steps = Array.from({ length: 500 }, (_, i) =>
      step(`s${i}`, null, i ? [`s${Math.floor((i - 1) / 3)}`] : [])
    );
    const layout = layoutSteps(steps);
    expect(layout.positions.size).toBe(500);
    expect(hasOverlap([...layout.positions.values()])).toBe(false);
  });

  it('tells overlapping boxes apart from touching ones', () => {
    expect(
      hasOverlap([
        { x: 0, y: 0 },
        { x: 10, y: 10 }
      ])
    ).toBe(true);
    expect(
      hasOverlap([
        { x: 0, y: 0 },
        { x: NODE_WIDTH, y: 0 }
      ])
    ).toBe(false);
  });
});

describe('layeredLayout (Tidy up)', () => {
  it('moves overlapping steps apart', () => {
    const steps = [0, 1, 2].map(i => step(`s${i}`, { x: i, y: i }));
    expect(hasOverlap([...layeredLayout(steps).values()])).toBe(false);
  });
});

describe('placeNewSteps', () => {
  const view = { x: 1000, y: 500, width: 900, height: 600 };

  function inside(p: Position): boolean {
    return (
      p.x >= view.x &&
      p.y >= view.y &&
      p.x + NODE_WIDTH <= view.x + view.width &&
      p.y + NODE_HEIGHT <= view.y + view.height
    );
  }

  it('puts a step in the middle of an empty view', () => {
    const [spot] = placeNewSteps(view, [{ x: 0, y: 0 }], 1);
    expect(spot).toEqual({
      x: view.x + view.width / 2 - NODE_WIDTH / 2,
      y: view.y + view.height / 2 - NODE_HEIGHT / 2
    });
  });

  it('finds free spots in the view, next to the steps drawn there', () => {
    const middle = { x: 1350, y: 764 };
    const column = [-2, -1, 0, 1, 2, 3, 4, 5].map(i => ({
      x: middle.x,
      y: middle.y + i * NODE_HEIGHT
    }));
    const spots = placeNewSteps(view, column, 5);
    expect(spots).toHaveLength(5);
    for (const spot of spots) {
      expect(inside(spot)).toBe(true);
    }
    expect(hasOverlap([...column.slice(0, 1), ...spots])).toBe(false);
    expect(hasOverlap([...column, ...spots])).toBe(false);
  });

  it('falls back to the middle when the view is full or too small', () => {
    const tiny = { x: 0, y: 0, width: 50, height: 20 };
    expect(placeNewSteps(tiny, [], 2)).toEqual([
      { x: -75, y: -26 },
      { x: -75, y: -26 }
    ]);
  });
});
