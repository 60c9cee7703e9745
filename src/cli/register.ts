import type { Command } from 'commander';
import type { Context, Output } from './context.js';

export type Run = (ctx: Context, ...args: any[]) => Promise<Output>;
/** The exports of module `M` that are run functions. */
type RunName<M> = { [K in keyof M]: M[K] extends Run ? K : never }[keyof M];
/**
 * A commander action that imports `load`'s module when the command runs, calls
 * its run function `name` and prints the output. Definitions name their
 * implementation this way, so that parsing and help load no implementation.
 */
export type Action = <M>(load: () => Promise<M>, name: RunName<M>) => (...args: any[]) => Promise<void>;
/**
 * Define one command under several names, as docker does: `'images'` at the
 * top level, `'image ls|list'` in the image group (aliases after `|`).
 */
export type Define = (names: readonly string[], build: (cmd: Command) => void) => void;
export type Register = (program: Command, action: Action, define: Define) => void;

/** Repeatable string options (--filter, -e). */
export const collect = (v: string, all: string[]): string[] => [...all, v];
