import js from '@eslint/js';
import tseslint from 'typescript-eslint';

/**
 * The layering (docs/architecture.md): shared/ is the library and imports none of its users; the worker agent
 * talks to the service over HTTP and SQS only; the functions are deployed alone, without the local stack or the
 * agent. Each entry forbids imports (type imports included) whose path names one of `folders`.
 */
function layer(files, folders, why) {
  return {
    files,
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              regex: `(^|/)(${folders.join('|')})/`,
              message: `${files[0].split('/')[0]}/ never imports ${folders.map((f) => `${f}/`).join(', ')}: ${why}`,
            },
          ],
        },
      ],
    },
  };
}

export default tseslint.config(
  { ignores: ['node_modules/', 'dist/', '.serverless/', '.esbuild/', 'bench/results/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'no-console': 'off',
    },
  },
  layer(
    ['shared/**/*.ts'],
    ['functions', 'local', 'worker', 'cli'],
    'it is the library they all use (what they share belongs in shared/)',
  ),
  layer(['worker/**/*.ts'], ['functions', 'local'], 'the agent reaches the service over HTTP and SQS only'),
  layer(
    ['functions/**/*.ts'],
    ['local', 'worker'],
    'a function is deployed without the local stack or the agent',
  ),
  {
    files: ['**/*.js', '**/*.mjs'],
    languageOptions: { globals: { process: 'readonly', console: 'readonly', URL: 'readonly' } },
  },
);
