/** Paths inside an image as users type them (`/etc//passwd/`) and as lamina shows them (`/etc/passwd`). */
import { ImgError } from '../store/errors.js';

/** The index key of a path: relative, no `.` or empty components, '' for the root. */
export function pathKey(p: string): string {
  const parts = p.split('/').filter((c) => c !== '' && c !== '.');
  if (parts.includes('..')) throw new ImgError('INVALID_ARGUMENT', `path ${JSON.stringify(p)}: '..' is not allowed`);
  return parts.join('/');
}

export const shownPath = (key: string): string => `/${key}`;

export const parentKey = (key: string): string => (key.includes('/') ? key.slice(0, key.lastIndexOf('/')) : '');

export const baseName = (key: string): string => key.slice(key.lastIndexOf('/') + 1);

export const childKey = (dir: string, name: string): string => (dir ? `${dir}/${name}` : name);
