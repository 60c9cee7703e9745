// Go text/template semantics of --format, checked against what Go's text/template
// and docker's template functions (docker/cli templates/templates.go) produce.
import { describe, expect, it } from 'vitest';
import { sprintf } from '../../src/cli/format-printf.js';
import { tabwrite } from '../../src/cli/format-tabwriter.js';
import { GoTemplate } from '../../src/cli/format-template.js';
import { asStruct, TemplateError } from '../../src/cli/format-values.js';
import { renderRows } from '../../src/cli/format-write.js';

const data = () => asStruct({
  ID: 'abc', Tag: 'latest', Size: 1234567, Zero: 0, Flag: true, Half: 1.5, Nil: null,
  List: ['x', 'y'], Empty: [], Labels: { b: '2', a: '1', 'com.x': 'y' }, NoLabels: {},
  Config: { Env: ['A=1', 'B=2'], Cmd: ['sh'] }, Nums: [1, 2, 3],
  Label: (k: unknown) => ({ a: '1' } as Record<string, string>)[String(k)] ?? '',
}, 'image');
const run = (t: string) => new GoTemplate(t).execute(data());

describe('Go template execution', () => {
  it.each([
    ['fields and text', '{{.ID}}:{{.Tag}}', 'abc:latest'],
    ['nested map fields', '{{.Config.Cmd}} {{.Labels.a}}', '[sh] 1'],
    ['a missing map key prints <no value>', '{{.Labels.nope}}', '<no value>'],
    ['maps print sorted, as fmt does', '{{.Labels}} {{.NoLabels}}', 'map[a:1 b:2 com.x:y] map[]'],
    ['nil, bools, ints and floats as fmt prints them', '{{.Nil}} {{.Flag}} {{.Size}} {{.Half}}', '<nil> true 1234567 1.5'],
    ['trim markers', '{{- .ID -}}  \n {{ .Tag }}', 'abclatest'],
    ['comments', 'a{{/* gone */}}b', 'ab'],
    ['if / else if / else', '{{if eq .Tag "x"}}1{{else if .Flag}}2{{else}}3{{end}}', '2'],
    ['empty slices and maps are false', '{{if .Empty}}y{{else}}n{{end}}{{if .NoLabels}}y{{else}}n{{end}}{{if .Zero}}y{{else}}n{{end}}', 'nnn'],
    ['a struct is true', '{{if .}}y{{end}}', 'y'],
    ['with rebinds dot', '{{with .Config}}{{.Env}}{{end}}{{with .Empty}}x{{else}}none{{end}}', '[A=1 B=2]none'],
    ['range over a slice, with $ for the root', '{{range .List}}{{.}}{{$.Tag}};{{end}}', 'xlatest;ylatest;'],
    ['range with index and element', '{{range $i, $e := .List}}{{$i}}={{$e}} {{end}}', '0=x 1=y '],
    ['range over a map in key order', '{{range $k, $v := .Labels}}{{$k}}={{$v}},{{end}}', 'a=1,b=2,com.x=y,'],
    ['range else on an empty slice', '{{range .Empty}}x{{else}}empty{{end}}', 'empty'],
    ['break and continue', '{{range .Nums}}{{if eq . 2}}{{continue}}{{end}}{{if eq . 3}}{{break}}{{end}}{{.}}{{end}}', '1'],
    ['variables and assignment', '{{$x := .ID}}{{$x = "new"}}{{$x}}', 'new'],
    ['pipelines pass the value last', '{{.ID | printf "%s-%s" "pre"}}', 'pre-abc'],
    ['parenthesised pipelines', '{{printf "%d" (len .List)}}', '2'],
    ['and/or return an operand', '{{and .Flag .ID}} {{or .Zero "" "z"}} {{and .Zero .ID}}', 'abc z 0'],
    ['not', '{{not .Zero}} {{not .ID}}', 'true false'],
    ['comparisons', '{{lt 1 2}} {{le 2 2}} {{gt .Size 100}} {{ge "a" "b"}} {{ne .Tag "x"}} {{eq .Tag "a" "latest"}}', 'true true true false true true'],
    ['index into maps and slices', '{{index .Labels "com.x"}}|{{index .List 1}}|{{index .Labels "missing"}}|', 'y|y||'],
    ['slice and len', '{{slice .List 1}} {{slice .ID 0 2}} {{len .ID}} {{len .Labels}}', '[y] ab 3 3'],
    ['print and println', '{{print 1 2 "a" 3}}|{{println .ID 1}}', '1 2a3|abc 1\n'],
    ['html, js and urlquery', '{{html "<a&b>"}} {{js "it\'s"}} {{urlquery "a b&c"}}', "&lt;a&amp;b&gt; it\\'s a+b%26c"],
    ['a method with an argument', '{{.Label "a"}}{{.Label "zz"}}', '1'],
    ['define and template', '{{define "T"}}[{{.}}]{{end}}{{template "T" .ID}}', '[abc]'],
    ['template with a variable argument; $ is its argument inside', '{{define "T"}}{{$}}{{end}}{{$x := .Tag}}{{template "T" $x}}', 'latest'],
    ['range over an integer', '{{range 3}}{{.}}{{end}}', '012'],
  ])('%s', (_name, tmpl, want) => expect(run(tmpl)).toBe(want));

  it.each([
    ['json keeps insertion order and does not escape HTML', '{{json .Config}} {{json "<x>"}}', '{"Env":["A=1","B=2"],"Cmd":["sh"]} "<x>"'],
    ['join (slices, and map values sorted)', '{{join .Config.Env ","}} {{join .Labels "+"}} {{join .Nums "-"}}', 'A=1,B=2 1+2+y 1-2-3'],
    ['split', '{{split "a:b:c" ":"}} {{index (split "k=v" "=") 1}}', '[a b c] v'],
    ['upper, lower, title', '{{upper .ID}} {{lower "AbC"}} {{title "hello wide-world"}}', 'ABC abc Hello Wide-World'],
    ['pad adds spaces around non-empty text only', '[{{pad .ID 1 2}}][{{pad "" 3 3}}]', '[ abc  ][]'],
    ['truncate', '{{truncate .Tag 3}} {{truncate .Tag 50}}', 'lat latest'],
  ])("docker's %s", (_name, tmpl, want) => expect(run(tmpl)).toBe(want));

  it.each([
    ['an unknown struct field', '{{.Nope}}', /^template: :1:2: executing "" at <\.Nope>: can't evaluate field Nope in type image$/],
    ['a field of a string', '{{.ID.Foo}}', /can't evaluate field Foo in type string/],
    ['an unclosed action', '{{.ID', /^template: :1: unclosed action$/],
    ['an unknown function', '{{nope .ID}}', /^template: :1: function "nope" not defined$/],
    ['a string function on a number', '{{upper .Size}}', /wrong type for value; expected string; got int/],
    ['join on a string', '{{join .ID ","}}', /expected slice, got string/],
    ['comparing a number with a string', '{{eq .Size "1"}}', /incompatible types for comparison/],
    ['an index out of range', '{{index .List 5}}', /index out of range: 5/],
    ['an undefined variable', '{{$nope}}', /undefined variable "\$nope"/],
  ])('rejects %s', (_name, tmpl, why) => {
    let err: unknown;
    try {
      run(tmpl);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(TemplateError);
    expect((err as Error).message).toMatch(why);
  });

  it('fails on a missing map key with missingkey=error (docker inspect)', () => {
    expect(() => new GoTemplate('{{.Labels.nope}}').execute(data(), { missingKey: 'error' })).toThrow(/map has no entry for key "nope"/);
  });
});

describe('printf', () => {
  it.each([
    ['%s|%5s|%-5s|%.2s', ['ab', 'ab', 'ab', 'abc'], 'ab|   ab|ab   |ab'],
    ['%d|%5d|%-5d|%05d|%+d|%x|%X|%o|%b|%#x', [42, 42, 42, 42, 42, 255, 255, 8, 5, 255], '42|   42|42   |00042|+42|ff|FF|10|101|0xff'],
    ['%.2f|%8.3f|%e|%g|%.3g', [3.14159, 2.5, 1234.5678, 0.000012, 1234.5678], '3.14|   2.500|1.234568e+03|1.2e-05|1.23e+03'],
    ['%q|%v|%t|%c|%%', ['a"b\n', ['x', 1], true, 65], '"a\\"b\\n"|[x 1]|true|A|%'],
    ['%d %s', ['x', 1], '%!d(string=x) %!s(int=1)'],
    ['%s %s', ['only'], 'only %!s(MISSING)'],
    ['%s', ['a', 'b'], 'a%!(EXTRA string=b)'],
    ['%*d|%-*d', [4, 7, 3, 7], '   7|7  '],
  ])('sprintf(%j)', (fmt, args, want) => expect(sprintf(fmt, ...args)).toBe(want));
});

describe('tabwriter and tables', () => {
  it("aligns columns as docker's tabwriter (minwidth 10, padding 3)", () => {
    // docker/cli cli/command/image/testdata/history-command-success.simple.golden
    const got = tabwrite('IMAGE\tCREATED\tCREATED BY\tSIZE\tCOMMENT\n123456789012\tLess than a second ago\t\t0B\tnone\n');
    expect(got).toBe([
      'IMAGE          CREATED                  CREATED BY   SIZE      COMMENT',
      '123456789012   Less than a second ago                0B        none',
      '',
    ].join('\n'));
  });

  it('sizes a column per block of consecutive lines that have it', () => {
    expect(tabwrite('a\tb\nlonger-than-ten\tc\nno tabs here\nx\ty\n')).toBe('a                 b\nlonger-than-ten   c\nno tabs here\nx         y\n');
  });

  it('renders a table header by running the template over the column names, with header functions', () => {
    const rows = [asStruct({ ID: 'abc', Names: 'n1' }, 'container', { row: true })];
    const listing = { headers: { ID: 'CONTAINER ID', Names: 'NAMES' }, table: 'table {{.ID}}' };
    expect(renderRows('table {{upper .Names}}\\t{{.ID}}', rows, listing)).toBe('NAMES     CONTAINER ID\nN1        abc');
    expect(renderRows('{{.ID}}:{{.Names}}', rows, listing)).toBe('abc:n1');
    expect(renderRows('table', rows, listing)).toBe('CONTAINER ID\nabc');
  });

  it("marshals a row as docker does: sorted keys, HTML escaped ('<none>' is \\u003cnone\\u003e)", () => {
    const rows = [asStruct({ Tag: '<none>', ID: 'abc', Fn: () => 1 }, 'image', { row: true })];
    expect(renderRows('json', rows, { headers: {}, table: '' })).toBe('{"ID":"abc","Tag":"\\u003cnone\\u003e"}');
  });
});
