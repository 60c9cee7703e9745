import { ImgError } from '../store/errors.js';
import { isDigest } from '../store/digest.js';
import { Store } from '../store/store.js';
import { containerView } from './container-view.js';
import { loadMemoryView } from './memory-view.js';
import { imageView } from '../image/image-view.js';
import type { MergedView } from '../union/view.js';

/** What a mount server serves: `kind` picks the view factory, the rest is the factory's. */
export interface MountSpec {
  kind: string;
  [key: string]: unknown;
}

/** Builds the merged view for one mount, inside the server process. */
export type ViewFactory = (spec: MountSpec) => Promise<MergedView>;

const factories = new Map<string, ViewFactory>([
  ['memory', (spec) => loadMemoryView(stringField(spec, 'file'))],
  ['image', imageKind],
  ['container', containerKind],
]);

/** `{ kind: 'container', root, image, upper, work }`: an image with a writable layer on top. */
async function containerKind(spec: MountSpec): Promise<MergedView> {
  const lower = await imageKind({ ...spec, kind: 'image' });
  return containerView(lower, stringField(spec, 'upper'), stringField(spec, 'work'));
}

/** `{ kind: 'image', root, image }`: a stored image's read-only merged view. */
async function imageKind(spec: MountSpec): Promise<MergedView> {
  const image = stringField(spec, 'image');
  if (!isDigest(image)) throw new ImgError('INVALID_ARGUMENT', `mount spec: image must be an image ID, got ${image}`);
  const store = await Store.open(stringField(spec, 'root'));
  const view = imageView(store, image);
  return Object.assign(view, { close: () => store.close() });
}

/** Makes `kind` mountable; the server process must import the module that calls this. */
export function registerViewKind(kind: string, factory: ViewFactory): void {
  factories.set(kind, factory);
}

/** The merged view described by `spec`. */
export async function createView(spec: MountSpec): Promise<MergedView> {
  const factory = factories.get(spec.kind);
  if (!factory) throw new ImgError('INVALID_ARGUMENT', `unknown mount kind ${JSON.stringify(spec.kind)}`);
  return factory(spec);
}

/** A required string member of a spec. */
export function stringField(spec: MountSpec, key: string): string {
  const v = spec[key];
  if (typeof v !== 'string') throw new ImgError('INVALID_ARGUMENT', `mount spec of kind ${spec.kind}: ${key} must be a string`);
  return v;
}
