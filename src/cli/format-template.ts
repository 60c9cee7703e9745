/**
 * Go text/template for --format. The parse tree comes from
 * @sinkingpoint/gotemplate (a translation of Go's lexer and parser); this
 * module executes it with Go's semantics, which that package's own executor
 * does not have (its comparisons are reversed, and/or return booleans, empty
 * slices count as true and `range ... else` never runs the else).
 */
import { Template as GoParser } from '@sinkingpoint/gotemplate';
import { FUNC_NAMES, FUNCS, type TemplateFunc } from './format-funcs.js';
import { TemplateError, goString, goType, isObject, isTrue, structInfo } from './format-values.js';

// Go's parse.NodeType order, which the package keeps.
const enum N { Text, Action, Bool, Chain, Command, Dot, Else, End, Field, Identifier, If, List, Nil, Number, Pipe, Range, String, Template, Variable, With, Comment, Break, Continue }

/** The parse-tree nodes the executor reads (shapes of the package's node classes). */
interface Node { pos: number; type(): N; toString(): string }
interface ListNode extends Node { nodes: Node[] }
interface PipeNode extends Node { isAssign: boolean; decl: Array<{ ident: string[] }>; commands: Array<{ args: Node[] }> }
interface BranchNode extends Node { pipe: PipeNode; list: ListNode; els: ListNode | null }
interface TemplateNode extends Node { name: string; pipe: PipeNode | null }

export interface ExecOptions {
  /** 'error' as docker inspect's fallback: a missing map key fails instead of printing "<no value>". */
  missingKey?: 'default' | 'error';
  funcs?: Record<string, TemplateFunc>;
}

const NO_FINAL = Symbol('no final');
class Break {}
class Continue {}

/** A parsed template, ready to run against many values. */
export class GoTemplate {
  private readonly root: ListNode;
  private readonly parser: GoParser;

  constructor(readonly text: string) {
    const stubs = Object.fromEntries(FUNC_NAMES.map((n) => [n, () => undefined]));
    try {
      this.parser = new GoParser('').funcs(stubs).parse(text);
    } catch (err) {
      // the package words one message differently from Go's parser
      throw new TemplateError((err instanceof Error ? err.message : String(err)).replace(/(function "[^"]*") is not defined/, '$1 not defined'));
    }
    this.root = this.parser.tree!.root as unknown as ListNode;
  }

  /** Run against `data`; on failure the error carries the output written so far in `partial`. */
  execute(data: unknown, opts: ExecOptions = {}): string {
    const st = new State(this, data, opts);
    try {
      st.walk(data, this.root);
    } catch (err) {
      if (err instanceof TemplateError) Object.assign(err, { partial: st.out });
      throw err;
    }
    return st.out;
  }

  /** An associated template ({{define}}/{{block}}) by name. */
  lookup(name: string): ListNode | undefined {
    return (this.parser.lookup(name)?.tree?.root as unknown as ListNode | undefined) ?? undefined;
  }

  /** Go's "NAME:LINE:COL" of a byte offset. */
  location(pos: number): string {
    const before = this.text.slice(0, pos);
    const nl = before.lastIndexOf('\n');
    return `:${before.split('\n').length}:${nl < 0 ? pos : pos - nl - 1}`;
  }
}

class State {
  out = '';
  private readonly vars: Array<{ name: string; value: unknown }>;
  private readonly funcs: Record<string, TemplateFunc>;
  private depth = 0;

  constructor(private readonly tmpl: GoTemplate, data: unknown, private readonly opts: ExecOptions) {
    this.vars = [{ name: '$', value: data }];
    this.funcs = opts.funcs ?? FUNCS;
  }

  private fail(node: Node, msg: string): never {
    let ctx = node.toString();
    if (ctx.length > 20) ctx = `${ctx.slice(0, 20)}...`;
    throw new TemplateError(`template: ${this.tmpl.location(node.pos)}: executing "" at <${ctx}>: ${msg}`);
  }

  /** Run `fn`, turning a bare TemplateError from a function into one located at `node`. */
  private at<T>(node: Node, fn: () => T): T {
    try {
      return fn();
    } catch (err) {
      if (err instanceof TemplateError && !err.message.startsWith('template: ')) this.fail(node, err.message);
      throw err;
    }
  }

  walk(dot: unknown, node: Node): void {
    switch (node.type()) {
      case N.Text: this.out += (node as unknown as { text: string }).text; return;
      case N.Comment: return;
      case N.List: for (const n of (node as ListNode).nodes) this.walk(dot, n); return;
      case N.Action: {
        const pipe = (node as unknown as { pipe: PipeNode }).pipe;
        const v = this.pipeline(dot, pipe);
        if (pipe.decl.length === 0) this.out += goString(v);
        return;
      }
      case N.If: case N.With: return this.branch(dot, node as BranchNode, node.type() === N.With);
      case N.Range: return this.range(dot, node as BranchNode);
      case N.Break: throw new Break();
      case N.Continue: throw new Continue();
      case N.Template: return this.template(dot, node as TemplateNode);
      default: this.fail(node, `unknown node ${node.toString()}`);
    }
  }

  private branch(dot: unknown, n: BranchNode, isWith: boolean): void {
    const mark = this.vars.length;
    try {
      const v = this.pipeline(dot, n.pipe);
      if (isTrue(v)) this.walk(isWith ? v : dot, n.list);
      else if (n.els) this.walk(dot, n.els);
    } finally {
      this.vars.length = mark;
    }
  }

  private range(dot: unknown, n: BranchNode): void {
    const start = this.vars.length;
    try {
      const v = this.pipeline(dot, n.pipe);
      const top = this.vars.length;
      const items: Array<[unknown, unknown]> =
        Array.isArray(v) ? v.map((e, i) => [i, e])
        : typeof v === 'number' && Number.isInteger(v) ? Array.from({ length: Math.max(0, v) }, (_, i) => [i, i])
        : isObject(v) && !structInfo(v) ? Object.keys(v).sort().map((k) => [k, v[k]])
        : v === null || v === undefined ? []
        : this.fail(n, `range can't iterate over ${goString(v)}`);
      for (const [key, elem] of items) {
        const d = n.pipe.decl;
        if (n.pipe.isAssign) {
          if (d.length > 1) this.setVar(d[0]!.ident[0]!, key);
          if (d.length > 0) this.setVar(d[d.length - 1]!.ident[0]!, elem);
        } else {
          // `:=` pushed the variables in order: the last is the element, the one before it the key
          if (d.length > 0) this.vars[top - 1]!.value = elem;
          if (d.length > 1) this.vars[top - 2]!.value = key;
        }
        try {
          this.walk(elem, n.list);
        } catch (err) {
          if (err instanceof Break) break;
          if (!(err instanceof Continue)) throw err;
        } finally {
          this.vars.length = top;
        }
      }
      if (items.length === 0 && n.els) this.walk(dot, n.els);
    } finally {
      this.vars.length = start;
    }
  }

  private template(dot: unknown, n: TemplateNode): void {
    const body = this.tmpl.lookup(n.name);
    if (!body) this.fail(n, `template ${JSON.stringify(n.name)} not defined`);
    if (++this.depth > 1000) this.fail(n, 'exceeded maximum template depth (1000)');
    const d = this.pipeline(dot, n.pipe);
    const saved = this.vars.splice(0);
    this.vars.push({ name: '$', value: d });
    try {
      this.walk(d, body);
    } finally {
      this.vars.splice(0, this.vars.length, ...saved);
      this.depth--;
    }
  }

  /** `$x = value`: assign to the innermost variable of that name. */
  private setVar(name: string, value: unknown): void {
    for (let i = this.vars.length - 1; i >= 0; i--) {
      if (this.vars[i]!.name === name) {
        this.vars[i]!.value = value;
        return;
      }
    }
    throw new TemplateError(`undefined variable: ${name}`);
  }

  private varValue(node: Node, name: string): unknown {
    for (let i = this.vars.length - 1; i >= 0; i--) if (this.vars[i]!.name === name) return this.vars[i]!.value;
    this.fail(node, `undefined variable: ${name}`);
  }

  private pipeline(dot: unknown, pipe: PipeNode | null): unknown {
    if (!pipe) return undefined;
    let v: unknown = NO_FINAL;
    for (const cmd of pipe.commands) v = this.command(dot, cmd.args, v);
    for (const d of pipe.decl) {
      if (pipe.isAssign) this.setVar(d.ident[0]!, v);
      else this.vars.push({ name: d.ident[0]!, value: v });
    }
    return v;
  }

  private command(dot: unknown, args: Node[], final: unknown): unknown {
    const first = args[0]!;
    const noArgs = () => {
      if (args.length > 1 || final !== NO_FINAL) this.fail(first, `can't give argument to non-function ${first.toString()}`);
    };
    switch (first.type()) {
      case N.Field: return this.fieldChain(dot, dot, first, (first as unknown as { ident: string[] }).ident, args, final);
      case N.Chain: {
        const c = first as unknown as { node: Node; field: string[] };
        return this.fieldChain(dot, this.arg(dot, c.node), first, c.field, args, final);
      }
      case N.Variable: {
        const [name, ...fields] = (first as unknown as { ident: string[] }).ident;
        const v = this.varValue(first, name!);
        if (fields.length === 0) {
          noArgs();
          return v;
        }
        return this.fieldChain(dot, v, first, fields, args, final);
      }
      case N.Identifier: return this.call(dot, first, (first as unknown as { ident: string }).ident, args.slice(1), final);
      case N.Pipe: noArgs(); return this.pipeline(dot, first as PipeNode);
      case N.Nil: this.fail(first, 'nil is not a command');
    }
    noArgs();
    return this.arg(dot, first);
  }

  private fieldChain(dot: unknown, receiver: unknown, node: Node, idents: string[], args: Node[], final: unknown): unknown {
    let v = receiver;
    for (let i = 0; i < idents.length - 1; i++) v = this.field(dot, v, idents[i]!, node, [], NO_FINAL);
    return this.field(dot, v, idents[idents.length - 1]!, node, args, final);
  }

  private field(dot: unknown, receiver: unknown, name: string, node: Node, args: Node[], final: unknown): unknown {
    const extra = args.length > 1 || final !== NO_FINAL;
    if (receiver === null || receiver === undefined) this.fail(node, `nil pointer evaluating interface {}.${name}`);
    if (!isObject(receiver)) this.fail(node, `can't evaluate field ${name} in type ${goType(receiver)}`);
    const s = structInfo(receiver);
    const has = Object.prototype.hasOwnProperty.call(receiver, name);
    const v = has ? receiver[name] : undefined;
    if (typeof v === 'function') {
      const argv = args.slice(1).map((a) => this.arg(dot, a));
      if (final !== NO_FINAL) argv.push(final);
      return this.at(node, () => (v as TemplateFunc)(...argv));
    }
    if (extra) this.fail(node, `${name} is not a method but has arguments`);
    if (s && !has) this.fail(node, `can't evaluate field ${name} in type ${s.type}`);
    if (!s && !has && this.opts.missingKey === 'error') this.fail(node, `map has no entry for key ${JSON.stringify(name)}`);
    return v;
  }

  private call(dot: unknown, node: Node, name: string, argNodes: Node[], final: unknown): unknown {
    if (name === 'and' || name === 'or') {
      // Go 1.18+: evaluated left to right, stopping at the first false (and) or true (or) argument.
      const all: Array<() => unknown> = argNodes.map((a) => () => this.arg(dot, a));
      if (final !== NO_FINAL) all.push(() => final);
      if (all.length === 0) this.fail(node, `wrong number of args for ${name}: want at least 1 got 0`);
      let v: unknown;
      for (const next of all) {
        v = next();
        if (isTrue(v) === (name === 'or')) return v;
      }
      return v;
    }
    const fn = this.funcs[name];
    if (!fn) this.fail(node, `function "${name}" not defined`);
    const argv = argNodes.map((a) => this.arg(dot, a));
    if (final !== NO_FINAL) argv.push(final);
    return this.at(node, () => fn(...argv));
  }

  private arg(dot: unknown, n: Node): unknown {
    switch (n.type()) {
      case N.Dot: return dot;
      case N.Nil: return null;
      case N.Bool: return (n as unknown as { val: boolean }).val;
      case N.Number: return (n as unknown as { num: number }).num;
      case N.String: return (n as unknown as { text: string }).text;
      case N.Field: case N.Chain: case N.Variable: case N.Pipe: return this.command(dot, [n], NO_FINAL);
      case N.Identifier: return this.call(dot, n, (n as unknown as { ident: string }).ident, [], NO_FINAL);
    }
    this.fail(n, `can't handle ${n.toString()} as an argument`);
  }
}
