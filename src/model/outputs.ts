/**
 * What a step passed on (`GET runs/{id}/steps/{uuid}/outputs`): the summary of each output,
 * with a preview of common types, and how the view names and sizes them. Pure.
 */

export interface TablePreview {
  kind: 'table';
  columns: Array<{ name: string; dtype: string }>;
  /** Rows and columns. */
  shape: number[];
  rows: unknown[][];
}

export interface ArrayPreview {
  kind: 'array';
  dtype: string;
  shape: number[];
  min?: unknown;
  max?: unknown;
}

export interface ImagePreview {
  kind: 'image';
  /** A `data:image/png;base64,...` URL. */
  thumbnail: string;
}

export interface ValuePreview {
  kind: 'value';
  value: unknown;
}

export interface TextPreview {
  kind: 'text';
  text: string;
}

export type OutputPreview =
  TablePreview | ArrayPreview | ImagePreview | ValuePreview | TextPreview;

/** One output's summary, as the step process wrote it. */
export interface StepOutput {
  /** The name the step gave it (`orchest.output(data, name=...)`); null for none. */
  name: string | null;
  /** The Python type, e.g. `pandas.core.frame.DataFrame`. */
  type: string;
  bytes: number;
  preview: OutputPreview | null;
  /** Why there is no preview (it failed or took too long). */
  preview_error?: string;
}

/** A type's last dotted part: `DataFrame` for `pandas.core.frame.DataFrame`. */
export function shortType(type: string): string {
  return type.split('.').pop() || type;
}

/** "512 B", "2.0 KiB", "3.4 MiB", "1.2 GiB". */
export function formatBytes(bytes: number): string {
  if (!Number.isFinite(bytes) || bytes < 0) {
    return '';
  }
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return unit === 0 ? `${value} B` : `${value.toFixed(1)} ${units[unit]}`;
}

/** A shape as people write it: `100 × 3`. */
export function formatShape(shape: readonly number[]): string {
  return shape.join(' × ');
}

/** A table cell or a value: text as it is, other values as JSON ("" for undefined). */
export function previewText(value: unknown): string {
  if (value === undefined) {
    return '';
  }
  return typeof value === 'string' ? value : JSON.stringify(value);
}
