/** The extension's translation bundle for components (JupyterLab's ITranslator, domain
 * orchest_ext), provided by the pipeline view. */
import { nullTranslator, TranslationBundle } from '@jupyterlab/translation';
import { createContext, useContext } from 'react';

export const TranslationContext = createContext<TranslationBundle>(
  nullTranslator.load('orchest_ext')
);

export function useTranslation(): TranslationBundle {
  return useContext(TranslationContext);
}
