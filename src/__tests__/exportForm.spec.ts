import {
  defaultExportFormValues,
  exportRequestFromForm
} from '../components/ExportForm';

describe('exportRequestFromForm', () => {
  it('sends the target and only the fields filled in, trimmed', () => {
    const request = exportRequestFromForm('p/a.orchest', {
      ...defaultExportFormValues(),
      target: 'argo',
      volume: ' pipelines ',
      namespace: 'ml',
      schedule: ''
    });
    expect(request).toEqual({
      pipeline_path: 'p/a.orchest',
      target: 'argo',
      volume: 'pipelines',
      namespace: 'ml'
    });
  });

  it('exports to Airflow by default with nothing else', () => {
    expect(
      exportRequestFromForm('a.orchest', defaultExportFormValues())
    ).toEqual({ pipeline_path: 'a.orchest', target: 'airflow' });
  });
});
