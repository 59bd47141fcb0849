/** The file browser's selected pipeline file, for commands of its context menu. */
import { IDefaultFileBrowser } from '@jupyterlab/filebrowser';

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
