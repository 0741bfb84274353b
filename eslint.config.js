// ESLint, flat config: typescript-eslint's type-aware recommended rules over the whole tree
// (src, test, bench, scripts, examples; types from tsconfig.eslint.json). Formatting is Prettier's
// (.prettierrc.json); `npm run lint` runs both checks. Every rule turned off is listed here with why.
import js from '@eslint/js';
import globals from 'globals';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['dist/', 'node_modules/', 'test-artifacts/', '**/*.d.ts'] },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      globals: { ...globals.node },
      parserOptions: { project: './tsconfig.eslint.json', tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      // `_`-prefixed names are deliberately unused (destructuring a field away, a required parameter).
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none', ignoreRestSiblings: true }],
      // `async` without `await` is kept where a function implements a promise-returning contract:
      // a throw inside it must stay a rejection, not become a synchronous exception for the caller.
      '@typescript-eslint/require-await': 'off',
      // Open string parameters name their known values (`FlowIntent | string`, `RejectReason | string`) for the reader.
      '@typescript-eslint/no-redundant-type-constituents': 'off',
      // Rejections pass a caught value or an AbortSignal's reason on unchanged (the caller's own error object).
      '@typescript-eslint/prefer-promise-reject-errors': 'off',
      // String(x) of an unknown value in an error message is deliberate: any value must be printable there.
      '@typescript-eslint/no-base-to-string': 'off',
      // An empty `catch {}` says "best effort, nothing to do" (cleanup, optional reads); other empty blocks stay errors.
      'no-empty': ['error', { allowEmptyCatch: true }],
    },
  },
  {
    files: ['test/**/*.ts', 'bench/**/*.ts'],
    rules: {
      // node:test's test()/describe() return promises the runner itself awaits; awaiting them would serialise nothing.
      '@typescript-eslint/no-floating-promises': 'off',
      // Tests and benchmarks read untyped JSON replies (`as any`) to assert on the wire as it is, including wrong shapes.
      '@typescript-eslint/no-explicit-any': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/no-unsafe-return': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
      // Tests pick methods off objects to pass or compare them (store.method, assert.x); none depends on `this`.
      '@typescript-eslint/unbound-method': 'off',
      // Failure messages interpolate arrays as they print.
      '@typescript-eslint/restrict-template-expressions': 'off',
      // node:http servers in tests take async request handlers; a rejection fails the test through its assertions.
      '@typescript-eslint/no-misused-promises': ['error', { checksVoidReturn: false }],
    },
  },
  { files: ['**/*.js', '**/*.mjs'], ...tseslint.configs.disableTypeChecked },
);
