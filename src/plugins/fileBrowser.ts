/** The file browser's selected pipeline file, for commands of its context menu. */
import { JupyterFrontEnd } from '@jupyterlab/application';
import { IDefaultFileBrowser } from '@jupyterlab/filebrowser';

import { IPipelineTracker } from '../tokens';
import { PipelineDocument } from '../widgets/PipelineDocument';

const PIPELINE_FILE = /\.(orchest|pipeline)$/;

/** The path of the first selected item when it is a pipeline file. */
export function selectedPipelineFile(
  fileBrowser: IDefaultFileBrowser | null
): string | null {
  const item = fileBrowser?.selectedItems().next();
  return item && !item.done && PIPELINE_FILE.test(item.value.path)
    ? item.value.path
    : null;
}

/** The current pipeline tab's file, else the file browser's selected pipeline file (relative
 * to the server's root dir), for commands of the pipeline view and the file browser. */
export function currentOrSelectedPipeline(
  app: JupyterFrontEnd,
  tracker: IPipelineTracker,
  fileBrowser: IDefaultFileBrowser | null
): string | null {
  const localPath = (path: string) =>
    app.serviceManager.contents.localPath(path);
  const widget = app.shell.currentWidget;
  if (widget instanceof PipelineDocument && tracker.has(widget)) {
    return localPath(widget.context.path);
  }
  const file = selectedPipelineFile(fileBrowser);
  return file ? localPath(file) : null;
}
