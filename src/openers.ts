/** Opening what a pipeline refers to: step files, executed notebooks, an `.orchest` copy. */
import { JupyterFrontEnd } from '@jupyterlab/application';
import {
  Dialog,
  MainAreaWidget,
  showDialog,
  showErrorMessage
} from '@jupyterlab/apputils';
import { PathExt } from '@jupyterlab/coreutils';
import * as nbformat from '@jupyterlab/nbformat';
import { IRenderMimeRegistry } from '@jupyterlab/rendermime';
import { TranslationBundle } from '@jupyterlab/translation';

import { OrchestApi } from './api';
import { KernelChoice, StepActions } from './components/StepDetails';
import { orchestFromGraph } from './model/document';
import { PipelineGraph, stepKind } from './model/pipeline';
import { ExecutedNotebookViewer } from './widgets/NotebookViewer';
import { FACTORY } from './widgets/PipelineDocument';
import { StepLogViewer } from './widgets/StepLogViewer';

/** The command that opens a run's own pipeline, read-only (args `{"runId": "..."}`). */
export const OPEN_RUN_COMMAND = 'orchest:open-run';

/** The command that shows two runs side by side (args `{"runIds": [a, b]}`). */
export const COMPARE_RUNS_COMMAND = 'orchest:compare-runs';

/** The command that diffs a notebook step's executed notebooks in two runs with nbdime
 * (args `{"runIds": [a, b], "stepUuid": "...", "title": "..."}`). */
export const DIFF_RUN_NOTEBOOKS_COMMAND = 'orchest:diff-run-notebooks';

/** How deep the File field looks into the pipeline's folders, and how many files it lists. */
const STEP_FILES_DEPTH = 3;
const STEP_FILES_MAX = 1000;

/** A name in `directory` that no file has yet: `<stem>.orchest`, `<stem>-1.orchest`, ... */
export async function freeName(
  app: JupyterFrontEnd,
  directory: string,
  stem: string,
  extension = '.orchest'
): Promise<string> {
  for (let i = 0; ; i++) {
    const path = PathExt.join(
      directory,
      `${stem}${i ? `-${i}` : ''}${extension}`
    );
    try {
      await app.serviceManager.contents.get(path, { content: false });
    } catch {
      return path;
    }
  }
}

/** Open a pipeline file in the pipeline view. */
export function openPipeline(app: JupyterFrontEnd, path: string): void {
  void app.commands.execute('docmanager:open', { path, factory: FACTORY });
}

/** Explain why a change needs Orchest's format and offer a `.orchest` copy to edit. */
export async function offerOrchestCopy(
  app: JupyterFrontEnd,
  trans: TranslationBundle,
  reason: string,
  graph: PipelineGraph,
  pipelinePath: string
): Promise<void> {
  const result = await showDialog({
    title: trans.__('This change needs the Orchest format'),
    body: trans.__(
      '%1 The Elyra file is left as it is. Save a copy of the pipeline as .orchest and edit that?',
      reason
    ),
    buttons: [
      Dialog.cancelButton({ label: trans.__('Cancel') }),
      Dialog.okButton({ label: trans.__('Save as .orchest') })
    ]
  });
  if (!result.button.accept) {
    return;
  }
  const stem = PathExt.basename(pipelinePath, PathExt.extname(pipelinePath));
  const path = await freeName(app, PathExt.dirname(pipelinePath), stem);
  await app.serviceManager.contents.save(path, {
    type: 'file',
    format: 'text',
    content: JSON.stringify(orchestFromGraph(graph), null, 2) + '\n'
  });
  openPipeline(app, path);
}

/** Open a step's executed notebook read-only in a tab, or save a copy and open that. */
async function openExecutedNotebook(
  app: JupyterFrontEnd,
  api: OrchestApi,
  rendermime: IRenderMimeRegistry,
  trans: TranslationBundle,
  directory: string,
  runId: string,
  stepUuid: string,
  asCopy: boolean
): Promise<void> {
  const notebook = (await api.stepNotebook(
    runId,
    stepUuid
  )) as nbformat.INotebookContent;
  const run = await api.getRun(runId);
  const title = run.steps?.find(s => s.uuid === stepUuid)?.title ?? stepUuid;
  if (asCopy) {
    const stem = title.replace(/[^\w.-]+/g, '_').slice(0, 80);
    const path = await freeName(
      app,
      directory,
      `${stem}.run-${runId.slice(0, 8)}`,
      '.ipynb'
    );
    await app.serviceManager.contents.save(path, {
      type: 'notebook',
      format: 'json',
      content: notebook
    });
    await app.commands.execute('docmanager:open', { path });
    return;
  }
  const id = `orchest-executed-${runId}-${stepUuid}`;
  const open = Array.from(app.shell.widgets('main')).find(w => w.id === id);
  if (open) {
    app.shell.activateById(id);
    return;
  }
  const content = new ExecutedNotebookViewer(notebook, rendermime);
  const widget = new MainAreaWidget({ content });
  widget.id = id;
  widget.title.label = trans.__(
    '%1 (run %2, read-only)',
    title,
    runId.slice(0, 8)
  );
  widget.title.closable = true;
  app.shell.add(widget, 'main', { mode: 'tab-after' });
}

/** The files under `directory` that can be steps, relative to it (hidden folders skipped). */
async function stepFiles(
  app: JupyterFrontEnd,
  directory: string
): Promise<string[]> {
  const found: string[] = [];
  let level = [directory];
  for (let depth = 0; depth < STEP_FILES_DEPTH && level.length; depth++) {
    const next: string[] = [];
    for (const folder of level) {
      const listing = await app.serviceManager.contents.get(folder, {
        content: true
      });
      for (const item of listing.content ?? []) {
        if (item.name.startsWith('.')) {
          continue;
        }
        if (item.type === 'directory') {
          next.push(item.path);
        } else if (stepKind(item.name) !== 'unknown') {
          found.push(PathExt.relative(directory, item.path));
        }
      }
      if (found.length >= STEP_FILES_MAX) {
        return found.slice(0, STEP_FILES_MAX).sort();
      }
    }
    level = next;
  }
  return found.sort();
}

/** A step's whole log in a tab (the one already open for it comes to the front). */
async function openLog(
  app: JupyterFrontEnd,
  api: OrchestApi,
  trans: TranslationBundle,
  runId: string,
  stepUuid: string,
  title: string
): Promise<void> {
  const id = `orchest-log-${runId}-${stepUuid}`;
  const open = Array.from(app.shell.widgets('main')).find(w => w.id === id);
  if (open) {
    app.shell.activateById(id);
    return;
  }
  const content = new StepLogViewer(api, runId, stepUuid);
  const widget = new MainAreaWidget({ content });
  widget.id = id;
  widget.title.label = trans.__('%1 log (run %2)', title, runId.slice(0, 8));
  widget.title.closable = true;
  app.shell.add(widget, 'main', { mode: 'tab-after' });
  app.shell.activateById(id);
  await content.load();
}

/** What the step panel can open, for the pipeline at this root-relative path. */
export function stepActions(
  app: JupyterFrontEnd,
  api: OrchestApi,
  rendermime: IRenderMimeRegistry,
  trans: TranslationBundle,
  pipelinePath: () => string
): StepActions {
  const directory = () => PathExt.dirname(pipelinePath());
  return {
    async openSource(filePath: string) {
      await app.commands.execute('docmanager:open', {
        path: PathExt.join(directory(), filePath)
      });
    },
    async openRun(runId) {
      await app.commands.execute(OPEN_RUN_COMMAND, { runId });
    },
    async compareRuns(a, b) {
      await app.commands.execute(COMPARE_RUNS_COMMAND, { runIds: [a, b] });
    },
    async openLog(runId, stepUuid, title) {
      try {
        await openLog(app, api, trans, runId, stepUuid, title);
      } catch (err) {
        await showErrorMessage(
          trans.__('Cannot open the log'),
          (err as Error).message
        );
      }
    },
    stepFiles: () => stepFiles(app, directory()),
    async kernels(): Promise<KernelChoice[]> {
      const manager = app.serviceManager.kernelspecs;
      await manager.ready;
      return Object.values(manager.specs?.kernelspecs ?? {})
        .filter(spec => spec !== undefined)
        .map(spec => ({ name: spec.name, displayName: spec.display_name }));
    },
    async openExecutedNotebook(runId, stepUuid, asCopy) {
      try {
        await openExecutedNotebook(
          app,
          api,
          rendermime,
          trans,
          directory(),
          runId,
          stepUuid,
          asCopy
        );
      } catch (err) {
        await showErrorMessage(
          trans.__('Cannot open the executed notebook'),
          (err as Error).message
        );
      }
    }
  };
}
