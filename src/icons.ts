/** The pipeline icon (three connected boxes). */
import { LabIcon } from '@jupyterlab/ui-components';

const PIPELINE_SVG = `<svg xmlns="http://www.w3.org/2000/svg" width="16" height="16" viewBox="0 0 24 24">
  <g class="jp-icon3" fill="#616161">
    <rect x="1" y="9" width="6" height="6" rx="1"/>
    <rect x="16" y="3" width="7" height="6" rx="1"/>
    <rect x="16" y="15" width="7" height="6" rx="1"/>
    <path d="M7 11.25h3.5V6.75H16v1.5h-4v3h0v1.5h0v3h4v1.5h-5.5v-4.5H7z"/>
  </g>
</svg>`;

export const pipelineIcon = new LabIcon({
  name: 'orchest-ext:pipeline',
  svgstr: PIPELINE_SVG
});
