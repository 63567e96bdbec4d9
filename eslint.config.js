// Lint: typescript-eslint with type information (no floating promises), and the import boundaries
// of DESIGN.md expressed as no-restricted-imports per folder.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

const restrict = (patterns) => ({ 'no-restricted-imports': ['error', { patterns }] });

export default tseslint.config(
  { ignores: ['dist/', 'node_modules/', 'native/build/', 'coverage/', 'scripts/stubs/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ['**/*.ts', '**/*.tsx'],
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': ['error', { checksVoidReturn: { arguments: false, attributes: false } }],
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': 'error',
      'no-throw-literal': 'error',
    },
  },
  {
    // The TUI talks to bentod only: the API client, the console pane engine and shared types.
    files: ['src/ui/**'],
    rules: restrict([
      { group: ['node:fs', 'node:fs/*', 'fs', 'node:child_process', 'child_process'], message: 'src/ui never touches files or processes: go through the API client.' },
      {
        regex: '^\\.\\./(\\.\\./)*vm/(?!types\\.js$|errors\\.js$|size\\.js$|actions\\.js$|host-name\\.js$)',
        message: 'src/ui may import only vm/types, vm/errors, vm/size, vm/actions and vm/host-name (pure) from the engine.',
      },
    ]),
  },
  {
    files: ['src/vm/**'],
    ignores: ['src/vm/drivers/vz/**'],
    rules: restrict([
      { group: ['react', 'react/*', 'ink', 'ink-*'], message: 'The engine never imports the UI toolkit.' },
      { regex: '^\\.\\./(\\.\\./)*(ui|api|cli)/', message: 'src/vm does not depend on the daemon, the CLI or the UI.' },
      { regex: 'native/vz', message: 'Only src/vm/drivers/vz loads the vz part of the addon.' },
    ]),
  },
  {
    files: ['src/api/**'],
    rules: restrict([
      { group: ['react', 'react/*', 'ink', 'ink-*'], message: 'bentod never imports the UI toolkit.' },
      { regex: '^\\.\\./(\\.\\./)*(ui|cli)/', message: 'src/api does not depend on the UI or the CLI.' },
    ]),
  },
  {
    files: ['src/console/**'],
    rules: restrict([
      { group: ['react', 'react/*', 'ink', 'ink-*'], message: 'The console engine is UI-toolkit free.' },
      { regex: '^\\.\\./(\\.\\./)*(ui|cli|vm/(?!errors\\.js$|types\\.js$))', message: 'src/console depends only on shared types and errors.' },
    ]),
  },
);
