// Parsing a Dockerfile into stages and steps (dockerfile-ast underneath), docker's parse-time
// checks with FILE:LINE errors, and the config changes of the metadata instructions.
import { describe, expect, it } from 'vitest';
import { parseDockerfile, type Step } from '../../src/build/dockerfile.js';
import { applyInstruction } from '../../src/image/instruction.js';
import { duration, keyValues, rawWords } from '../../src/image/instruction-args.js';
import { envLookup } from '../../src/image/shell-words.js';

const parse = (text: string) => parseDockerfile(text, 'ctx/Dockerfile');
const only = (text: string): Step => parse(`FROM x\n${text}`).stages[0]!.steps[0]!;
const vars = { lookup: envLookup(['A=1', 'V=two words']), escape: '\\' };

describe('Dockerfile parsing', () => {
  it('splits stages, keeps meta ARGs, joins continuation lines and drops comments inside them', () => {
    const df = parse([
      '# escape=\\', 'ARG BASE=busybox', 'FROM ${BASE} AS Build', 'RUN echo a \\', '# a comment inside', '    b',
      'run lower # not a comment', 'FROM scratch', 'COPY --from=build --chown=1:2 /a /b',
    ].join('\n'));
    expect(df.metaArgs.map((s) => s.args)).toEqual(['BASE=busybox']);
    expect(df.stages.map((s) => [s.name, s.from.args, s.from.line])).toEqual([['build', '${BASE} AS Build', 3], [undefined, 'scratch', 8]]);
    expect(df.stages[0]!.steps.map((s) => [s.keyword, s.args, s.line])).toEqual([
      ['RUN', 'echo a     b', 4], ['RUN', 'lower # not a comment', 7],
    ]);
    const copy = df.stages[1]!.steps[0]!;
    expect([...copy.flags]).toEqual([['from', 'build'], ['chown', '1:2']]);
    expect(copy.args).toBe('/a /b');
  });

  it('tells exec form from shell form, reads heredocs and the escape directive', () => {
    expect(only('CMD ["a", "b c"]').json).toEqual(['a', 'b c']);
    expect(only('CMD [not json').json).toBeUndefined();
    const run = only('RUN <<-EOT sh\n\techo one\n\techo two\n\tEOT');
    expect(run.heredocs).toEqual([{ name: 'EOT', body: 'echo one\necho two\n' }]);
    expect(parseDockerfile('# escape=`\nFROM x\nRUN a `\n  b', 'D').stages[0]!.steps[0]!.args).toBe('a   b');
  });

  it.each([
    ['FROM x\nFOO bar', 'ctx/Dockerfile:2: unknown instruction: FOO'],
    ['RUN x', 'ctx/Dockerfile:1: no build stage in current context: RUN before the first FROM'],
    ['FROM x\nENV', 'ctx/Dockerfile:2: ENV requires at least one argument'],
    ['FROM x\n\nSHELL /bin/bash -c', 'ctx/Dockerfile:3: SHELL requires the arguments to be in JSON form'],
    ['FROM x\nCOPY onlyone', 'ctx/Dockerfile:2: COPY requires at least two arguments'],
    ['FROM x\nCOPY --bogus=1 a b', 'ctx/Dockerfile:2: unknown flag: bogus'],
    ['FROM x AS a\nFROM y AS A', 'ctx/Dockerfile:2: duplicate stage name "a"'],
    ['FROM x AS 1bad', 'invalid name for build stage'],
    ['FROM x y', 'FROM requires either one or three arguments'],
    ['FROM x\nONBUILD ONBUILD RUN x', "Chaining ONBUILD via `ONBUILD ONBUILD` isn't allowed"],
    ['# just a comment\n', 'file with no instructions'],
  ])('rejects %j', (text, message) => expect(() => parse(text)).toThrow(message));
});

describe('metadata instructions', () => {
  const apply = (line: string, base = {}, cmdSet = false) => applyInstruction(only(line), base, vars, cmdSet);
  const kvs = (line: string) => keyValues(only(line).keyword, only(line).args, vars);

  it('splits words with quotes kept, for key=value pairs expanded one by one', () => {
    expect(rawWords('a="b c" d=\'e f\' g\\ h', '\\')).toEqual(['a="b c"', "d='e f'", 'g\\ h']);
    expect(kvs('ENV X="$A two" Y=${NOPE:-d}')).toEqual([['X', '1 two'], ['Y', 'd']]);
    expect(kvs('ENV LEGACY value with  spaces')).toEqual([['LEGACY', 'value with  spaces']]);
    expect(() => kvs('ENV =x')).toThrow('ENV names can not be blank');
  });

  it.each([
    ['ENV B=$A C="x y"', { Env: ['PATH=/bin', 'B=1', 'C=x y'] }, 'ENV B=1 C=x y'],
    ['LABEL "k 1"="v 1" k2=$A', { Labels: { keep: 'yes', 'k 1': 'v 1', k2: '1' } }, 'LABEL k 1=v 1 k2=1'],
    ['CMD echo "$A"', { Cmd: ['/bin/sh', '-c', 'echo "$A"'] }, 'CMD ["/bin/sh" "-c" "echo \\"$A\\""]'],
    ['ENTRYPOINT ["/init"]', { Entrypoint: ['/init'], Cmd: null }, 'ENTRYPOINT ["/init"]'],
    ['EXPOSE 80 53/udp 8000-8001', { ExposedPorts: { '80/tcp': {}, '53/udp': {}, '8000/tcp': {}, '8001/tcp': {} } }, 'EXPOSE 80 53/udp 8000-8001'],
    ['VOLUME /a $A', { Volumes: { '/a': {}, 1: {} } }, 'VOLUME [/a 1]'],
    ['USER ${A}:2', { User: '1:2' }, 'USER 1:2'],
    ['WORKDIR rel/$A', { WorkingDir: '/srv/rel/1' }, 'WORKDIR /srv/rel/1'],
    ['STOPSIGNAL SIGKILL', { StopSignal: 'SIGKILL' }, 'STOPSIGNAL SIGKILL'],
    ['SHELL ["/bin/bash", "-c"]', { Shell: ['/bin/bash', '-c'] }, 'SHELL [/bin/bash -c]'],
    ['ONBUILD run echo hi', { OnBuild: ['RUN echo hi'] }, 'ONBUILD RUN echo hi'],
    ['HEALTHCHECK --interval=1m30s --retries=2 CMD curl -f x', { Healthcheck: { Test: ['CMD-SHELL', 'curl -f x'], Interval: 90e9, Retries: 2 } },
      'HEALTHCHECK --interval=1m30s --retries=2 CMD curl -f x'],
  ])('%s', (line, change, comment) => {
    const base = { Env: ['PATH=/bin'], Cmd: ['sh'], WorkingDir: '/srv', Labels: { keep: 'yes' } };
    const r = apply(line, base);
    expect(r.config).toEqual({ ...base, ...change });
    expect(r.comment).toBe(comment);
  });

  it('lets ENTRYPOINT keep a CMD this stage set, and uses SHELL for shell forms', () => {
    expect(apply('ENTRYPOINT ["/init"]', { Cmd: ['x'] }, true).config.Cmd).toEqual(['x']);
    expect(apply('CMD run it', { Shell: ['/bin/bash', '-xc'] }).config.Cmd).toEqual(['/bin/bash', '-xc', 'run it']);
  });

  it('reads Go durations and refuses bad ones', () => {
    expect(duration('500ms', 'timeout')).toBe(5e8);
    expect(() => duration('5 s', 'timeout')).toThrow('invalid duration "5 s" for --timeout');
    expect(() => apply('HEALTHCHECK --retries=0 CMD x')).toThrow('--retries must be at least 1');
    expect(() => apply('USER a b')).toThrow('USER requires exactly one argument');
  });
});
