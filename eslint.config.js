// Only the import boundaries of DESIGN.md's Layout; no style rules.
import tsParser from '@typescript-eslint/parser';

/**
 * What each directory of src/ may import from the others (itself always).
 * service/ may use fuse/: it supervises the mount server processes it starts (worker, supervisor).
 * cli/ may import anything: it is the top.
 */
const ALLOWED = {
  'store': [],
  'union': ['store'],
  'fuse': ['store', 'native-binary'],
  'image': ['store', 'union'],
  'registry': ['image', 'store', 'union'],
  'container': ['fuse', 'image', 'store', 'union'],
  'run': ['container', 'image', 'registry', 'store', 'native-binary'],
  'build': ['container', 'image', 'run', 'store', 'union', 'registry'],
  'service': ['container', 'fuse', 'image', 'run', 'store', 'union', 'registry'],
};
const MODULES = [...Object.keys(ALLOWED), 'cli', 'native-binary'];

/** Why `dir` must not import `target`: a cycle if `target` depends on `dir`, else the layering. */
function why(dir, target) {
  if (ALLOWED[target]?.includes(dir)) return `${target} depends on ${dir}`;
  if (target === 'cli') return 'nothing imports cli/, the top layer';
  if (target === 'fuse') return 'fuse/ is used through container/ (and by service/, which supervises mount servers)';
  const may = ALLOWED[dir].length ? `only ${ALLOWED[dir].join(', ')}` : 'no other directory';
  return `${dir}/ may import ${may} (DESIGN.md, Layout)`;
}

// A pattern matches by name at any depth ('../../fuse/' from src/cli/commands/), so a subdirectory
// named like a top-level one (src/image/container/) would be refused too; there is none.
const boundaries = Object.entries(ALLOWED).map(([dir, allowed]) => ({
  files: [`src/${dir}/**/*.ts`],
  rules: {
    'no-restricted-imports': ['error', {
      patterns: MODULES.filter((m) => m !== dir && !allowed.includes(m)).map((target) => ({
        regex: target === 'native-binary' ? '^(\\.\\./)+native-binary(\\.js)?$' : `^(\\.\\./)+${target}/`,
        message: `${dir}/ must not import ${target === 'native-binary' ? 'native-binary.ts' : `${target}/`}: ${why(dir, target)}.`,
      })),
    }],
  },
}));

export default [
  { files: ['src/**/*.ts'], languageOptions: { parser: tsParser } },
  ...boundaries,
];
