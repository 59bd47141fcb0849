/** The step and pipeline forms' fields: text, JSON, a dropdown, `NAME=value` lines. */
import React from 'react';

import { parseEnvText, parseJsonObject } from '../model/stepDraft';
import { useTranslation } from './translation';

interface TextAreaProps {
  label: string;
  name: string;
  text: string;
  onChange: (text: string) => void;
}

/** A multi-line field that says what is wrong with its text (`error`), under it. */
function CheckedTextArea({
  label,
  name,
  text,
  onChange,
  error,
  placeholder
}: TextAreaProps & {
  error: string | null;
  placeholder?: string;
}): JSX.Element {
  return (
    <label className="jp-orchest-field">
      <span>{label}</span>
      <textarea
        className="jp-orchest-json"
        data-field={name}
        spellCheck={false}
        placeholder={placeholder}
        value={text}
        rows={Math.min(12, Math.max(3, text.split('\n').length))}
        onChange={event => onChange(event.target.value)}
      />
      {error && (
        <span className="jp-orchest-inline-error" data-field-error={name}>
          {label} {error}
        </span>
      )}
    </label>
  );
}

/** A JSON object. */
export function JsonField(props: TextAreaProps): JSX.Element {
  const parsed = parseJsonObject(props.text);
  return (
    <CheckedTextArea
      {...props}
      error={'error' in parsed ? parsed.error : null}
    />
  );
}

export function TextField({
  label,
  name,
  value,
  onChange
}: {
  label: string;
  name: string;
  value: string;
  onChange: (value: string) => void;
}): JSX.Element {
  return (
    <label className="jp-orchest-field">
      <span>{label}</span>
      <input
        type="text"
        data-field={name}
        value={value}
        onChange={event => onChange(event.target.value)}
      />
    </label>
  );
}

/** Options of a dropdown: the choices, plus the current value when it is not one of them. */
export function Choices({
  choices,
  current,
  missing
}: {
  choices: Array<[string, string]>;
  current: string;
  missing: string;
}): JSX.Element {
  const all = choices.some(([value]) => value === current)
    ? choices
    : [
        [current, current ? `${current} (${missing})` : `(${missing})`] as [
          string,
          string
        ],
        ...choices
      ];
  return (
    <>
      {all.map(([value, label]) => (
        <option key={value} value={value}>
          {label}
        </option>
      ))}
    </>
  );
}

export function SelectField({
  label,
  name,
  value,
  onChange,
  children
}: {
  label: string;
  name: string;
  value: string;
  onChange: (value: string) => void;
  children: React.ReactNode;
}): JSX.Element {
  return (
    <label className="jp-orchest-field">
      <span>{label}</span>
      <select
        data-field={name}
        value={value}
        onChange={event => onChange(event.target.value)}
      >
        {children}
      </select>
    </label>
  );
}

/** Environment variables as `NAME=value` lines; a line that is not one is named. */
export function EnvField(props: TextAreaProps): JSX.Element {
  const trans = useTranslation();
  const parsed = parseEnvText(props.text);
  return (
    <CheckedTextArea
      {...props}
      placeholder={trans.__('NAME=value, one a line')}
      error={'error' in parsed ? parsed.error : null}
    />
  );
}
