import type { Command } from 'commander';
import type { Context, Output } from './context.js';

export type Run = (ctx: Context, ...args: any[]) => Promise<Output>;
/** Wrap a command's run function as a commander action that prints its output. */
export type Action = (run: Run) => (...args: any[]) => Promise<void>;
/**
 * Define one command under several names, as docker does: `'images'` at the
 * top level, `'image ls|list'` in the image group (aliases after `|`).
 */
export type Define = (names: readonly string[], build: (cmd: Command) => void) => void;
export type Register = (program: Command, action: Action, define: Define) => void;

/** Repeatable string options (--filter, -e). */
export const collect = (v: string, all: string[]): string[] => [...all, v];
