/** nbdime's notebook diff of a step's executed notebooks in two runs, read-only. */
import { IEditorServices } from '@jupyterlab/codeeditor';
import * as nbformat from '@jupyterlab/nbformat';
import { IRenderMimeRegistry } from '@jupyterlab/rendermime';
import { ITranslator } from '@jupyterlab/translation';
import { Panel } from '@lumino/widgets';
import { IDiffEntry } from 'nbdime/lib/diff/diffentries';
import { NotebookDiffModel } from 'nbdime/lib/diff/model';
import { NotebookDiffWidget } from 'nbdime/lib/diff/widget';

/** A panel showing nbdime's diff from `base` (run A's notebook) by `diff` (to run B's). */
export async function notebookDiffPanel(
  base: nbformat.INotebookContent,
  diff: IDiffEntry[],
  rendermime: IRenderMimeRegistry,
  editorServices: IEditorServices,
  translator: ITranslator
): Promise<Panel> {
  const panel = new Panel();
  panel.addClass('jp-orchest-NotebookDiff');
  // nbdime's own styles apply below its root class.
  panel.addClass('nbdime-root');
  const factory = editorServices.factoryService;
  const widget = new NotebookDiffWidget({
    model: new NotebookDiffModel(base, diff),
    rendermime,
    editorFactory: factory.newInlineEditor.bind(factory),
    translator
  });
  panel.addWidget(widget);
  await widget.init();
  return panel;
}
