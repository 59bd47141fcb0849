import React from 'react';
import { renderToStaticMarkup } from 'react-dom/server';

import { MetricsView, OutputsView } from '../components/OutputPreview';
import { formatBytes, shortType, StepOutput } from '../model/outputs';

const DATAFRAME: StepOutput = {
  name: 'df',
  type: 'pandas.core.frame.DataFrame',
  bytes: 2048,
  preview: {
    kind: 'table',
    columns: [
      { name: 'city', dtype: 'object' },
      { name: 'temp', dtype: 'float64' }
    ],
    shape: [100, 2],
    rows: [
      ['Delft', 12.5],
      ['Utrecht', null]
    ]
  }
};

function html(outputs: StepOutput[]): string {
  return renderToStaticMarkup(React.createElement(OutputsView, { outputs }));
}

/** The text of an HTML fragment, tags left out. */
function text(markup: string): string {
  return markup
    .replace(/<[^>]+>/g, ' ')
    .replace(/\s+/g, ' ')
    .trim();
}

describe('OutputsView', () => {
  it("shows a table's schema, shape and first rows", () => {
    const markup = html([DATAFRAME]);
    expect(markup).toContain('data-preview="table"');
    expect(markup).toContain('data-column="city"');
    expect(text(markup)).toContain(
      'df DataFrame 2.0 KiB 100 rows × 2 columns · first 2 shown'
    );
    expect(text(markup)).toContain('city object temp float64');
    expect(text(markup)).toContain('Delft 12.5 Utrecht null');
  });

  it("shows an array's dtype, shape, min and max", () => {
    const markup = html([
      {
        name: 'weights',
        type: 'numpy.ndarray',
        bytes: 800,
        preview: {
          kind: 'array',
          dtype: 'float64',
          shape: [10, 10],
          min: -1.5,
          max: 2
        }
      }
    ]);
    expect(markup).toContain('data-preview="array"');
    expect(text(markup)).toContain(
      'dtype float64 shape 10 × 10 min -1.5 max 2'
    );
  });

  it("shows an image's thumbnail, a value and a text", () => {
    const thumbnail = 'data:image/png;base64,iVBORw0KGgo=';
    const markup = html([
      {
        name: 'plot',
        type: 'matplotlib.figure.Figure',
        bytes: 30000,
        preview: { kind: 'image', thumbnail }
      },
      {
        name: null,
        type: 'builtins.dict',
        bytes: 20,
        preview: { kind: 'value', value: { k: [1, 2] } }
      },
      {
        name: 'note',
        type: 'builtins.str',
        bytes: 5,
        preview: { kind: 'text', text: 'hello' }
      }
    ]);
    expect(markup).toContain(`src="${thumbnail}"`);
    expect(markup).toContain('data-preview="value"');
    expect(text(markup)).toContain('(unnamed) dict 20 B');
    expect(markup).toContain('&quot;k&quot;');
    expect(text(markup)).toContain('note str 5 B hello');
  });

  it('says why an output has no preview, and when a step passed none', () => {
    const markup = html([
      {
        name: 'big',
        type: 'pyarrow.lib.Table',
        bytes: 5 * 1024 * 1024,
        preview: null,
        preview_error: 'the summary took longer than 2 s'
      }
    ]);
    expect(text(markup)).toContain(
      'big Table 5.0 MiB No preview: the summary took longer than 2 s'
    );
    expect(html([])).toContain('data-outputs="none"');
  });
});

describe('MetricsView', () => {
  it('lists metrics by name, nothing without any', () => {
    const markup = renderToStaticMarkup(
      React.createElement(MetricsView, { metrics: { loss: 0.25, acc: 0.9 } })
    );
    expect(text(markup)).toBe('acc 0.9 loss 0.25');
    expect(
      renderToStaticMarkup(React.createElement(MetricsView, { metrics: {} }))
    ).toBe('');
  });
});

describe('formatting', () => {
  it('writes sizes and types short', () => {
    expect(formatBytes(512)).toBe('512 B');
    expect(formatBytes(3 * 1024 * 1024 * 1024)).toBe('3.0 GiB');
    expect(shortType('pandas.core.frame.DataFrame')).toBe('DataFrame');
    expect(shortType('int')).toBe('int');
  });
});
