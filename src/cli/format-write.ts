/**
 * docker's --format handling (cli/command/formatter/formatter.go): "json",
 * "table", "table TEMPLATE" and "TEMPLATE", with table headers rendered by
 * running the same template over the column names.
 */
import { ImgError } from '../store/errors.js';
import { HEADER_FUNCS } from './format-funcs.js';
import { tabwrite } from './format-tabwriter.js';
import { GoTemplate, type ExecOptions } from './format-template.js';
import { TemplateError } from './format-values.js';

/** What a listing offers: its header names per field and its default table. */
export interface Listing {
  /** Field name → column header ("ID" → "IMAGE ID"). */
  headers: Record<string, string>;
  /** The template of a bare `--format table` (and of no --format). */
  table: string;
}

export const isTable = (format: string): boolean => format.startsWith('table');

/** docker's Format.templateString: drop "table", trim spaces, turn literal \t and \n into tabs and newlines. */
function templateString(format: string): string {
  if (format === 'json') return '{{json .}}';
  if (format === 'table') return '';
  return (isTable(format) ? format.slice('table'.length) : format).replace(/^ +| +$/g, '').replace(/\\t/g, '\t').replace(/\\n/g, '\n');
}

/** Parse a --format value; a bad template is a one-line usage error. */
export function parseFormat(format: string): GoTemplate {
  try {
    return new GoTemplate(templateString(format));
  } catch (err) {
    throw templateError(err);
  }
}

export function templateError(err: unknown): unknown {
  return err instanceof TemplateError ? new ImgError('INVALID_ARGUMENT', `template parsing error: ${err.message}`) : err;
}

/** Run `tmpl` on `data`, docker's way of reporting failures. */
export function execute(tmpl: GoTemplate, data: unknown, opts?: ExecOptions): string {
  try {
    return tmpl.execute(data, opts);
  } catch (err) {
    throw templateError(err);
  }
}

/**
 * Render rows with `format` (already resolved: a bare "table" means the
 * listing's default). Returns the text without its final newline.
 */
export function renderRows(format: string, rows: readonly object[], listing: Listing): string {
  const fmt = format === 'table' || format === '' ? listing.table : format;
  const tmpl = parseFormat(fmt);
  const body = rows.map((r) => `${execute(tmpl, r)}\n`).join('');
  if (!isTable(fmt)) return body.replace(/\n$/, '');
  let head: string;
  try {
    head = tmpl.execute({ ...listing.headers }, { funcs: HEADER_FUNCS });
  } catch (err) {
    // docker ignores header errors and keeps what was written before them
    head = (err as { partial?: string }).partial ?? '';
  }
  return tabwrite(`${head}\n${body}`).replace(/\n$/, '');
}
