/**
 * An arrow into a step drawn left of (or under) its source, such as a cycle's back edge:
 * out of the source's right side, below the nodes in between, into the target's left side,
 * dashed so it reads as going back.
 */
import { BaseEdge, Edge, EdgeProps } from '@xyflow/react';
import React, { memo } from 'react';

/** How far the arrow leaves a handle sideways before it turns. */
export const BACK_EDGE_OFFSET = 24;
const CORNER_RADIUS = 8;

export type BackEdgeType = Edge<{ below: number }, 'back'>;

/** An SVG path through these points with rounded corners. */
export function roundedPath(points: Array<[number, number]>): string {
  const [first, ...rest] = points;
  let path = `M ${first[0]},${first[1]}`;
  for (let i = 0; i < rest.length - 1; i++) {
    const [px, py] = i === 0 ? first : rest[i - 1];
    const [x, y] = rest[i];
    const [nx, ny] = rest[i + 1];
    const radius = Math.min(
      CORNER_RADIUS,
      Math.hypot(x - px, y - py) / 2,
      Math.hypot(nx - x, ny - y) / 2
    );
    const before = towards([x, y], [px, py], radius);
    const after = towards([x, y], [nx, ny], radius);
    path += ` L ${before[0]},${before[1]} Q ${x},${y} ${after[0]},${after[1]}`;
  }
  const [lx, ly] = rest[rest.length - 1];
  return `${path} L ${lx},${ly}`;
}

function towards(
  [x, y]: [number, number],
  [tx, ty]: [number, number],
  distance: number
): [number, number] {
  const length = Math.hypot(tx - x, ty - y) || 1;
  return [
    x + ((tx - x) / length) * distance,
    y + ((ty - y) / length) * distance
  ];
}

function BackEdgeView({
  id,
  sourceX,
  sourceY,
  targetX,
  targetY,
  data,
  markerEnd
}: EdgeProps<BackEdgeType>): JSX.Element {
  const below = data?.below ?? Math.max(sourceY, targetY);
  const out = sourceX + BACK_EDGE_OFFSET;
  const into = targetX - BACK_EDGE_OFFSET;
  const path = roundedPath([
    [sourceX, sourceY],
    [out, sourceY],
    [out, below],
    [into, below],
    [into, targetY],
    [targetX, targetY]
  ]);
  return <BaseEdge id={id} path={path} markerEnd={markerEnd} />;
}

export const BackEdge = memo(BackEdgeView);
