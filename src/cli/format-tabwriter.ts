/**
 * Go's text/tabwriter (elastic tabstops) as docker configures it for tables:
 * NewWriter(out, minwidth 10, tabwidth 1, padding 3, ' ', 0). A cell is text
 * ended by a tab; the text after a line's last tab is not part of a column.
 * A column block is a run of consecutive lines that have a cell in it, and
 * each block is as wide as its widest cell plus padding, at least minwidth.
 */

export interface TabwriterOptions { minWidth: number; padding: number }

export const DOCKER_TABLE: TabwriterOptions = { minWidth: 10, padding: 3 };

interface Cell { text: string; width: number }

/** Display width: East Asian wide and fullwidth characters take two columns (as go-runewidth counts). */
export function displayWidth(s: string): number {
  let w = 0;
  for (const ch of s) {
    const c = ch.codePointAt(0)!;
    if (c < 0x20 || (c >= 0x7f && c < 0xa0) || (c >= 0x300 && c < 0x370) || c === 0x200b) continue;
    w += /[\u1100-\u115f\u2e80-\u303e\u3041-\u33ff\u3400-\u4dbf\u4e00-\u9fff\ua000-\ua4cf\uac00-\ud7a3\uf900-\ufaff\ufe30-\ufe4f\uff00-\uff60\uffe0-\uffe6]|[\u{1f300}-\u{1f64f}\u{1f900}-\u{1f9ff}\u{20000}-\u{3fffd}]/u.test(ch) ? 2 : 1;
  }
  return w;
}

/** Align the tab-separated `text` (all of it: the writer is flushed at the end). */
export function tabwrite(text: string, opts: TabwriterOptions = DOCKER_TABLE): string {
  const body = text.endsWith('\n') ? text.slice(0, -1) : text;
  const lines: Cell[][] = body.split('\n').map((l) => l.split('\t').map((t) => ({ text: t, width: displayWidth(t) })));
  const widths: number[] = [];
  let out = '';

  const writeLines = (from: number, to: number) => {
    for (let i = from; i < to; i++) {
      const line = lines[i]!;
      line.forEach((c, j) => {
        out += c.text;
        if (j < line.length - 1) out += ' '.repeat(Math.max(0, (widths[j] ?? 0) - c.width));
      });
      out += '\n';
    }
  };

  // Go's Writer.format: find the block of lines that share the next column, size it, recurse for the columns to its right.
  const format = (line0: number, line1: number) => {
    const column = widths.length;
    for (let i = line0; i < line1; i++) {
      if (column >= lines[i]!.length - 1) continue;
      writeLines(line0, i);
      line0 = i;
      let width = opts.minWidth;
      for (; i < line1 && column < lines[i]!.length - 1; i++) width = Math.max(width, lines[i]![column]!.width + opts.padding);
      widths.push(width);
      format(line0, i);
      widths.pop();
      line0 = i;
      i--;
    }
    writeLines(line0, line1);
  };
  format(0, lines.length);
  return text.endsWith('\n') ? out : out.slice(0, -1);
}
