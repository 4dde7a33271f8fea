// ESLint with typescript-eslint's type-aware rules, run by `npm run lint` (and so by CI). Layout is Prettier's job
// (.prettierrc.json, checked by the same script); nothing here is about formatting. Rules switched off or
// narrowed say why, next to the rule.
import js from '@eslint/js';
import globals from 'globals';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  {
    ignores: [
      '**/dist/**',
      '**/node_modules/**',
      'lab/bench/results/**',
      'lab/bench/.anchor/**',
      'oclif.manifest.json',
      'coverage/**',
    ],
  },
  js.configs.recommended,
  tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      globals: globals.node,
      // One program over sources, tests, lab and benches (tsconfig.eslint.json), so rules see real types.
      parserOptions: { project: './tsconfig.eslint.json', tsconfigRootDir: import.meta.dirname },
    },
    linterOptions: { reportUnusedDisableDirectives: 'error' },
    rules: {
      // Unused code is an error; a leading underscore marks a binding kept on purpose (a destructured field left
      // out of a rest copy, a positional parameter an interface requires).
      '@typescript-eslint/no-unused-vars': [
        'error',
        {
          argsIgnorePattern: '^_',
          varsIgnorePattern: '^_',
          caughtErrorsIgnorePattern: '^_',
          destructuredArrayIgnorePattern: '^_',
          ignoreRestSiblings: true,
        },
      ],
      // A variable a closure reads before the one assignment (a subscription whose handler acks through it) stays let.
      'prefer-const': ['error', { ignoreReadBeforeAssign: true }],
      // Prefix and Secret print themselves on purpose (canonical prefix text; "[REDACTED]").
      '@typescript-eslint/restrict-template-expressions': [
        'error',
        {
          allow: [
            { from: 'lib', name: ['Error', 'URL', 'URLSearchParams'] },
            { from: 'file', name: ['Prefix', 'Secret'] },
          ],
        },
      ],
      // Off: action and detector methods implement async interfaces; an `async` method without `await` turns a
      // synchronous throw into a rejected promise, which callers rely on. Dropping `async` would change that.
      '@typescript-eslint/require-await': 'off',
      // Passing on what a catch received, unchanged, is allowed (it is whatever was thrown).
      '@typescript-eslint/prefer-promise-reject-errors': ['error', { allowThrowingUnknown: true }],
      // Off: it reports the initial value of variables that a try block or a closure reassigns before any read on
      // the normal path, and that finally blocks and error paths read; those initial values are deliberate.
      'no-useless-assignment': 'off',
      // Off: its findings here are functions taken from module namespaces (`const { join } = await
      // import('node:path')`) and from plain objects of closures; @types/node declares those as interface methods,
      // so the rule cannot tell them from class methods that need `this`.
      '@typescript-eslint/unbound-method': 'off',
    },
  },
  {
    // Tests and benchmarks read JSON the CLI printed and bodies fakes received (`any` from JSON.parse) and check
    // them with assertions at run time; typing every such value would add casts, not safety. Sources get all of it.
    files: ['test/**/*.ts', '**/test/**/*.ts', '**/*.test.ts', 'lab/bench/**/*.ts'],
    rules: {
      '@typescript-eslint/no-explicit-any': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
      '@typescript-eslint/no-unsafe-return': 'off',
      '@typescript-eslint/no-base-to-string': 'off',
      '@typescript-eslint/restrict-template-expressions': 'off',
    },
  },
  {
    files: ['**/*.js', '**/*.mjs', '**/*.cjs'],
    extends: [tseslint.configs.disableTypeChecked],
  },
  {
    files: ['**/*.cjs'],
    languageOptions: { sourceType: 'commonjs' },
  },
);
