/** "Export Pipeline…": write the current (or selected) pipeline as an Airflow DAG, a Kubeflow
 * Pipelines package or Argo Workflows manifests next to it (`POST pipelines/export`). */
import {
  JupyterFrontEnd,
  JupyterFrontEndPlugin
} from '@jupyterlab/application';
import {
  Dialog,
  ICommandPalette,
  Notification,
  ReactWidget,
  showDialog,
  showErrorMessage
} from '@jupyterlab/apputils';
import { IDefaultFileBrowser } from '@jupyterlab/filebrowser';
import {
  ITranslator,
  nullTranslator,
  TranslationBundle
} from '@jupyterlab/translation';
import React from 'react';

import { ExportResult, OrchestApi } from '../api';
import {
  defaultExportFormValues,
  ExportForm,
  ExportFormValues,
  exportRequestFromForm
} from '../components/ExportForm';
import { TranslationContext } from '../components/translation';
import { pipelineIcon } from '../icons';
import {
  CATEGORY,
  FILE_TYPES,
  IOrchestService,
  IPipelineTracker,
  TRANSLATION_DOMAIN
} from '../tokens';
import { currentOrSelectedPipeline } from './fileBrowser';

export const EXPORT_COMMAND = 'orchest:export-pipeline';

/** Dialog body holding the form's values. */
class ExportFormBody extends ReactWidget {
  constructor(
    private values: ExportFormValues,
    private readonly trans: TranslationBundle
  ) {
    super();
  }

  getValue(): ExportFormValues {
    return this.values;
  }

  render(): JSX.Element {
    return (
      <TranslationContext.Provider value={this.trans}>
        <ExportForm
          initial={this.values}
          onChange={values => (this.values = values)}
        />
      </TranslationContext.Provider>
    );
  }
}

/** Ask where to export, then export; the result, or null when cancelled. */
async function exportDialog(
  api: OrchestApi,
  pipelinePath: string,
  trans: TranslationBundle
): Promise<ExportResult | null> {
  const __ = (text: string, ...args: string[]) => trans.__(text, ...args);
  let values = defaultExportFormValues();
  for (;;) {
    const result = await showDialog({
      title: __('Export %1', pipelinePath),
      body: new ExportFormBody(values, trans),
      buttons: [
        Dialog.cancelButton({ label: __('Cancel') }),
        Dialog.okButton({ label: __('Export') })
      ]
    });
    if (!result.button.accept || !result.value) {
      return null;
    }
    values = result.value;
    try {
      return await api.exportPipeline(
        exportRequestFromForm(pipelinePath, values)
      );
    } catch (err) {
      await showErrorMessage(
        __('Cannot export the pipeline'),
        (err as Error).message
      );
    }
  }
}

export const exportCommandPlugin: JupyterFrontEndPlugin<void> = {
  id: 'orchest-ext:export-command',
  description:
    'Export a pipeline to Airflow, Kubeflow Pipelines or Argo Workflows.',
  autoStart: true,
  requires: [IOrchestService, IPipelineTracker],
  optional: [IDefaultFileBrowser, ICommandPalette, ITranslator],
  activate: (
    app: JupyterFrontEnd,
    service: IOrchestService,
    tracker: IPipelineTracker,
    fileBrowser: IDefaultFileBrowser | null,
    palette: ICommandPalette | null,
    translator: ITranslator | null
  ) => {
    const trans = (translator ?? nullTranslator).load(TRANSLATION_DOMAIN);
    const pipelinePath = () =>
      currentOrSelectedPipeline(app, tracker, fileBrowser);
    app.commands.addCommand(EXPORT_COMMAND, {
      label: trans.__('Export Pipeline to Airflow, Kubeflow or Argo…'),
      caption: trans.__(
        'Write this pipeline for another engine, next to it in export/'
      ),
      icon: pipelineIcon,
      isEnabled: () => pipelinePath() !== null,
      execute: async () => {
        const path = pipelinePath();
        if (path === null) {
          return;
        }
        const result = await exportDialog(service.api, path, trans);
        if (result) {
          Notification.success(
            trans.__(
              'Exported for %1: %2',
              result.target,
              result.files.join(', ')
            ),
            { autoClose: 10000 }
          );
        }
      }
    });
    palette?.addItem({ command: EXPORT_COMMAND, category: CATEGORY });
    for (const fileType of Object.values(FILE_TYPES)) {
      app.contextMenu.addItem({
        command: EXPORT_COMMAND,
        selector: `.jp-DirListing-item[data-file-type="${fileType}"]`,
        rank: 5
      });
    }
  }
};
