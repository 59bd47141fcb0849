/** Step files with unsaved changes in open editors, settled before a run reads them. */
import { Dialog, showDialog } from '@jupyterlab/apputils';
import { PathExt } from '@jupyterlab/coreutils';
import { IDocumentManager } from '@jupyterlab/docmanager';
import { DocumentRegistry } from '@jupyterlab/docregistry';
import { TranslationBundle } from '@jupyterlab/translation';

const SAVE = 'save';
const RUN_SAVED = 'run-saved';

/** The open documents of these contents paths that have unsaved changes. */
function dirtyContexts(
  docManager: IDocumentManager,
  paths: string[]
): DocumentRegistry.Context[] {
  const found = new Map<string, DocumentRegistry.Context>();
  for (const path of new Set(paths)) {
    const widget = docManager.findWidget(path);
    const context = widget ? docManager.contextForWidget(widget) : undefined;
    if (context?.model.dirty) {
      found.set(context.path, context);
    }
  }
  return [...found.values()];
}

/**
 * Before a run: when a step file (contents path) has unsaved changes, ask whether to save
 * them and run, run the saved versions, or cancel. Resolves false for cancel.
 */
async function settleStepFiles(
  docManager: IDocumentManager,
  trans: TranslationBundle,
  paths: string[]
): Promise<boolean> {
  const dirty = dirtyContexts(docManager, paths);
  if (!dirty.length) {
    return true;
  }
  const names = dirty.map(context => PathExt.basename(context.path)).join(', ');
  const result = await showDialog({
    title: trans._n(
      'A step file has unsaved changes',
      'Step files have unsaved changes',
      dirty.length
    ),
    body: trans.__(
      'The run reads the files as saved on disk. Unsaved: %1.',
      names
    ),
    buttons: [
      Dialog.cancelButton({ label: trans.__('Cancel') }),
      Dialog.okButton({
        label: trans.__('Run saved versions'),
        displayType: 'default',
        actions: [RUN_SAVED]
      }),
      Dialog.okButton({ label: trans.__('Save and run'), actions: [SAVE] })
    ]
  });
  if (!result.button.accept) {
    return false;
  }
  if (result.button.actions.includes(SAVE)) {
    await Promise.all(dirty.map(context => context.save()));
  }
  return true;
}

/** `settleStepFiles` for a pipeline's steps: `filePaths` relative to the pipeline file at
 * `pipelinePath` (a contents path), as steps name them. The one check before every run. */
export function settlePipelineStepFiles(
  docManager: IDocumentManager,
  trans: TranslationBundle,
  pipelinePath: string,
  filePaths: string[]
): Promise<boolean> {
  const directory = PathExt.dirname(pipelinePath);
  return settleStepFiles(
    docManager,
    trans,
    filePaths.map(file => PathExt.join(directory, file))
  );
}
