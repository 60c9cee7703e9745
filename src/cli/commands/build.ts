import { collect, type Register } from '../register.js';

export const registerBuildCommands: Register = (_program, action, define) => {
  define(['build', 'image build'], (c) => c.description('Build an image from a Dockerfile')
    .argument('<context>', 'the build context directory')
    .option('-t, --tag <name:tag>', 'name and optionally a tag (repeatable)', collect, [])
    .option('-f, --file <file>', 'the Dockerfile (default CONTEXT/Dockerfile; - for stdin)')
    .option('--build-arg <key=value>', 'set a build-time variable (repeatable)', collect, [])
    .option('--target <stage>', 'build up to this stage')
    .option('--no-cache', 'do not use the build cache')
    .option('-q, --quiet', 'print only the image ID (RUN output only when a step fails)')
    .option('--progress <type>', 'plain or tty (the same lines; tty is accepted for docker compatibility)', 'plain')
    .action(action(() => import('../actions/build.js'), 'runBuild')));
};
