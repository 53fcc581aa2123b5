import js from '@eslint/js';
import tseslint from 'typescript-eslint';

/**
 * Module boundaries (README "Chat adapters"; test/unit/boundaries.test.ts proves them):
 * - the core (`src/`) never imports a chat platform's library or anything under `adapters/`;
 * - an adapter imports the core only through its one entry, `src/bot/index.ts`, and never
 *   another adapter (nor that adapter's platform library);
 * - retrieval (`src/retrieval/`) does not import the answer layer (`src/answer/`) built on it.
 * `adapters/main.ts` is the composition root (it builds the core, like the CLIs in src/cli/),
 * so only the adapters' own folders are held to the entry.
 * Each rule is a regular expression over the import specifier; it applies to static imports
 * (`no-restricted-imports`) and to `import('…')` with a literal specifier (`no-restricted-syntax`).
 */
const FORBIDDEN = {
  discordLibraries: {
    regex: String.raw`^(discord\.js|@discordjs/[^/]+)(/.*)?$`,
    message: 'Only adapters/discord/ may use discord.js: the core stays platform-neutral.',
  },
  slackLibraries: {
    regex: String.raw`^@slack/`,
    message: 'Only adapters/slack/ may use @slack/*: the core stays platform-neutral.',
  },
  adapters: {
    regex: String.raw`^(\.\./)+adapters(/|$)`,
    message: 'The core never imports an adapter: put logic both adapters need in src/bot/.',
  },
  coreBeyondEntry: {
    regex: String.raw`^(\.\./)+src/(?!bot/index\.js$)`,
    message: 'Adapters import the core only through src/bot/index.js: export what is needed there.',
  },
  discordAdapter: {
    regex: String.raw`^(\.\./)+(adapters/)?discord(/|$)`,
    message: 'The Slack adapter never imports the Discord adapter: share code through src/bot/.',
  },
  answerLayer: {
    regex: String.raw`^(\.\./)+answer(/|$)`,
    message: 'Retrieval does not depend on answers: shared helpers belong lower (e.g. src/course/links.ts).',
  },
  slackAdapter: {
    regex: String.raw`^(\.\./)+(adapters/)?slack(/|$)`,
    message: 'The Discord adapter never imports the Slack adapter: share code through src/bot/.',
  },
};

/** A config object that forbids, in `files`, imports whose specifier matches one of `rules`. */
function boundary(files, rules) {
  return {
    files,
    rules: {
      'no-restricted-imports': ['error', { patterns: rules.map(({ regex, message }) => ({ regex, message })) }],
      'no-restricted-syntax': [
        'error',
        // esquery ends a regex literal at the first `/`, so the slashes are written `\x2F`.
        ...rules.map(({ regex, message }) => ({ selector: `ImportExpression[source.value=/${regex.replaceAll('/', '\\x2F')}/]`, message })),
      ],
    },
  };
}

export default tseslint.config(
  { ignores: ['node_modules/', 'dist/', 'index/', 'data/', 'coverage/', '.cache/', 'models/', '.tmp/', 'bench/results/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'no-console': ['error', { allow: ['error', 'warn'] }],
    },
  },
  {
    files: ['test/**', 'bench/**', 'scripts/**'],
    rules: { 'no-console': 'off' },
  },
  boundary(['src/**'], [FORBIDDEN.discordLibraries, FORBIDDEN.slackLibraries, FORBIDDEN.adapters]),
  // Later objects replace the rule's options for their files, so this one repeats src/**'s.
  boundary(['src/retrieval/**'], [FORBIDDEN.discordLibraries, FORBIDDEN.slackLibraries, FORBIDDEN.adapters, FORBIDDEN.answerLayer]),
  boundary(['adapters/discord/**'], [FORBIDDEN.coreBeyondEntry, FORBIDDEN.slackAdapter, FORBIDDEN.slackLibraries]),
  boundary(['adapters/slack/**'], [FORBIDDEN.coreBeyondEntry, FORBIDDEN.discordAdapter, FORBIDDEN.discordLibraries]),
  {
    // Plain JavaScript that runs before anything is compiled (the bin, the build script).
    files: ['bin/**/*.js', 'scripts/**/*.mjs'],
    languageOptions: { globals: { process: 'readonly', console: 'readonly' } },
  },
);
