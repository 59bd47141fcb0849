/** A step's whole log in a tab (the step panel keeps only its tail), read chunk by chunk. */
import { Widget } from '@lumino/widgets';

import { OrchestApi } from '../api';

export class StepLogViewer extends Widget {
  constructor(
    private readonly api: OrchestApi,
    private readonly runId: string,
    private readonly stepUuid: string
  ) {
    super({ node: document.createElement('pre') });
    this.addClass('jp-orchest-StepLogViewer');
  }

  /** Read the log from its start to its current end (each chunk is appended as it comes). */
  async load(): Promise<void> {
    this.node.textContent = '';
    let offset = 0;
    while (!this.isDisposed) {
      const log = await this.api.stepLog(this.runId, this.stepUuid, offset);
      this.node.append(log.text);
      if (log.next_offset <= offset || log.next_offset >= log.size) {
        return;
      }
      offset = log.next_offset;
    }
  }
}
