/** Editing the pipeline's properties: name, pipeline parameters, settings. */
import React, { useEffect, useState } from 'react';

import { PipelineController } from '../controller';
import { PipelineGraph } from '../model/pipeline';
import { parseJsonObject, prettyJson as pretty } from '../model/stepDraft';
import { JsonField, TextField } from './fields';
import { useTranslation } from './translation';

export function PipelineProperties({
  controller,
  graph
}: {
  controller: PipelineController;
  graph: PipelineGraph;
}): JSX.Element {
  const trans = useTranslation();
  const [name, setName] = useState(graph.name);
  const [parameters, setParameters] = useState(pretty(graph.parameters));
  const [settings, setSettings] = useState(pretty(graph.settings));
  useEffect(() => {
    setName(graph.name);
    setParameters(pretty(graph.parameters));
    setSettings(pretty(graph.settings));
  }, [graph]);
  const elyra = graph.format === 'elyra';
  const parsedParameters = parseJsonObject(parameters);
  const parsedSettings = parseJsonObject(settings);
  const valid = 'value' in parsedParameters && 'value' in parsedSettings;
  return (
    <form
      className="jp-orchest-form"
      data-pipeline-editor=""
      onSubmit={event => {
        event.preventDefault();
        if (!('value' in parsedParameters) || !('value' in parsedSettings)) {
          return;
        }
        const patch: Record<string, unknown> = {};
        if (name !== graph.name) {
          patch.name = name;
        }
        if (
          !elyra &&
          pretty(parsedParameters.value) !== pretty(graph.parameters)
        ) {
          patch.parameters = parsedParameters.value;
        }
        if (!elyra && pretty(parsedSettings.value) !== pretty(graph.settings)) {
          patch.settings = parsedSettings.value;
        }
        if (Object.keys(patch).length) {
          controller.updatePipeline(patch);
        }
      }}
    >
      <TextField
        label={trans.__('Name')}
        name="name"
        value={name}
        onChange={setName}
      />
      {!elyra && (
        <>
          <JsonField
            label={trans.__('Pipeline parameters')}
            name="pipeline-parameters"
            text={parameters}
            onChange={setParameters}
          />
          <JsonField
            label={trans.__('Settings')}
            name="settings"
            text={settings}
            onChange={setSettings}
          />
        </>
      )}
      <button
        type="submit"
        className="jp-orchest-button jp-mod-accept"
        data-action="apply-pipeline"
        disabled={!valid}
      >
        {trans.__('Apply')}
      </button>
    </form>
  );
}
