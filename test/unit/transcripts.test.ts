import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Cue } from '../../src/types.js';
import { TranscriptError } from '../../src/transcripts/errors.js';
import { parseSrt } from '../../src/transcripts/srt.js';
import { parseVtt } from '../../src/transcripts/vtt.js';
import { parseWhisperJson } from '../../src/transcripts/whisperJson.js';
import { parseTranscriptFile, parseTranscriptText } from '../../src/transcripts/parseTranscript.js';

const BOM = '\uFEFF';

/** Runs `fn`, expects a TranscriptError, and checks file, line, reason and the full message. */
function expectTranscriptError(fn: () => unknown, file: string, line: number | undefined, reason: string | RegExp): TranscriptError {
  let caught: unknown;
  try {
    fn();
  } catch (err) {
    caught = err;
  }
  expect(caught).toBeInstanceOf(TranscriptError);
  const err = caught as TranscriptError;
  expect(err.name).toBe('TranscriptError');
  expect(err.file).toBe(file);
  expect(err.line).toBe(line);
  if (typeof reason === 'string') expect(err.reason).toBe(reason);
  else expect(err.reason).toMatch(reason);
  expect(err.message).toBe(`${file}${line === undefined ? '' : `:${line}`}: ${err.reason}`);
  return err;
}

async function expectTranscriptErrorAsync(
  promise: Promise<unknown>,
  file: string,
  line: number | undefined,
  reason: string | RegExp,
): Promise<void> {
  const err: unknown = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expectTranscriptError(
    () => {
      throw err;
    },
    file,
    line,
    reason,
  );
}

describe('TranscriptError', () => {
  it('formats file:line: reason', () => {
    const err = new TranscriptError('transcripts/aula03.srt', 42, 'timestamp "00:01:xx,500" is not valid (expected HH:MM:SS,mmm)');
    expect(err).toBeInstanceOf(Error);
    expect(err.message).toBe('transcripts/aula03.srt:42: timestamp "00:01:xx,500" is not valid (expected HH:MM:SS,mmm)');
    expect(err.file).toBe('transcripts/aula03.srt');
    expect(err.line).toBe(42);
    expect(err.reason).toBe('timestamp "00:01:xx,500" is not valid (expected HH:MM:SS,mmm)');
  });

  it('omits the line when there is none', () => {
    const err = new TranscriptError('aula.srt', undefined, 'no cues found');
    expect(err.message).toBe('aula.srt: no cues found');
    expect(err.line).toBeUndefined();
  });
});

// ---------------------------------------------------------------------------------------------
// SRT

interface ParseCase {
  name: string;
  input: string;
  expected: Cue[];
}

const srtCases: ParseCase[] = [
  {
    name: 'a plain two-cue file',
    input: [
      '1',
      '00:00:01,000 --> 00:00:04,200',
      'Bom dia, pessoal, sejam bem-vindos à aula de hoje.',
      '',
      '2',
      '00:00:04,200 --> 00:00:07,850',
      'Hoje vamos falar sobre regressão linear.',
      '',
    ].join('\n'),
    expected: [
      { start: 1, end: 4.2, text: 'Bom dia, pessoal, sejam bem-vindos à aula de hoje.' },
      { start: 4.2, end: 7.85, text: 'Hoje vamos falar sobre regressão linear.' },
    ],
  },
  {
    name: 'UTF-8 BOM and CRLF line endings',
    input: `${BOM}1\r\n00:00:00,500 --> 00:00:02,000\r\nOlá, turma!\r\n\r\n2\r\n00:00:02,000 --> 00:00:03,000\r\nVamos começar.\r\n`,
    expected: [
      { start: 0.5, end: 2, text: 'Olá, turma!' },
      { start: 2, end: 3, text: 'Vamos começar.' },
    ],
  },
  {
    name: 'lone CR line endings (old Mac files)',
    input: '1\r00:00:00,500 --> 00:00:02,000\rPrimeira linha\rsegunda linha\r\r2\r00:00:02,000 --> 00:00:03,000\rFim.\r',
    expected: [
      { start: 0.5, end: 2, text: 'Primeira linha segunda linha' },
      { start: 2, end: 3, text: 'Fim.' },
    ],
  },
  {
    name: 'multi-line cues are joined with a space',
    input: '1\n00:00:10,000 --> 00:00:14,000\nO gradiente aponta para a direção\nde maior crescimento da função.\n',
    expected: [{ start: 10, end: 14, text: 'O gradiente aponta para a direção de maior crescimento da função.' }],
  },
  {
    name: 'markup is stripped: <i>, <b>, <u>, <font>, {\\an8}',
    input:
      '1\n00:00:01,000 --> 00:00:03,000\n{\\an8}<i>Atenção:</i> isso <b>cai</b> na <u>prova</u>\n<font color="#ffff00">P1</font>, ok?\n',
    expected: [{ start: 1, end: 3, text: 'Atenção: isso cai na prova P1, ok?' }],
  },
  {
    name: 'HTML entities are decoded',
    input: '1\n00:00:01,000 --> 00:00:03,000\nSe x &lt; 3 &amp; y &gt; 2,&nbsp;então a função&#39;s valor é &quot;zero&quot; &#x2014; certo?\n',
    expected: [{ start: 1, end: 3, text: 'Se x < 3 & y > 2, então a função\'s valor é "zero" — certo?' }],
  },
  {
    name: 'a bare < that is not a tag is kept',
    input: '1\n00:00:01,000 --> 00:00:03,000\nquando x < 3 e y > 2 a restrição vale\n',
    expected: [{ start: 1, end: 3, text: 'quando x < 3 e y > 2 a restrição vale' }],
  },
  {
    name: 'cue numbers are optional',
    input: '00:00:01,000 --> 00:00:02,000\nSem número aqui.\n\n00:00:02,000 --> 00:00:03,000\nNem aqui.\n',
    expected: [
      { start: 1, end: 2, text: 'Sem número aqui.' },
      { start: 2, end: 3, text: 'Nem aqui.' },
    ],
  },
  {
    name: 'non-sequential cue numbers are accepted',
    input: '7\n00:00:01,000 --> 00:00:02,000\nSete.\n\n3\n00:00:02,000 --> 00:00:03,000\nTrês.\n\n3\n00:00:03,000 --> 00:00:04,000\nTrês de novo.\n',
    expected: [
      { start: 1, end: 2, text: 'Sete.' },
      { start: 2, end: 3, text: 'Três.' },
      { start: 3, end: 4, text: 'Três de novo.' },
    ],
  },
  {
    name: 'dot milliseconds, 1–2 digit fractions, no fraction',
    input: [
      '1',
      '00:00:01.250 --> 00:00:02.5',
      'Ponto em vez de vírgula.',
      '',
      '2',
      '00:00:03,05 --> 00:00:04,7',
      'Frações curtas.',
      '',
      '3',
      '00:00:05 --> 00:00:06',
      'Sem fração.',
    ].join('\n'),
    expected: [
      { start: 1.25, end: 2.5, text: 'Ponto em vez de vírgula.' },
      { start: 3.05, end: 4.7, text: 'Frações curtas.' },
      { start: 5, end: 6, text: 'Sem fração.' },
    ],
  },
  {
    name: 'hour-less mm:ss,mmm, three-digit hours, up to 48 hours exactly',
    input:
      '1\n01:02,500 --> 59:59,999\nSem horas.\n\n2\n047:04:05,006 --> 047:04:06,000\nMaratona de aulas.\n\n' +
      '3\n47:59:59,000 --> 48:00:00,000\nFim da maratona.\n',
    expected: [
      { start: 62.5, end: 3599.999, text: 'Sem horas.' },
      { start: 47 * 3600 + 4 * 60 + 5.006, end: 47 * 3600 + 4 * 60 + 6, text: 'Maratona de aulas.' },
      { start: 48 * 3600 - 1, end: 48 * 3600, text: 'Fim da maratona.' },
    ],
  },
  {
    name: 'extra blank lines, trailing whitespace and no final newline',
    input: '\n\n\n1  \n00:00:01,000 --> 00:00:02,000   \nEspaços no fim.   \t\n\n\n\n\n2\n00:00:02,000-->00:00:03,000\n  Seta sem espaços.',
    expected: [
      { start: 1, end: 2, text: 'Espaços no fim.' },
      { start: 2, end: 3, text: 'Seta sem espaços.' },
    ],
  },
  {
    name: 'empty cues (or cues with only markup) are dropped',
    input: '1\n00:00:01,000 --> 00:00:02,000\n\n2\n00:00:02,000 --> 00:00:03,000\n<i> </i>&nbsp;\n\n3\n00:00:03,000 --> 00:00:04,000\nSó este fica.\n',
    expected: [{ start: 3, end: 4, text: 'Só este fica.' }],
  },
  {
    name: 'whitespace inside text is collapsed',
    input: '1\n00:00:01,000 --> 00:00:02,000\n  muito     espaço\t\tentre   palavras  \n',
    expected: [{ start: 1, end: 2, text: 'muito espaço entre palavras' }],
  },
  {
    name: 'cues out of order are sorted by start; overlaps are kept',
    input: '1\n00:00:05,000 --> 00:00:08,000\nTerceira.\n\n2\n00:00:01,000 --> 00:00:06,000\nPrimeira, sobreposta.\n\n3\n00:00:02,000 --> 00:00:03,000\nSegunda.\n',
    expected: [
      { start: 1, end: 6, text: 'Primeira, sobreposta.' },
      { start: 2, end: 3, text: 'Segunda.' },
      { start: 5, end: 8, text: 'Terceira.' },
    ],
  },
  {
    name: 'zero-length cues are accepted',
    input: '1\n00:00:01,000 --> 00:00:01,000\nInstantâneo.\n',
    expected: [{ start: 1, end: 1, text: 'Instantâneo.' }],
  },
  {
    name: 'a missing blank line between cues still splits them',
    input: '1\n00:00:01,000 --> 00:00:02,000\nPrimeira fala.\n2\n00:00:02,000 --> 00:00:03,000\nSegunda fala.\n00:00:03,000 --> 00:00:04,000\nTerceira, sem número.\n',
    expected: [
      { start: 1, end: 2, text: 'Primeira fala.' },
      { start: 2, end: 3, text: 'Segunda fala.' },
      { start: 3, end: 4, text: 'Terceira, sem número.' },
    ],
  },
  {
    name: 'SRT position coordinates after the end time are ignored',
    input: '1\n00:00:01,000 --> 00:00:02,000 X1:100 X2:600 Y1:50 Y2:80\nLegenda posicionada.\n',
    expected: [{ start: 1, end: 2, text: 'Legenda posicionada.' }],
  },
  {
    name: 'separator lines that contain only spaces/tabs',
    input: '1\n00:00:01,000 --> 00:00:02,000\nPrimeira.\n   \t\n2\n00:00:02,000 --> 00:00:03,000\nSegunda.\n \n \n',
    expected: [
      { start: 1, end: 2, text: 'Primeira.' },
      { start: 2, end: 3, text: 'Segunda.' },
    ],
  },
  {
    name: 'a number that is part of the text stays text',
    input: '1\n00:00:01,000 --> 00:00:03,000\nA resposta é\n42\n',
    expected: [{ start: 1, end: 3, text: 'A resposta é 42' }],
  },
];

describe('parseSrt', () => {
  it.each(srtCases)('$name', ({ input, expected }) => {
    expect(parseSrt(input, 'transcripts/aula01.srt')).toEqual(expected);
  });
});

// ---------------------------------------------------------------------------------------------
// WebVTT

const vttCases: ParseCase[] = [
  {
    name: 'a plain file',
    input: 'WEBVTT\n\n00:00:01.000 --> 00:00:04.000\nBoa noite, turma.\n\n00:00:04.000 --> 00:00:06.500\nAbram o caderno no capítulo três.\n',
    expected: [
      { start: 1, end: 4, text: 'Boa noite, turma.' },
      { start: 4, end: 6.5, text: 'Abram o caderno no capítulo três.' },
    ],
  },
  {
    name: 'header text after WEBVTT and header metadata lines',
    input: 'WEBVTT - Aula 03: Árvores de decisão\nKind: captions\nLanguage: pt-BR\n\n00:00:01.000 --> 00:00:02.000\nÁrvores de decisão.\n',
    expected: [{ start: 1, end: 2, text: 'Árvores de decisão.' }],
  },
  {
    name: 'WEBVTT followed by a tab',
    input: 'WEBVTT\tlegendas geradas automaticamente\n\n00:00:01.000 --> 00:00:02.000\nLegenda automática.\n',
    expected: [{ start: 1, end: 2, text: 'Legenda automática.' }],
  },
  {
    name: 'UTF-8 BOM and CRLF',
    input: `${BOM}WEBVTT\r\n\r\n00:00:01.000 --> 00:00:02.000\r\nCom BOM.\r\n\r\n00:00:02.000 --> 00:00:03.000\r\nE CRLF.\r\n`,
    expected: [
      { start: 1, end: 2, text: 'Com BOM.' },
      { start: 2, end: 3, text: 'E CRLF.' },
    ],
  },
  {
    name: 'lone CR',
    input: 'WEBVTT\r\r00:00:01.000 --> 00:00:02.000\rSó CR.\r',
    expected: [{ start: 1, end: 2, text: 'Só CR.' }],
  },
  {
    name: 'NOTE, STYLE and REGION blocks are skipped',
    input: [
      'WEBVTT',
      '',
      'REGION',
      'id:fred',
      'width:40%',
      '',
      'STYLE',
      '::cue { color: yellow; }',
      '',
      'NOTE Revisado pela monitoria em 2024',
      '',
      'NOTE',
      'comentário de várias linhas',
      'que não é legenda',
      '',
      '00:00:01.000 --> 00:00:02.000',
      'Única legenda.',
      '',
      'NOTE no fim também',
    ].join('\n'),
    expected: [{ start: 1, end: 2, text: 'Única legenda.' }],
  },
  {
    name: 'cue identifiers are optional (numbers or text)',
    input: 'WEBVTT\n\n1\n00:00:01.000 --> 00:00:02.000\nCom número.\n\nintro-parte-2\n00:00:02.000 --> 00:00:03.000\nCom nome.\n\n00:00:03.000 --> 00:00:04.000\nSem identificador.\n',
    expected: [
      { start: 1, end: 2, text: 'Com número.' },
      { start: 2, end: 3, text: 'Com nome.' },
      { start: 3, end: 4, text: 'Sem identificador.' },
    ],
  },
  {
    name: 'cue settings after the end time are ignored',
    input: 'WEBVTT\n\n00:00:01.000 --> 00:00:02.000 align:start position:10% line:0\nNo topo à esquerda.\n',
    expected: [{ start: 1, end: 2, text: 'No topo à esquerda.' }],
  },
  {
    name: 'voice, class, italic/bold and karaoke timestamp tags are stripped',
    input:
      'WEBVTT\n\n00:00:01.000 --> 00:00:05.000\n<v Profa. Ana>Vamos <00:00:02.000><c.yellow>revisar</c> <00:00:03.000><i>overfitting</i></v>\n<v.aluno João>e <b>underfitting</b>?\n',
    expected: [{ start: 1, end: 5, text: 'Vamos revisar overfitting e underfitting?' }],
  },
  {
    name: 'HTML entities are decoded',
    input: 'WEBVTT\n\n00:00:01.000 --> 00:00:02.000\nP &amp; D: a &lt;tag&gt; não é&nbsp;removida, d&#39;água\n',
    expected: [{ start: 1, end: 2, text: "P & D: a <tag> não é removida, d'água" }],
  },
  {
    name: 'comma milliseconds, hour-less, short fractions, three-digit hours',
    input: 'WEBVTT\n\n00:01,5 --> 00:02.25\nVírgula e sem horas.\n\n040:00:00.000 --> 040:00:01.000\nQuarenta horas.\n',
    expected: [
      { start: 1.5, end: 2.25, text: 'Vírgula e sem horas.' },
      { start: 144000, end: 144001, text: 'Quarenta horas.' },
    ],
  },
  {
    name: 'extra blank lines, trailing whitespace, empty cues dropped, whitespace collapsed',
    input: 'WEBVTT   \n\n\n\n00:00:01.000 --> 00:00:02.000  \n  várias    linhas  \n   juntas   \n\n\n00:00:02.000 --> 00:00:03.000\n\n\n00:00:03.000 --> 00:00:04.000\n<c></c>\n\n',
    expected: [{ start: 1, end: 2, text: 'várias linhas juntas' }],
  },
  {
    name: 'whitespace-only separator line before a cue identifier',
    input: 'WEBVTT\n\n00:00:01.000 --> 00:00:02.000\nPrimeira.\n  \nintro\n00:00:02.000 --> 00:00:03.000\nSegunda.\n',
    expected: [
      { start: 1, end: 2, text: 'Primeira.' },
      { start: 2, end: 3, text: 'Segunda.' },
    ],
  },
  {
    name: 'out-of-order cues are sorted; overlapping cues kept',
    input: 'WEBVTT\n\n00:00:03.000 --> 00:00:05.000\nDepois.\n\n00:00:01.000 --> 00:00:04.000\nAntes.\n',
    expected: [
      { start: 1, end: 4, text: 'Antes.' },
      { start: 3, end: 5, text: 'Depois.' },
    ],
  },
  {
    name: 'a timing line right after the header (no blank line) starts a cue',
    input: 'WEBVTT\n00:00:01.000 --> 00:00:02.000\nSem linha em branco.\n',
    expected: [{ start: 1, end: 2, text: 'Sem linha em branco.' }],
  },
  {
    name: 'a timing line inside cue text starts a new cue (missing blank line)',
    input: 'WEBVTT\n\n00:00:01.000 --> 00:00:02.000\nPrimeira.\n00:00:02.000 --> 00:00:03.000\nSegunda.\n',
    expected: [
      { start: 1, end: 2, text: 'Primeira.' },
      { start: 2, end: 3, text: 'Segunda.' },
    ],
  },
];

describe('parseVtt', () => {
  it.each(vttCases)('$name', ({ input, expected }) => {
    expect(parseVtt(input, 'transcripts/aula01.vtt')).toEqual(expected);
  });

  it('parses a YouTube-style auto-caption file', () => {
    const input = [
      'WEBVTT',
      'Kind: captions',
      'Language: pt',
      '',
      '00:00:00.160 --> 00:00:02.869 align:start position:0%',
      ' ',
      'então<00:00:00.480><c> hoje</c><00:00:00.640><c> a</c><00:00:00.800><c> gente</c>',
      '',
      '00:00:02.869 --> 00:00:02.879 align:start position:0%',
      'então hoje a gente',
      ' ',
      '',
    ].join('\n');
    expect(parseVtt(input, 'yt.vtt')).toEqual([
      { start: 0.16, end: 2.869, text: 'então hoje a gente' },
      { start: 2.869, end: 2.879, text: 'então hoje a gente' },
    ]);
  });
});

// ---------------------------------------------------------------------------------------------
// Whisper JSON

const whisperCases: ParseCase[] = [
  {
    name: 'an object with segments (extra fields ignored)',
    input: JSON.stringify({
      text: ' Olá a todos. Hoje: redes neurais.',
      language: 'pt',
      segments: [
        { id: 0, seek: 0, start: 0.0, end: 2.5, text: ' Olá a todos.', tokens: [50364, 2264], avg_logprob: -0.21 },
        { id: 1, seek: 0, start: 2.5, end: 5.04, text: ' Hoje: redes neurais.', tokens: [], avg_logprob: -0.3 },
      ],
    }),
    expected: [
      { start: 0, end: 2.5, text: 'Olá a todos.' },
      { start: 2.5, end: 5.04, text: 'Hoje: redes neurais.' },
    ],
  },
  {
    name: 'a top-level array of segments',
    input: '[{"start": 1, "end": 2, "text": "Primeiro segmento."}, {"start": 2, "end": 3.5, "text": "Segundo."}]',
    expected: [
      { start: 1, end: 2, text: 'Primeiro segmento.' },
      { start: 2, end: 3.5, text: 'Segundo.' },
    ],
  },
  {
    name: 'numeric strings for start/end',
    input: '{"segments": [{"start": "12.5", "end": " 14 ", "text": "Tempo como texto."}, {"start": "1e1", "end": "11", "text": "Notação científica."}]}',
    expected: [
      { start: 10, end: 11, text: 'Notação científica.' },
      { start: 12.5, end: 14, text: 'Tempo como texto.' },
    ],
  },
  {
    name: 'text trimmed and whitespace collapsed; empty or missing text dropped',
    input: '{"segments": [{"start": 0, "end": 1, "text": "   "}, {"start": 1, "end": 2}, {"start": 2, "end": 3, "text": "  bem\\n  aqui  "}]}',
    expected: [{ start: 2, end: 3, text: 'bem aqui' }],
  },
  {
    name: 'BOM, CRLF, out-of-order segments sorted',
    input: `${BOM}{\r\n  "segments": [\r\n    {"start": 5, "end": 6, "text": "depois"},\r\n    {"start": 1, "end": 7, "text": "antes"}\r\n  ]\r\n}\r\n`,
    expected: [
      { start: 1, end: 7, text: 'antes' },
      { start: 5, end: 6, text: 'depois' },
    ],
  },
];

describe('parseWhisperJson', () => {
  it.each(whisperCases)('$name', ({ input, expected }) => {
    expect(parseWhisperJson(input, 'transcripts/aula01.json')).toEqual(expected);
  });
});

// ---------------------------------------------------------------------------------------------
// Malformed input

/** Ten well-formed SRT cues: 40 lines (number, timing, text, blank). */
const TEN_GOOD_SRT_CUES = Array.from({ length: 10 }, (_, i) => {
  const s = String(i).padStart(2, '0');
  const e = String(i + 1).padStart(2, '0');
  return `${i + 1}\n00:00:${s},000 --> 00:00:${e},000\nFrase número ${i + 1} da aula.\n`;
}).join('\n');

interface ErrorCase {
  name: string;
  file: string;
  input: string;
  line: number | undefined;
  reason: string | RegExp;
}

const errorCases: ErrorCase[] = [
  // SRT
  {
    name: 'SRT: invalid timestamp (the line is counted through 10 good cues)',
    file: 'transcripts/aula03.srt',
    input: `${TEN_GOOD_SRT_CUES}\n11\n00:01:xx,500 --> 00:01:03,000\nEssa linha tem um tempo quebrado.\n`,
    line: 42,
    reason: 'timestamp "00:01:xx,500" is not valid (expected HH:MM:SS,mmm)',
  },
  {
    name: 'SRT: invalid end timestamp',
    file: 'a.srt',
    input: '1\n00:00:01,000 --> 00:00:02;000\ntexto\n',
    line: 2,
    reason: 'timestamp "00:00:02;000" is not valid (expected HH:MM:SS,mmm)',
  },
  {
    name: 'SRT: 4-digit fraction',
    file: 'a.srt',
    input: '1\n00:00:01,0000 --> 00:00:02,000\ntexto\n',
    line: 2,
    reason: 'timestamp "00:00:01,0000" is not valid (expected HH:MM:SS,mmm)',
  },
  {
    name: 'SRT: minutes >= 60',
    file: 'a.srt',
    input: '1\n00:61:00,000 --> 00:62:00,000\ntexto\n',
    line: 2,
    reason: 'timestamp "00:61:00,000" is not valid (minutes and seconds must be below 60; expected HH:MM:SS,mmm)',
  },
  {
    name: 'SRT: negative time refused',
    file: 'a.srt',
    input: '1\n-00:00:01,000 --> 00:00:02,000\ntexto\n',
    line: 2,
    reason: 'timestamp "-00:00:01,000" is not valid (expected HH:MM:SS,mmm)',
  },
  {
    name: 'SRT: an hour field of 400 digits (Infinity) refused',
    file: 'a.srt',
    input: `1\n00:00:01,000 --> 00:00:02,000\nok\n\n2\n${'9'.repeat(400)}:00:00,000 --> ${'9'.repeat(400)}:00:01,000\ntexto\n`,
    line: 6,
    reason: `timestamp "${'9'.repeat(60)}…" is beyond 48 hours (no lecture is that long)`,
  },
  {
    name: 'SRT: just over 48 hours refused',
    file: 'a.srt',
    input: '1\n47:59:59,000 --> 48:00:00,001\ntexto\n',
    line: 2,
    reason: 'timestamp "48:00:00,001" is beyond 48 hours (no lecture is that long)',
  },
  {
    name: 'SRT: missing start time',
    file: 'a.srt',
    input: '1\n --> 00:00:02,000\ntexto\n',
    line: 2,
    reason: 'timestamp "" is not valid (expected HH:MM:SS,mmm)',
  },
  {
    name: 'SRT: end before start',
    file: 'a.srt',
    input: '1\n00:00:01,000 --> 00:00:02,000\nok\n\n2\n00:00:09,000 --> 00:00:08,500\nvolta no tempo\n',
    line: 6,
    reason: 'cue ends before it starts (end "00:00:08,500" is before start "00:00:09,000")',
  },
  {
    name: 'SRT: missing --> after a cue number',
    file: 'a.srt',
    input: '1\n00:00:01,000 --> 00:00:02,000\nok\n\n2\n00:00:02,000 00:00:03,000\nsem seta\n',
    line: 6,
    reason:
      'expected a timing line like "00:00:01,000 --> 00:00:04,000" after cue number 2, found "00:00:02,000 00:00:03,000" (missing "-->")',
  },
  {
    name: 'SRT: missing --> without a cue number',
    file: 'a.srt',
    input: '1\n00:00:01,000 --> 00:00:02,000\nok\n\n00:00:02,000 - 00:00:03,000\nsem seta\n',
    line: 5,
    reason:
      'expected a cue number or a timing line like "00:00:01,000 --> 00:00:04,000", found "00:00:02,000 - 00:00:03,000" (missing "-->")',
  },
  {
    name: 'SRT: a cue number at the end of the file',
    file: 'a.srt',
    input: '1\n00:00:01,000 --> 00:00:02,000\nok\n\n2\n',
    line: 6,
    reason: 'expected a timing line like "00:00:01,000 --> 00:00:04,000" after cue number 2, found nothing (missing "-->")',
  },
  {
    name: 'SRT: not a subtitle file at all',
    file: 'a.srt',
    input: 'Transcrição da aula 3\nProfessor: bom dia\n',
    line: 1,
    reason:
      'expected a cue number or a timing line like "00:00:01,000 --> 00:00:04,000", found "Transcrição da aula 3" (missing "-->")',
  },
  { name: 'SRT: empty file', file: 'a.srt', input: '', line: undefined, reason: 'no cues found' },
  { name: 'SRT: only blank lines and a BOM', file: 'a.srt', input: `${BOM}\r\n\r\n  \n`, line: undefined, reason: 'no cues found' },
  {
    name: 'SRT: every cue empty',
    file: 'a.srt',
    input: '1\n00:00:01,000 --> 00:00:02,000\n\n2\n00:00:02,000 --> 00:00:03,000\n<i></i>\n',
    line: undefined,
    reason: 'no cues found (all 2 cue(s) have empty text)',
  },
  // VTT
  {
    name: 'VTT: missing WEBVTT header',
    file: 'transcripts/aula02.vtt',
    input: '00:00:01.000 --> 00:00:02.000\nSem cabeçalho.\n',
    line: 1,
    reason: 'missing "WEBVTT" header on the first line, found "00:00:01.000 --> 00:00:02.000"',
  },
  {
    name: 'VTT: WEBVTT glued to other text is not a header',
    file: 'a.vtt',
    input: 'WEBVTTX\n\n00:00:01.000 --> 00:00:02.000\ntexto\n',
    line: 1,
    reason: 'missing "WEBVTT" header on the first line, found "WEBVTTX"',
  },
  {
    name: 'VTT: header after a blank first line',
    file: 'a.vtt',
    input: '\nWEBVTT\n\n00:00:01.000 --> 00:00:02.000\ntexto\n',
    line: 1,
    reason: 'missing "WEBVTT" header on the first line',
  },
  { name: 'VTT: empty file', file: 'a.vtt', input: '', line: 1, reason: 'missing "WEBVTT" header on the first line' },
  {
    name: 'VTT: invalid timestamp',
    file: 'a.vtt',
    input: 'WEBVTT\n\n00:00:01.000 --> 00:00:02.000\nok\n\n00:00:0a.000 --> 00:00:04.000\nquebrado\n',
    line: 6,
    reason: 'timestamp "00:00:0a.000" is not valid (expected HH:MM:SS.mmm)',
  },
  {
    name: 'VTT: seconds >= 60',
    file: 'a.vtt',
    input: 'WEBVTT\n\n00:00:75.000 --> 00:01:20.000\ntexto\n',
    line: 3,
    reason: 'timestamp "00:00:75.000" is not valid (minutes and seconds must be below 60; expected HH:MM:SS.mmm)',
  },
  {
    name: 'VTT: negative time refused',
    file: 'a.vtt',
    input: 'WEBVTT\n\n00:00:01.000 --> -00:00:02.000\ntexto\n',
    line: 3,
    reason: 'timestamp "-00:00:02.000" is not valid (expected HH:MM:SS.mmm)',
  },
  {
    name: 'VTT: 400 hours refused',
    file: 'a.vtt',
    input: 'WEBVTT\n\n400:00:00.000 --> 400:00:01.000\ntexto\n',
    line: 3,
    reason: 'timestamp "400:00:00.000" is beyond 48 hours (no lecture is that long)',
  },
  {
    name: 'VTT: an hour field of 400 digits refused',
    file: 'a.vtt',
    input: `WEBVTT\n\n00:00:01.000 --> ${'1'.repeat(400)}:00:00.000\ntexto\n`,
    line: 3,
    reason: `timestamp "${'1'.repeat(60)}…" is beyond 48 hours (no lecture is that long)`,
  },
  {
    name: 'VTT: end before start',
    file: 'a.vtt',
    input: 'WEBVTT\n\nintro\n00:01:00.000 --> 00:00:59.000 align:start\ntexto\n',
    line: 4,
    reason: 'cue ends before it starts (end "00:00:59.000" is before start "00:01:00.000")',
  },
  {
    name: 'VTT: missing --> after an identifier',
    file: 'a.vtt',
    input: 'WEBVTT\n\nintro\n00:00:01.000 00:00:02.000\ntexto\n',
    line: 4,
    reason:
      'expected a timing line like "00:00:01.000 --> 00:00:04.000" after cue identifier "intro", found "00:00:01.000 00:00:02.000" (missing "-->")',
  },
  { name: 'VTT: header only', file: 'a.vtt', input: 'WEBVTT\nKind: captions\n\n', line: undefined, reason: 'no cues found' },
  {
    name: 'VTT: only NOTE blocks',
    file: 'a.vtt',
    input: 'WEBVTT\n\nNOTE a transcrição ainda não foi feita\n',
    line: undefined,
    reason: 'no cues found',
  },
  // Whisper JSON
  {
    name: 'JSON: syntax error reports line and column',
    file: 'transcripts/aula04.json',
    input: '{\n  "segments": [\n    {"start": 0, "end": 1, "text": "oi"}\n    {"start": 1, "end": 2, "text": "tchau"}\n  ]\n}\n',
    line: 4,
    reason: /^invalid JSON: .+ \(line 4, column 5\)$/,
  },
  {
    name: 'JSON: truncated file',
    file: 'a.json',
    input: '{\n  "segments": [\n    {"start": 0, "end": ',
    line: 3,
    reason: 'invalid JSON: Unexpected end of JSON input (the file ends too early)',
  },
  {
    name: 'JSON: unterminated string',
    file: 'a.json',
    input: '[\n  {"start": 0, "end": 1, "text": "oi}\n]',
    line: 2,
    reason: /^invalid JSON: .+ \(line 2, column \d+\)$/,
  },
  { name: 'JSON: empty file', file: 'a.json', input: ' \n', line: undefined, reason: 'invalid JSON: the file is empty' },
  {
    name: 'JSON: missing segments',
    file: 'a.json',
    input: '{"text": "Olá a todos.", "language": "pt"}',
    line: undefined,
    reason: 'missing "segments": expected {"segments": [{"start", "end", "text"}, …]}',
  },
  {
    name: 'JSON: segments is not an array',
    file: 'a.json',
    input: '{\n  "text": "x",\n  "segments": {"start": 0}\n}',
    line: 3,
    reason: '"segments" must be an array, got an object',
  },
  {
    name: 'JSON: top level is neither object nor array',
    file: 'a.json',
    input: '"Olá a todos."',
    line: 1,
    reason: 'expected an object with a "segments" array or an array of segments, got "Olá a todos."',
  },
  {
    name: 'JSON: segment is not an object',
    file: 'a.json',
    input: '{"segments": [\n  {"start": 0, "end": 1, "text": "oi"},\n  "tchau"\n]}',
    line: 3,
    reason: 'segments[1] must be an object with "start", "end" and "text", got "tchau"',
  },
  {
    name: 'JSON: non-numeric start',
    file: 'a.json',
    input: '{"segments": [\n  {"start": 0, "end": 1, "text": "oi"},\n  {\n    "start": "1:02",\n    "end": 63,\n    "text": "tchau"\n  }\n]}',
    line: 4,
    reason: 'segments[1]: "start" must be a number of seconds, got "1:02"',
  },
  {
    name: 'JSON: non-numeric end (null)',
    file: 'a.json',
    input: '[\n  {"start": 0, "end": null, "text": "oi"}\n]',
    line: 2,
    reason: 'segments[0]: "end" must be a number of seconds, got null',
  },
  {
    name: 'JSON: empty string start',
    file: 'a.json',
    input: '[{"start": "", "end": 1, "text": "oi"}]',
    line: 1,
    reason: 'segments[0]: "start" must be a number of seconds, got ""',
  },
  {
    name: 'JSON: boolean start',
    file: 'a.json',
    input: '[{"start": true, "end": 1, "text": "oi"}]',
    line: 1,
    reason: 'segments[0]: "start" must be a number of seconds, got true',
  },
  {
    name: 'JSON: missing end',
    file: 'a.json',
    input: '[\n{"start": 0, "text": "oi"}]',
    line: 2,
    reason: 'segments[0] has no "end"',
  },
  {
    name: 'JSON: negative start',
    file: 'a.json',
    input: '{"segments": [\n{"start": -0.5, "end": 1, "text": "oi"}]}',
    line: 2,
    reason: 'segments[0]: "start" must not be negative, got -0.5',
  },
  {
    name: 'JSON: negative numeric string',
    file: 'a.json',
    input: '[{"start": "0", "end": "-2", "text": "oi"}]',
    line: 1,
    reason: 'segments[0]: "end" must not be negative, got -2',
  },
  {
    name: 'JSON: 1e308 seconds refused',
    file: 'a.json',
    input: '{"segments": [\n{"start": 0, "end": 1, "text": "a"},\n{"start": 1e308, "end": 1e308, "text": "b"}]}',
    line: 3,
    reason: 'segments[1]: "start" is beyond 48 hours (172800 seconds), got 1e+308',
  },
  {
    name: 'JSON: a numeric string beyond 48 hours refused',
    file: 'a.json',
    input: '[{"start": "0", "end": "172800.5", "text": "oi"}]',
    line: 1,
    reason: 'segments[0]: "end" is beyond 48 hours (172800 seconds), got 172800.5',
  },
  {
    name: 'JSON: a numeric string that overflows to Infinity refused',
    file: 'a.json',
    input: '[{"start": "1e999", "end": "1e999", "text": "oi"}]',
    line: 1,
    reason: 'segments[0]: "start" must be a number of seconds, got "1e999"',
  },
  {
    name: 'JSON: end before start',
    file: 'a.json',
    input: '[\n{"start": 0, "end": 1, "text": "a"},\n{"start": 5, "end": 4, "text": "b"}]',
    line: 3,
    reason: 'segments[1] ends before it starts (start 5, end 4)',
  },
  {
    name: 'JSON: text is not a string',
    file: 'a.json',
    input: '[{"start": 0, "end": 1,\n "text": ["oi"]}]',
    line: 2,
    reason: 'segments[0]: "text" must be a string, got an array',
  },
  { name: 'JSON: no segments', file: 'a.json', input: '{"segments": []}', line: undefined, reason: 'no cues found' },
  { name: 'JSON: empty top-level array', file: 'a.json', input: '[]', line: undefined, reason: 'no cues found' },
];

describe('malformed transcripts', () => {
  it.each(errorCases)('$name', ({ file, input, line, reason }) => {
    expectTranscriptError(() => parseTranscriptText(input, file), file, line, reason);
  });

  it('gives the exact message for a bad SRT timestamp', () => {
    const input = `${TEN_GOOD_SRT_CUES}\n11\n00:01:xx,500 --> 00:01:03,000\nEssa linha tem um tempo quebrado.\n`;
    expect(() => parseSrt(input, 'transcripts/aula03.srt')).toThrow(
      'transcripts/aula03.srt:42: timestamp "00:01:xx,500" is not valid (expected HH:MM:SS,mmm)',
    );
  });

  it('counts lines the same with CRLF and lone CR', () => {
    const lf = 'WEBVTT\n\n00:00:01.000 --> 00:00:02.000\nok\n\n00:00:03.000 --> 00:00:02.000\nruim\n';
    for (const input of [lf, lf.replace(/\n/g, '\r\n'), lf.replace(/\n/g, '\r'), BOM + lf]) {
      expectTranscriptError(() => parseVtt(input, 'a.vtt'), 'a.vtt', 6, /^cue ends before it starts/);
    }
  });

  it('reports a JSON syntax error on the right line with CRLF', () => {
    const input = '{\r\n"segments": [\r\n{"start": 0, "end": 1, "text": "oi",}\r\n]}';
    expectTranscriptError(() => parseWhisperJson(input, 'a.json'), 'a.json', 3, /^invalid JSON: .+ \(line 3, column \d+\)$/);
  });
});

// ---------------------------------------------------------------------------------------------
// Dispatch

describe('parseTranscriptText', () => {
  it.each([
    ['aula.srt', '1\n00:00:01,000 --> 00:00:02,000\nSRT.\n'],
    ['aula.SRT', '1\n00:00:01,000 --> 00:00:02,000\nSRT.\n'],
    ['dir.v2/aula.vtt', 'WEBVTT\n\n00:00:01.000 --> 00:00:02.000\nSRT.\n'],
    ['aula.Vtt', 'WEBVTT\n\n00:00:01.000 --> 00:00:02.000\nSRT.\n'],
    ['aula.json', '[{"start": 1, "end": 2, "text": "SRT."}]'],
  ])('dispatches %s on its extension', (name, input) => {
    expect(parseTranscriptText(input, name)).toEqual([{ start: 1, end: 2, text: 'SRT.' }]);
  });

  it.each([
    ['aula.txt', 'extension ".txt"'],
    ['aula.srt.bak', 'extension ".bak"'],
    ['transcricao', 'no extension'],
  ])('refuses %s and says which formats are supported', (name, got) => {
    expectTranscriptError(
      () => parseTranscriptText('qualquer coisa', name),
      name,
      undefined,
      `unsupported transcript format (${got}); supported extensions are .vtt, .srt, .json`,
    );
  });
});

describe('parseTranscriptFile', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'pergunta-transcripts-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('reads each supported format from disk', async () => {
    await writeFile(path.join(dir, 'a.srt'), '1\r\n00:00:01,000 --> 00:00:02,000\r\nArquivo SRT.\r\n');
    await writeFile(path.join(dir, 'a.vtt'), `${BOM}WEBVTT\n\n00:00:01.000 --> 00:00:02.000\nArquivo VTT.\n`);
    await writeFile(path.join(dir, 'a.json'), '{"segments": [{"start": 1, "end": 2, "text": " Arquivo JSON. "}]}');
    await writeFile(path.join(dir, 'UPPER.SRT'), '00:00:01,000 --> 00:00:02,000\nMaiúsculas.\n');
    expect(await parseTranscriptFile(path.join(dir, 'a.srt'))).toEqual([{ start: 1, end: 2, text: 'Arquivo SRT.' }]);
    expect(await parseTranscriptFile(path.join(dir, 'a.vtt'))).toEqual([{ start: 1, end: 2, text: 'Arquivo VTT.' }]);
    expect(await parseTranscriptFile(path.join(dir, 'a.json'))).toEqual([{ start: 1, end: 2, text: 'Arquivo JSON.' }]);
    expect(await parseTranscriptFile(path.join(dir, 'UPPER.SRT'))).toEqual([{ start: 1, end: 2, text: 'Maiúsculas.' }]);
  });

  it('names displayName (or the path) in errors', async () => {
    const file = path.join(dir, 'bad.vtt');
    await writeFile(file, '\n00:00:01.000 --> 00:00:02.000\nsem cabeçalho\n');
    await expectTranscriptErrorAsync(parseTranscriptFile(file, 'transcripts/bad.vtt'), 'transcripts/bad.vtt', 1, /^missing "WEBVTT" header/);
    await expectTranscriptErrorAsync(parseTranscriptFile(file), file, 1, /^missing "WEBVTT" header/);
  });

  it('reports a missing file, a directory and an unknown extension', async () => {
    await expectTranscriptErrorAsync(parseTranscriptFile(path.join(dir, 'nao-existe.srt'), 'nao-existe.srt'), 'nao-existe.srt', undefined, 'file does not exist');
    const sub = path.join(dir, 'pasta.srt');
    await mkdir(sub, { recursive: true });
    await expectTranscriptErrorAsync(parseTranscriptFile(sub, 'pasta.srt'), 'pasta.srt', undefined, 'is a directory, not a file');
    await writeFile(path.join(dir, 'notas.docx'), 'x');
    await expectTranscriptErrorAsync(
      parseTranscriptFile(path.join(dir, 'notas.docx'), 'transcripts/notas.docx'),
      'transcripts/notas.docx',
      undefined,
      'unsupported transcript format (extension ".docx"); supported extensions are .vtt, .srt, .json',
    );
  });

  it('decodes Windows-1252 files (not valid UTF-8) and UTF-16 files with a BOM', async () => {
    const latin1 = Buffer.from('1\r\n00:00:01,000 --> 00:00:02,000\r\nAtenção: é a função exponencial\r\n', 'latin1');
    await writeFile(path.join(dir, 'latin1.srt'), latin1);
    expect(await parseTranscriptFile(path.join(dir, 'latin1.srt'))).toEqual([
      { start: 1, end: 2, text: 'Atenção: é a função exponencial' },
    ]);
    const utf16 = Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from('WEBVTT\n\n00:00:01.000 --> 00:00:02.000\nÁudio em UTF-16.\n', 'utf16le')]);
    await writeFile(path.join(dir, 'utf16.vtt'), utf16);
    expect(await parseTranscriptFile(path.join(dir, 'utf16.vtt'))).toEqual([{ start: 1, end: 2, text: 'Áudio em UTF-16.' }]);
  });

  describe('UTF-16 with and without a byte-order mark', () => {
    const SRT_TEXT = '1\r\n00:00:01,000 --> 00:00:02,500\r\nAtenção — “função” de ativação…\r\n\r\n2\r\n00:00:03,000 --> 00:00:04,000\r\nÉ só isso 🙂\r\n';
    const CUES = [
      { start: 1, end: 2.5, text: 'Atenção — “função” de ativação…' },
      { start: 3, end: 4, text: 'É só isso 🙂' },
    ];
    const utf16be = (text: string) => Buffer.from(text, 'utf16le').swap16();

    it.each([
      ['LE without BOM', () => Buffer.from(SRT_TEXT, 'utf16le')],
      ['BE without BOM', () => utf16be(SRT_TEXT)],
      ['LE with BOM', () => Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(SRT_TEXT, 'utf16le')])],
      ['BE with BOM', () => Buffer.concat([Buffer.from([0xfe, 0xff]), utf16be(SRT_TEXT)])],
    ])('decodes %s', async (name, bytes) => {
      const file = path.join(dir, `utf16-${name.replace(/\W+/g, '-')}.srt`);
      await writeFile(file, bytes());
      expect(await parseTranscriptFile(file, 'transcripts/aula.srt')).toEqual(CUES);
    });

    it('decodes Whisper JSON and WebVTT in UTF-16 LE without BOM', async () => {
      await writeFile(path.join(dir, 'le.json'), Buffer.from('{"segments": [{"start": 0, "end": 2, "text": "Revisão"}]}', 'utf16le'));
      expect(await parseTranscriptFile(path.join(dir, 'le.json'))).toEqual([{ start: 0, end: 2, text: 'Revisão' }]);
      await writeFile(path.join(dir, 'be.vtt'), utf16be('WEBVTT\n\n00:00:01.000 --> 00:00:02.000\nÁudio\n'));
      expect(await parseTranscriptFile(path.join(dir, 'be.vtt'))).toEqual([{ start: 1, end: 2, text: 'Áudio' }]);
    });

    it('says so clearly when the file has NUL bytes but is not UTF-16 (UTF-32)', async () => {
      // UTF-32 LE: three NUL bytes after every ASCII character.
      const utf32 = Buffer.concat([...'1\n00:00:01,000 --> 00:00:02,000\nTexto\n'].map((c) => Buffer.from([c.charCodeAt(0), 0, 0, 0])));
      await writeFile(path.join(dir, 'utf32.srt'), utf32);
      await expectTranscriptErrorAsync(
        parseTranscriptFile(path.join(dir, 'utf32.srt'), 'transcripts/aula.srt'),
        'transcripts/aula.srt',
        undefined,
        'is not text in a supported encoding (75% of its first bytes are NUL: UTF-32, or UTF-16 damaged?): save it as UTF-8',
      );
    });

    it('a stray NUL in a UTF-8 file is only a control character (replaced by a space)', async () => {
      await writeFile(path.join(dir, 'nul.srt'), '1\n00:00:01,000 --> 00:00:02,000\nantes\u0000depois\n');
      expect(await parseTranscriptFile(path.join(dir, 'nul.srt'))).toEqual([{ start: 1, end: 2, text: 'antes depois' }]);
    });
  });
});
