/** A read-only view of an executed notebook: sources and outputs, never a file to edit. */
import * as nbformat from '@jupyterlab/nbformat';
import { OutputAreaModel, SimplifiedOutputArea } from '@jupyterlab/outputarea';
import { IRenderMimeRegistry } from '@jupyterlab/rendermime';
import { PanelLayout, Widget } from '@lumino/widgets';

function text(source: nbformat.MultilineString): string {
  return Array.isArray(source) ? source.join('') : source;
}

function sourceWidget(source: string, className: string): Widget {
  const widget = new Widget({ node: document.createElement('pre') });
  widget.addClass(className);
  widget.node.textContent = source;
  return widget;
}

export class ExecutedNotebookViewer extends Widget {
  constructor(
    notebook: nbformat.INotebookContent,
    rendermime: IRenderMimeRegistry
  ) {
    super();
    this.addClass('jp-orchest-NotebookViewer');
    const layout = new PanelLayout();
    this.layout = layout;
    for (const cell of notebook.cells ?? []) {
      const source = text(cell.source);
      if (cell.cell_type === 'markdown') {
        const renderer = rendermime.createRenderer('text/markdown');
        void renderer.renderModel(
          rendermime.createModel({
            data: { 'text/markdown': source },
            trusted: false
          })
        );
        renderer.addClass('jp-orchest-nb-markdown');
        layout.addWidget(renderer);
      } else if (cell.cell_type === 'code') {
        layout.addWidget(sourceWidget(source, 'jp-orchest-nb-source'));
        const outputs = (cell as nbformat.ICodeCell).outputs ?? [];
        const model = new OutputAreaModel({ values: outputs, trusted: false });
        const area = new SimplifiedOutputArea({ model, rendermime });
        area.addClass('jp-orchest-nb-outputs');
        layout.addWidget(area);
      } else {
        layout.addWidget(sourceWidget(source, 'jp-orchest-nb-raw'));
      }
    }
  }
}
