import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import globals from 'globals';

export default tseslint.config(
  {
    ignores: [
      '**/node_modules/**',
      '**/dist/**',
      '**/dev-dist/**',
      '.outpost/**',
      'coverage/**',
      '.screenshots/**',
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { globals: { ...globals.node } },
    rules: {
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/consistent-type-imports': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'no-restricted-exports': ['error', { restrictDefaultExports: { direct: true } }],
    },
  },
  {
    // the clinic app runs in the browser
    files: ['apps/clinic/src/**'],
    languageOptions: { globals: { ...globals.browser } },
  },
  {
    // the clinic app's service worker
    files: ['apps/clinic/src/worker/**'],
    languageOptions: { globals: { ...globals.serviceworker } },
  },
  {
    // config files are loaded by their tools through a default export
    files: ['**/*.config.ts', '**/*.config.js'],
    rules: { 'no-restricted-exports': 'off' },
  },
);
