#!/usr/bin/env node
/**
 * `npx pergunta <command> [options]`: the project's commands, run from the compiled dist/ (built
 * first when missing or stale, with one line on stderr). stdout carries only the command's own
 * output, so `npx pergunta ask --json "…" | jq` is clean (unlike `npm run`, which prints its
 * "> pergunta ask" banner on stdout unless run with -s).
 *
 * Each command parses its own options (src/cli/harness.ts); this file only picks the entry point.
 */
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { ensureBuilt, ROOT } from '../scripts/build.mjs';

const COMMANDS = {
  ask: ['src/cli/ask.js', 'answer a question from the indexed lectures'],
  ingest: ['src/cli/ingest.js', 'build or update the index from a course folder'],
  export: ['src/cli/export.js', 'export answered questions (jsonl, csv, md)'],
  report: ['src/cli/report.js', 'write the staff report (one HTML file with charts)'],
  digest: ['adapters/slack/digest/command.js', "post the weekly digest to the TAs' Slack channel"],
  evaluate: ['src/cli/evaluate.js', 'judge the recorded answers with the LLM judge'],
  'eval:retrieval': ['src/cli/evalRetrieval.js', 'retrieval quality on labelled questions'],
  'eval:answers': ['src/cli/evalAnswers.js', 'answer quality on labelled questions (not found, links, judge)'],
  'eval:verified': ['src/cli/evalVerified.js', 'calibrate the verified-answer thresholds on labelled question pairs'],
  start: ['adapters/main.js', 'run the chat adapters whose credentials are set (the bot)'],
  'discord:register': ['adapters/discord/register.js', 'register /pergunta with Discord'],
};

function usage() {
  const width = Math.max(...Object.keys(COMMANDS).map((c) => c.length));
  const lines = Object.entries(COMMANDS).map(([name, [, what]]) => `  ${name.padEnd(width)}  ${what}`);
  return `Usage: pergunta <command> [options]\n\nCommands:\n${lines.join('\n')}\n\n'pergunta <command> --help' describes a command's options.\n`;
}

const [command, ...args] = process.argv.slice(2);
if (command === undefined || command === '--help' || command === '-h' || command === 'help') {
  (command === undefined ? process.stderr : process.stdout).write(usage());
  process.exit(command === undefined ? 2 : 0);
}
const entry = Object.hasOwn(COMMANDS, command) ? COMMANDS[command][0] : undefined;
if (!entry) {
  process.stderr.write(`pergunta: unknown command '${command}'\n\n${usage()}`);
  process.exit(2);
}

try {
  ensureBuilt();
} catch (err) {
  process.stderr.write(`pergunta: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
}
const file = path.join(ROOT, 'dist', entry);
// The command sees itself as the entry point, with only its own arguments.
process.argv = [process.argv[0], file, ...args];
await import(pathToFileURL(file).href);
