// ESLint flat config: typescript-eslint's type-aware recommended rules on every TypeScript file, with
// the promise rules that catch lost errors in async training code as errors. Formatting is Prettier's
// job (.prettierrc.json); nothing here overlaps with it.
import js from '@eslint/js';
import globals from 'globals';
import tseslint from 'typescript-eslint';

// Layering: a package imports only packages of lower layers (tests included), and a paper package
// never imports another paper package. Shared layers, lowest first; every other package is a paper.
const LAYERS = [['runtime'], ['datasets', 'core-metrics'], ['models'], ['experiments']];
const PAPERS = ['pnn-perturb', 'pdc-diverge', 'cka-maskfeat', 'dt-tradeoff-ctc'];
const ALL = [...LAYERS.flat(), ...PAPERS];
const layerOf = (pkg) => {
  const i = LAYERS.findIndex((l) => l.includes(pkg));
  return i < 0 ? LAYERS.length : i;
};
const layering = ALL.map((pkg) => {
  const forbidden = ALL.filter((other) => other !== pkg && layerOf(other) >= layerOf(pkg));
  return {
    files: [`packages/${pkg}/**/*.ts`],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: forbidden.flatMap((o) => [`@repro/${o}`, `@repro/${o}/*`, `**/${o}/src`, `**/${o}/src/*`]),
              message: `layering: ${pkg} (${PAPERS.includes(pkg) ? 'a paper package' : `layer ${layerOf(pkg)}`}) may import only ${
                PAPERS.includes(pkg) ? 'the shared packages' : 'packages of lower layers'
              } (${LAYERS.map((l) => l.join(' | ')).join(' < ')} < paper packages; no paper imports another).`,
            },
          ],
        },
      ],
    },
  };
});

export default tseslint.config(
  {
    ignores: [
      '**/dist/**',
      '**/node_modules/**',
      '**/native/build/**',
      'results/**',
      '.nx/**',
      'tmp/**',
      'docs/api/**',
    ],
  },
  {
    files: ['**/*.ts'],
    extends: [js.configs.recommended, ...tseslint.configs.recommendedTypeChecked],
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/await-thenable': 'error',
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none' },
      ],
    },
  },
  ...layering,
  {
    files: ['**/*.js', '**/*.mjs'],
    extends: [js.configs.recommended],
    languageOptions: { globals: { ...globals.node }, sourceType: 'commonjs' },
  },
  {
    files: ['**/*.mjs'],
    languageOptions: { sourceType: 'module' },
  },
);
