// Dockerfile word processing, as docker's builder does it for the arguments of COPY, ENV,
// WORKDIR, LABEL, ... (never for RUN/CMD/ENTRYPOINT, which a shell sees): quotes removed,
// the escape character applied, and $VAR, ${VAR}, ${VAR:-word}, ${VAR:+word},
// ${VAR:?message} and the shell's #, ##, %, %% trims expanded. Split into words after
// expansion, an unquoted variable's value splits at blanks; quoted text never does.

/** Variable values; undefined means unset. */
export type Lookup = (name: string) => string | undefined;

export interface Expanded {
  /** The whole text as one word (docker's ProcessWord). */
  text: string;
  /** The text split at unquoted blanks (docker's ProcessWords). */
  words: string[];
}

const isBlank = (c: string) => /\s/.test(c);
const SPECIAL_PARAMS = '@*#?-$!0';

/** Accumulates words: blanks from unquoted text and variable values split, quoted text is kept whole. */
class WordList {
  readonly words: string[] = [];
  private cur = '';
  private open = false;

  char(c: string): void {
    if (!isBlank(c)) return this.raw(c);
    if (this.open && this.cur !== '') this.words.push(this.cur);
    if (this.open) [this.cur, this.open] = ['', false];
  }

  split(s: string): void {
    for (const c of s) this.char(c);
  }

  raw(s: string): void {
    this.cur += s;
    this.open = true;
  }

  done(): string[] {
    if (this.cur !== '') this.words.push(this.cur);
    return this.words;
  }
}

class Scanner {
  private i = 0;

  constructor(private readonly s: string, private readonly lookup: Lookup, private readonly escape: string) {}

  private peek(): string | undefined {
    return this.s[this.i];
  }

  private next(): string | undefined {
    return this.s[this.i++];
  }

  /** Text up to `stop` (consumed) or the end; `rawEscapes` keeps escape characters (for trim patterns). */
  scan(stop?: string, rawEscapes = false): Expanded {
    let text = '';
    const words = new WordList();
    while (this.peek() !== undefined) {
      const c = this.peek()!;
      if (stop !== undefined && c === stop) {
        this.next();
        return { text, words: words.done() };
      }
      if (c === '$' || c === "'" || c === '"') {
        const v = c === '$' ? this.dollar() : c === "'" ? this.singleQuoted() : this.doubleQuoted();
        text += v;
        if (c === '$') words.split(v);
        else words.raw(v);
        continue;
      }
      this.next();
      if (c !== this.escape) {
        text += c;
        words.char(c);
        continue;
      }
      if (rawEscapes) {
        text += c;
        words.raw(c);
      }
      const escaped = this.next();
      if (escaped === undefined) break;
      text += escaped;
      words.raw(escaped);
    }
    if (stop !== undefined) throw new Error(`unexpected end of statement while looking for matching ${stop}`);
    return { text, words: words.done() };
  }

  private singleQuoted(): string {
    this.next();
    const end = this.s.indexOf("'", this.i);
    if (end < 0) throw new Error('unexpected end of statement while looking for matching single-quote');
    const v = this.s.slice(this.i, end);
    this.i = end + 1;
    return v;
  }

  /** Inside double quotes the escape character only escapes `"`, `$` and itself. */
  private doubleQuoted(): string {
    this.next();
    let out = '';
    for (;;) {
      const c = this.peek();
      if (c === undefined) throw new Error('unexpected end of statement while looking for matching double-quote');
      if (c === '"') {
        this.next();
        return out;
      }
      if (c === '$') {
        out += this.dollar();
        continue;
      }
      this.next();
      if (c === this.escape) {
        const n = this.peek();
        if (n === undefined) continue;
        if (n === '"' || n === '$' || n === this.escape) {
          out += this.next();
          continue;
        }
      }
      out += c;
    }
  }

  private name(): string {
    const first = this.peek();
    if (first === undefined) return '';
    if (/[0-9]/.test(first)) {
      let n = '';
      while (this.peek() !== undefined && /[0-9]/.test(this.peek()!)) n += this.next();
      return n;
    }
    if (SPECIAL_PARAMS.includes(first)) return this.next()!;
    let n = '';
    while (this.peek() !== undefined && /[\p{L}\p{N}_]/u.test(this.peek()!)) n += this.next();
    return n;
  }

  private dollar(): string {
    this.next();
    if (this.peek() !== '{') {
      const name = this.name();
      return name === '' ? '$' : (this.lookup(name) ?? '');
    }
    this.next();
    const first = this.peek();
    if (first === undefined) throw new Error("syntax error: missing '}'");
    if (first === '{' || first === '}' || first === ':') throw new Error('syntax error: bad substitution');
    const name = this.name();
    const op = this.next();
    if (op === undefined) throw new Error("syntax error: missing '}'");
    if (op === '}') return this.lookup(name) ?? '';
    let modifier = op;
    const colon = op === ':';
    if (colon) modifier = this.next() ?? '';
    if (!'+-?#%'.includes(modifier) || modifier === '' || (colon && (modifier === '#' || modifier === '%'))) {
      throw new Error(`unsupported modifier (${colon ? ':' : ''}${modifier}) in substitution`);
    }
    let word: string;
    try {
      word = this.scan('}', modifier === '#' || modifier === '%').text;
    } catch (err) {
      if (this.peek() === undefined) throw new Error("syntax error: missing '}'");
      throw err;
    }
    return applyModifier(name, this.lookup(name), modifier, word, colon);
  }
}

function applyModifier(name: string, value: string | undefined, modifier: string, word: string, colon: boolean): string {
  const unset = value === undefined || (colon && value === '');
  switch (modifier) {
    case '-':
      return unset ? word : value!;
    case '+':
      return unset ? '' : word;
    case '?':
      if (value === undefined) throw new Error(`${name}: ${word || 'is not allowed to be unset'}`);
      if (unset) throw new Error(`${name}: ${word || 'is not allowed to be empty'}`);
      return value;
    default:
      return trim(value ?? '', modifier, word);
  }
}

/** A shell pattern (`*`, `?`, `\` escapes) as a regular expression source. */
function patternSource(pattern: string, greedy: boolean): string {
  let out = '';
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i]!;
    if (c === '*') out += greedy ? '.*' : '.*?';
    else if (c === '?') out += '.';
    else if (c === '\\' && i + 1 < pattern.length) out += escapeRegex(pattern[++i]!);
    else out += escapeRegex(c);
  }
  return out;
}

const escapeRegex = (s: string) => s.replace(/[\\^$.*+?()[\]{}|/]/g, '\\$&');

/** ${VAR#p} / ${VAR##p} remove the shortest / longest matching prefix; % and %% a suffix. */
function trim(value: string, op: string, word: string): string {
  const longest = word.startsWith(op);
  const pattern = longest ? word.slice(1) : word;
  if (op === '#') {
    const m = new RegExp(`^${patternSource(pattern, longest)}`, 's').exec(value);
    return m ? value.slice(m[0].length) : value;
  }
  // A suffix: try every start position, from the right for the shortest match.
  const re = new RegExp(`^(?:${patternSource(pattern, true)})$`, 's');
  const starts = [...Array(value.length + 1).keys()];
  for (const at of longest ? starts : starts.reverse()) {
    if (re.test(value.slice(at))) return value.slice(0, at);
  }
  return value;
}

/** Expand `s` as docker's builder does; throws Error with docker's message on bad syntax. */
export function expand(s: string, lookup: Lookup, escape = '\\'): Expanded {
  return new Scanner(s, lookup, escape).scan();
}

/** A lookup over KEY=VALUE strings (later entries win). */
export function envLookup(env: readonly string[]): Lookup {
  const m = new Map<string, string>();
  for (const e of env) {
    const eq = e.indexOf('=');
    if (eq < 0) m.set(e, '');
    else m.set(e.slice(0, eq), e.slice(eq + 1));
  }
  return (name) => m.get(name);
}
