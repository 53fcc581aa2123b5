/**
 * Export formats: golden files (test/fixtures/export/records.{jsonl,csv,md}, plus the
 * --hide-urls Markdown) from a fixed set of records, RFC 4180 quoting, --hide-urls, and the
 * export command end to end on a temporary SQLite store (stdout carries only the export).
 * Regenerate the golden files with `UPDATE_GOLDEN=1 npx vitest run test/unit/export.test.ts`
 * (then read the diff).
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parse as parseCsv } from 'csv-parse/sync';
import MarkdownIt from 'markdown-it';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NOT_COVERED_SENTENCE, NOT_FOUND_MESSAGE } from '../../src/answer/prompt.js';
import {
  CSV_COLUMNS,
  csvField,
  parseSince,
  retrieverLabel,
  toCsv,
  toExportRecord,
  toJsonl,
  toMarkdown,
} from '../../src/evaluation/exportRecords.js';
import { createLogger } from '../../src/logger.js';
import { createFeedbackStore } from '../../src/store/createStore.js';
import type { FullRecord, StoredSegment } from '../../src/store/types.js';
import { cliEnv, runCli } from '../helpers/cli.js';
import { fullRecord, judgeRecord, segment } from '../helpers/records.js';

const ROOT = path.resolve(import.meta.dirname, '../..');
const GOLDEN = path.join(ROOT, 'test/fixtures/export');
const logger = createLogger({ level: 'silent' });

const seg = (corpusId: number, videoId: string, title: string, start: number, end: number, score: number, text: string): StoredSegment =>
  segment({ corpusId, score, videoId, title, url: `https://youtu.be/${videoId}?t=${Math.floor(start)}`, start, end, text });

const RECORDS: FullRecord[] = [
  {
    id: '11111111-1111-4111-8111-111111111111',
    question: 'Como funciona o dropout?',
    answer: 'O dropout desliga neurônios aleatoriamente durante o treino [1].\n\nIsso evita que a rede dependa demais de um neurônio [1][2].',
    kind: 'llm',
    retriever: 'e5+bm25',
    embeddingModel: 'Xenova/multilingual-e5-small',
    model: 'gpt-4o-mini',
    promptVersion: '2026-11-26.1',
    segments: [
      seg(412, 'abc123', 'Aula 6 — Regularização', 2470, 2615, 0.84213, 'então o dropout ele desliga aleatoriamente\nalguns neurônios durante o treino'),
      seg(17, 'def456', 'Aula 2 — Redes [parte 1]', 61.5, 190, 0.5, 'uma rede neural tem camadas'),
    ],
    references: [
      { videoId: 'abc123', title: 'Aula 6 — Regularização', start: 2470, end: 2615, url: 'https://youtu.be/abc123?t=2470' },
      { videoId: 'def456', title: 'Aula 2 — Redes [parte 1]', start: 61.5, end: 190, url: 'https://youtu.be/def456?t=61' },
    ],
    notices: [],
    timings: { embedMs: 12, retrieveMs: 30, generateMs: 812, totalMs: 860 },
    platform: 'discord',
    channel: '1200000000000000001',
    user: 'discord:0f1e2d3c4b5a6978',
    createdAt: '2026-03-02T13:45:10.000Z',
    conversationId: 'a1b2c3d4-0000-4000-8000-00000000c0de',
    turn: 1,
    lectureFilter: null,
    policy: null,
    retrievalQuery: null,
    votes: {
      up: 1,
      down: 1,
      items: [
        { answerId: '11111111-1111-4111-8111-111111111111', user: 'discord:aaaaaaaaaaaaaaaa', value: 'up', comment: null, platform: 'discord', at: '2026-03-02T13:50:00.000Z' },
        {
          answerId: '11111111-1111-4111-8111-111111111111',
          user: 'slack:bbbbbbbbbbbbbbbb',
          value: 'down',
          comment: 'faltou dizer, "na prática",\nquando NÃO usar',
          platform: 'slack',
          at: '2026-03-02T14:00:00.000Z',
        },
      ],
    },
    annotation: { answerId: '11111111-1111-4111-8111-111111111111', label: 'C', annotator: 'slack:cccccccccccccccc', platform: 'slack', at: '2026-03-03T09:00:00.000Z' },
    judge: judgeRecord('11111111-1111-4111-8111-111111111111'),
    case: null,
    verifiedHits: 0,
  },
  fullRecord({
    id: '22222222-2222-4222-8222-222222222222',
    question: '=SOMA(1,2) "funciona", ou não?\nÉ do trabalho 2',
    answer:
      'Resposta extraída das transcrições (sem modelo de linguagem configurado):\n\n“a soma de dois vetores é feita componente a componente” [1] — Aula 1 — Vetores, 2:05',
    kind: 'extractive',
    retriever: 'bm25',
    embeddingModel: null,
    model: 'extractive',
    promptVersion: '2026-11-26.1',
    segments: [seg(3, 'vet001', 'Aula 1 — Vetores', 125, 240, 7.123456, 'a soma de dois vetores é feita componente a componente')],
    references: [{ videoId: 'vet001', title: 'Aula 1 — Vetores', start: 125, end: 240, url: 'https://youtu.be/vet001?t=125' }],
    notices: ['Busca só por palavras-chave (modelo de embeddings indisponível).'],
    timings: { retrieveMs: 4, generateMs: 1, totalMs: 6 },
    platform: 'slack',
    channel: 'C0123ABCD',
    user: 'slack:1234567890abcdef',
    createdAt: '2026-03-04T08:00:00.000Z',
  }),
  fullRecord({
    id: '33333333-3333-4333-8333-333333333333',
    question: 'Vai cair transformers na prova?',
    answer: NOT_COVERED_SENTENCE,
    kind: 'not-found',
    retriever: 'e5+bm25',
    embeddingModel: 'Xenova/multilingual-e5-small',
    model: 'gpt-4o-mini',
    promptVersion: '2026-11-26.1',
    segments: [seg(88, 'ghi789', 'Aula 9 — Atenção', 3725, 3790.9, 0.0161, 'na próxima aula a gente vê atenção')],
    references: [],
    notices: [],
    timings: { embedMs: 10, retrieveMs: 25, generateMs: 400, totalMs: 440 },
    platform: 'discord',
    channel: null,
    user: 'discord:fedcba9876543210',
    createdAt: '2026-03-05T20:00:00.000Z',
    annotation: { answerId: '33333333-3333-4333-8333-333333333333', label: 'I', annotator: 'slack:cccccccccccccccc', platform: 'slack', at: '2026-03-06T09:00:00.000Z' },
    judge: judgeRecord('33333333-3333-4333-8333-333333333333', {
      answerRelevance: null,
      contextRelevance: [{ corpusId: 88, raw: 1, normalized: 1 / 3, criteria: 'c', supportingEvidence: 'e' }],
      groundedness: [],
      groundednessMean: null,
      abstained: true,
      label: 'C',
      reasoning: 'Abstenção: a resposta diz que as aulas não abordam o assunto; maior relevância entre os trechos recuperados: 1/3.',
    }),
  }),
  {
    id: '44444444-4444-4444-8444-444444444444',
    question: 'Onde está o vídeo da aula de CNNs?',
    answer: 'O vídeo está em https://youtu.be/cnn999?t=10 e explica convoluções [1].',
    kind: 'llm',
    retriever: 'e5+bm25',
    embeddingModel: 'Xenova/multilingual-e5-small',
    model: 'gpt-4o-mini',
    promptVersion: '2026-11-26.1',
    segments: [seg(501, 'cnn999', 'Aula 7 — CNNs', 10, 95, 0.03278, 'convoluções aplicam um filtro, veja em https://example.org/slides')],
    references: [{ videoId: 'cnn999', title: 'Aula 7 — CNNs', start: 10, end: 95, url: 'https://youtu.be/cnn999?t=10' }],
    notices: [],
    timings: { embedMs: 9, retrieveMs: 20, generateMs: 500, totalMs: 530 },
    platform: 'cli',
    channel: null,
    user: 'cli:0000000000000000',
    createdAt: '2026-03-06T12:00:00.000Z',
    conversationId: null,
    turn: null,
    lectureFilter: null,
    policy: null,
    retrievalQuery: null,
    votes: {
      up: 0,
      down: 1,
      items: [{ answerId: '44444444-4444-4444-8444-444444444444', user: 'discord:dddddddddddddddd', value: 'down', comment: '-1, link quebrado', platform: 'discord', at: '2026-03-06T12:05:00.000Z' }],
    },
    annotation: { answerId: '44444444-4444-4444-8444-444444444444', label: 'P', annotator: 'discord:eeeeeeeeeeeeeeee', platform: 'discord', at: '2026-03-07T09:00:00.000Z' },
    judge: {
      ...judgeRecord('44444444-4444-4444-8444-444444444444'),
      status: 'failed',
      error: 'relevância da resposta: a resposta do juiz não contém um JSON válido (após 3 tentativas)',
      answerRelevance: null,
      contextRelevance: [],
      groundedness: [],
      groundednessMean: null,
      label: null,
      reasoning: '',
    },
    case: null,
    verifiedHits: 0,
  },
  fullRecord({
    id: '55555555-5555-4555-8555-555555555555',
    question: 'Qual a receita de bolo de cenoura?',
    answer: NOT_FOUND_MESSAGE,
    kind: 'not-found',
    retriever: 'bm25',
    embeddingModel: null,
    model: 'extractive',
    promptVersion: '2026-11-26.1',
    segments: [],
    references: [],
    notices: [],
    timings: { retrieveMs: 2, generateMs: 0, totalMs: 3 },
    platform: 'slack',
    channel: 'C0123ABCD',
    user: 'slack:abcdefabcdefabcd',
    createdAt: '2026-03-08T10:00:00.000Z',
    conversationId: 'e5f6a7b8-0000-4000-8000-0000000005ad',
    turn: 1,
  }),
  // A student asked a TA about this answer; the TA's answer became a verified answer used twice.
  fullRecord({
    id: '66666666-6666-4666-8666-666666666666',
    question: 'Qual a diferença entre overfitting e underfitting?',
    answer: 'Overfitting é decorar o treino [1].',
    kind: 'llm',
    createdAt: '2026-03-09T10:00:00.000Z',
    promptVersion: '2026-11-26.1',
    case: {
      id: 'cccccccc-cccc-4ccc-8ccc-cccccccccccc',
      answerId: '66666666-6666-4666-8666-666666666666',
      status: 'answered',
      createdAt: '2026-03-09T10:05:00.000Z',
      origin: 'discord',
      requesters: [
        { user: 'discord:1111111111111111', platform: 'discord', at: '2026-03-09T10:05:00.000Z', details: 'Faltou falar do underfitting, veja https://example.org/x', name: null, delivery: { status: 'delivered', at: '2026-03-09T10:45:01.000Z', via: 'channel', error: null } },
      ],
      votesAtEscalation: { up: 0, down: 1 },
      card: { channel: 'C0MONITORES', ts: '1741514700.000100' },
      claimedBy: { user: 'slack:2222222222222222', name: 'ana', at: '2026-03-09T10:20:00.000Z' },
      firstActionAt: '2026-03-09T10:20:00.000Z',
      resolution: {
        kind: 'answered',
        by: { user: 'slack:2222222222222222', name: 'ana', at: '2026-03-09T10:45:00.000Z' },
        text: 'Underfitting é o contrário: o modelo não aprende nem o treino. Veja https://youtu.be/abc123?t=61',
        references: [{ videoId: 'abc123', title: 'Aula 6 — Regularização', start: 61, end: 61, url: 'https://youtu.be/abc123?t=61' }],
        botLabel: 'P',
        verifiedId: 'vvvvvvvv-vvvv-4vvv-8vvv-vvvvvvvvvvvv',
        noteIds: [],
      },
      remindedAt: null,
      ratings: { 'discord:1111111111111111': 'up' },
      version: 7,
      updatedAt: '2026-03-09T10:46:00.000Z',
      timings: { firstActionMs: 15 * 60_000, resolvedMs: 40 * 60_000 },
    },
    verifiedHits: 2,
  }),
  // A later question answered with that verified answer.
  fullRecord({
    id: '77777777-7777-4777-8777-777777777777',
    question: 'diferença entre overfitting e underfitting',
    answer: 'Underfitting é o contrário: o modelo não aprende nem o treino. Veja https://youtu.be/abc123?t=61',
    kind: 'verified',
    promptVersion: '2026-11-26.1+verificada.1',
    createdAt: '2026-03-10T08:00:00.000Z',
    verified: { id: 'vvvvvvvv-vvvv-4vvv-8vvv-vvvvvvvvvvvv', similarity: 0.91, method: 'lexical' },
  }),
  // A follow-up to question 1, days later, in its thread: rewritten for retrieval, restricted to
  // one lecture, under the course's answer policy.
  fullRecord({
    id: '88888888-8888-4888-8888-888888888888',
    question: 'E no keras, como faço isso?',
    answer: 'Nas aulas, o dropout aparece como uma camada que desliga neurônios no treino [1]; a aula não mostra o código do keras.',
    kind: 'llm',
    retriever: 'e5+bm25',
    embeddingModel: 'Xenova/multilingual-e5-small',
    model: 'gpt-4o-mini',
    promptVersion: '2026-12-01.1',
    segments: [seg(412, 'abc123', 'Aula 6 — Regularização', 2470, 2615, 0.03226, 'então o dropout ele desliga aleatoriamente alguns neurônios durante o treino')],
    references: [{ videoId: 'abc123', title: 'Aula 6 — Regularização', start: 2470, end: 2615, url: 'https://youtu.be/abc123?t=2470' }],
    notices: [],
    timings: { condenseMs: 350, embedMs: 11, retrieveMs: 28, generateMs: 900, totalMs: 1400 },
    platform: 'discord',
    channel: '1300000000000000009',
    user: 'discord:0f1e2d3c4b5a6978',
    createdAt: '2026-03-10T18:30:00.000Z',
    conversationId: 'a1b2c3d4-0000-4000-8000-00000000c0de',
    turn: 2,
    lectureFilter: ['abc123'],
    policy: { version: '2026-1', mode: 'guide', text: 'Não resolva a Lista 3 nem o Trabalho final.' },
    retrievalQuery: 'Como usar dropout no keras?',
  }),
];

function golden(name: string, actual: string): void {
  const file = path.join(GOLDEN, name);
  if (process.env.UPDATE_GOLDEN) writeFileSync(file, actual);
  expect(actual).toBe(readFileSync(file, 'utf8'));
}

describe('golden files', () => {
  it('JSONL', () => golden('records.jsonl', toJsonl(RECORDS)));
  it('CSV', () => golden('records.csv', toCsv(RECORDS)));
  it('Markdown', () => golden('records.md', toMarkdown(RECORDS)));
  it('Markdown with --hide-urls', () => golden('records-hidden-urls.md', toMarkdown(RECORDS, { hideUrls: true })));
});

describe('JSONL', () => {
  it('has one full record per line with the documented fields', () => {
    const lines = toJsonl(RECORDS).split('\n');
    expect(lines.at(-1)).toBe('');
    expect(lines).toHaveLength(RECORDS.length + 1);
    const first = JSON.parse(lines[0] ?? '') as Record<string, unknown>;
    for (const field of ['number', 'id', 'question', 'answer', 'retriever', 'segments', 'references', 'votes', 'annotation', 'annotationInfo', 'judge', 'model', 'promptVersion', 'timings', 'platform', 'channel', 'user', 'createdAt', 'conversationId', 'turn', 'lectureFilter', 'policy', 'retrievalQuery']) {
      expect(first).toHaveProperty(field);
    }
    expect(first.annotation).toBe('C');
    expect(first.votes).toMatchObject({ up: 1, down: 1 });
    const second = JSON.parse(lines[1] ?? '') as Record<string, unknown>;
    expect(second).toMatchObject({ number: 2, annotation: null, annotationInfo: null, judge: null, conversationId: null, turn: null, policy: null });
    const followUp = JSON.parse(lines[7] ?? '') as Record<string, unknown>;
    expect(followUp).toMatchObject({
      number: 8,
      conversationId: first.conversationId,
      turn: 2,
      lectureFilter: ['abc123'],
      policy: { version: '2026-1', mode: 'guide', text: 'Não resolva a Lista 3 nem o Trabalho final.' },
      retrievalQuery: 'Como usar dropout no keras?',
    });
    expect(first).toMatchObject({ turn: 1 });
  });
});

describe('CSV', () => {
  it('quotes commas, quotes and newlines (RFC 4180) and round-trips through a CSV parser', () => {
    expect(csvField('simples')).toBe('simples');
    expect(csvField('a,b')).toBe('"a,b"');
    expect(csvField('diz "oi"')).toBe('"diz ""oi"""');
    expect(csvField('linha 1\nlinha 2')).toBe('"linha 1\nlinha 2"');
    expect(csvField('cr\r')).toBe('"cr\r"');
    expect(csvField(null)).toBe('');
    expect(csvField(0)).toBe('0');

    const csv = toCsv(RECORDS);
    expect(csv.endsWith('\r\n')).toBe(true);
    const rows = parseCsv(csv, { columns: true }) as Record<string, string>[];
    expect(rows).toHaveLength(RECORDS.length);
    expect(Object.keys(rows[0] ?? {})).toEqual([...CSV_COLUMNS]);
    // A formula-like question gets a leading apostrophe; the rest is kept verbatim.
    expect(rows[1]?.question).toBe(`'${RECORDS[1]?.question}`);
    expect(rows[0]?.voteComments).toBe('👎 faltou dizer, "na prática",\nquando NÃO usar');
    expect(rows[3]?.voteComments).toBe('👎 -1, link quebrado');
    expect(rows[0]?.answerRelevance).toBe('1.00');
    expect(rows[0]?.segmentScores).toBe('0.8421;0.5000');
    expect(rows[3]?.judgeStatus).toBe('failed');
    expect(rows[7]).toMatchObject({
      conversationId: RECORDS[0]?.conversationId,
      turn: '2',
      lectureFilter: 'abc123',
      policyMode: 'guide',
      policyVersion: '2026-1',
      retrievalQuery: 'Como usar dropout no keras?',
    });
    expect(rows[1]).toMatchObject({ conversationId: '', turn: '', policyMode: '' });
  });

  it('hides URLs when asked', () => {
    const csv = toCsv(RECORDS, { hideUrls: true });
    expect(csv).not.toMatch(/https?:\/\//);
    const rows = parseCsv(csv, { columns: true }) as Record<string, string>[];
    expect(rows[3]?.answer).toBe('O vídeo está em oculto e explica convoluções [1].');
  });
});

describe('Markdown', () => {
  it('names the retriever actually used', () => {
    expect(retrieverLabel('e5+bm25')).toBe('E5 + BM25');
    expect(retrieverLabel('bm25')).toBe('BM25');
    expect(retrieverLabel('minilm+bm25')).toBe('minilm + BM25');
    const md = toMarkdown(RECORDS);
    expect(md).toContain('**Segmentos recuperados pelo E5 + BM25**:');
    expect(md).toContain('**Segmentos recuperados pelo BM25**:');
  });

  it('numbers the questions and separates them with ---', () => {
    const md = toMarkdown(RECORDS);
    for (let n = 1; n <= RECORDS.length; n++) expect(md).toContain(`**Pergunta ${n}**: `);
    expect(md.split('\n---\n')).toHaveLength(RECORDS.length + 1);
    expect(toMarkdown([])).toBe('_Nenhuma resposta registrada no período._\n');
  });

  it("shows a conversation's turns together, in turn order, under a Conversa heading; lone turns as before", () => {
    const md = toMarkdown(RECORDS);
    const blocks = md.split('\n---\n');
    // Pergunta 8 (turn 2 of question 1's conversation) comes right after Pergunta 1.
    expect(blocks[0]).toMatch(/^## Conversa 1 \(2 turnos\)\n\n_Turno 1 da conversa 1_\n\n\*\*Pergunta 1\*\*: Como funciona o dropout\?/);
    expect(blocks[1]).toMatch(/^\n_Turno 2 da conversa 1_\n\n\*\*Pergunta 8\*\*: E no keras, como faço isso\?/);
    expect(blocks[1]).toContain('**Pergunta usada na busca**: Como usar dropout no keras?');
    expect(blocks[1]).toContain('**Aulas consultadas**: abc123');
    expect(blocks[1]).toContain('**Política de respostas**: orientar sem resolver trabalhos avaliados (versão 2026-1)');
    expect(blocks[2]).toMatch(/^\n\*\*Pergunta 2\*\*/);
    // A one-turn conversation is not a "Conversa".
    expect(blocks[5]).toMatch(/^\n\*\*Pergunta 5\*\*/);
    expect(md.match(/## Conversa/g)).toHaveLength(1);
  });

  it('--hide-urls prints oculto for every link', () => {
    const md = toMarkdown(RECORDS, { hideUrls: true });
    expect(md).not.toMatch(/https?:\/\//);
    expect(md).toContain('- *URL:* oculto');
    expect(md).toContain('- Aula 6 — Regularização (41:10–43:35): oculto');
    const json = toJsonl(RECORDS, { hideUrls: true });
    expect(json).not.toMatch(/https?:\/\//);
    expect(toExportRecord(RECORDS[0] as FullRecord, 1, { hideUrls: true }).references[0]?.url).toBe('oculto');
  });

  it('JSONL segments carry the retrieval evidence and the moment when the answer recorded them (older records: unchanged)', () => {
    const base = RECORDS[0] as FullRecord;
    const withEvidence: FullRecord = {
      ...base,
      segments: base.segments.map((seg, i) => ({
        ...seg,
        evidence: { coverage: 0.5, matched: ['dropout'], similarity: 0.8 },
        ...(i === 0 ? { moment: { at: seg.start + 20, excerpt: 'veja https://exemplo.org/x' } } : {}),
      })),
    };
    const out = toExportRecord(withEvidence, 1, { hideUrls: true });
    expect(out.segments[0]).toMatchObject({ evidence: { coverage: 0.5, matched: ['dropout'], similarity: 0.8 }, moment: { excerpt: 'veja oculto' } });
    expect(toExportRecord(base, 1).segments[0]).not.toHaveProperty('evidence');
  });
});

describe('--hide-urls with links planted everywhere', () => {
  /** Fragments of the planted links: none may survive in any format. */
  const SECRETS = [
    'drive.google', '1AbCdEfSegredo', 'dQw4w9WgXcQ', 'exemplo.com.br', 'youtu.be', 'XYZSECRETFOLDER', 'wikipedia', 'estatística)',
    'cdn.exemplo', 'evil.example', 'status.exemplo', '192.168.0.10', 'docs.google', 'DOCSEGREDO', 'bit.ly', '3xyzSegredo',
    'slides.exemplo', 'vimeo.com', '987654321', 'ftp.exemplo', 'arquivo.zip', 'senha', 'host.exemplo', '10.0.0.7', 'parte2',
    'localhost', '://', 'www.',
  ];
  const YT = 'dQw4w9WgXcQ';
  const planted = fullRecord({
    id: '66666666-6666-4666-8666-666666666666',
    lectureFilter: [YT],
    question: 'O material está em docs.google.com/document/d/DOCSEGREDO/edit? Sobre train.py e df.at',
    answer:
      'Veja www.exemplo.com.br/aula e youtu.be/dQw4w9WgXcQ, a pasta drive.google.com/drive/folders/XYZSECRETFOLDER, ' +
      'https://pt.wikipedia.org/wiki/Sobreajuste_(estatística) e //cdn.exemplo.org/lib/x.js, ' +
      'os [slides oficiais](https://evil.example/login) e ftp://ftp.exemplo.org/arquivo.zip [1].',
    kind: 'llm',
    segments: [
      segment({
        corpusId: 7,
        videoId: YT,
        title: 'Aula 3 — slides em https://drive.google.com/file/d/1AbCdEfSegredo/view',
        url: `https://www.youtube.com/watch?v=${YT}&t=10`,
        text: 'o link curto é bit.ly/3xyzSegredo e o vídeo anterior https://vimeo.com/987654321',
      }),
    ],
    references: [{ videoId: YT, title: 'Aula 3 — slides em slides.exemplo.org/aula3', start: 10, end: 95, url: `https://youtu.be/${YT}?t=10` }],
    notices: ['Fonte alternativa: https://status.exemplo.org/incidente'],
    votes: {
      up: 0,
      down: 1,
      items: [
        {
          answerId: '66666666-6666-4666-8666-666666666666',
          user: 'discord:dddddddddddddddd',
          value: 'down',
          comment:
            'o painel http://192.168.0.10:8080/painel caiu; o outro é 10.0.0.7:3000/admin ou localhost:8080/x; ' +
            'entre com https://aluno:senha@host.exemplo.org/x; a aula https://curso.exemplo.org/aula)parte2 também',
          platform: 'discord',
          at: '2026-03-06T12:05:00.000Z',
        },
      ],
    },
    judge: judgeRecord('66666666-6666-4666-8666-666666666666', { reasoning: 'Criteria: cita www.exemplo.com.br/aula. Supporting Evidence: youtu.be/dQw4w9WgXcQ. Score: 3' }),
  });

  it.each([
    ['JSONL', () => toJsonl([planted], { hideUrls: true })],
    ['CSV', () => toCsv([planted], { hideUrls: true })],
    ['Markdown', () => toMarkdown([planted], { hideUrls: true })],
  ])('%s: no planted link, host, path or YouTube id survives', (_format, render) => {
    const text = render();
    for (const secret of SECRETS) expect(text.includes(secret), secret).toBe(false);
    // What is not a link stays readable.
    expect(text).toContain('Aula 3 — slides em oculto');
    expect(text).toContain('Sobre train.py e df.at');
    expect(text).toContain('os [slides oficiais](oculto)');
  });

  it('without --hide-urls, everything is kept', () => {
    const text = toJsonl([planted]);
    for (const secret of ['drive.google', YT, 'estatística)', 'status.exemplo', '192.168.0.10']) expect(text).toContain(secret);
  });

  it('a video id that is part of its URL is hidden; one that is not is kept (it names the lecture, not the video)', () => {
    expect(toExportRecord(planted, 1, { hideUrls: true }).segments[0]?.videoId).toBe('oculto');
    expect(toExportRecord(planted, 1, { hideUrls: true }).references[0]?.videoId).toBe('oculto');
    // segment(): videoId "aula6", URL https://youtu.be/abc123?t=2470.
    const lecture = fullRecord({ segments: [segment()], references: [] });
    expect(toExportRecord(lecture, 1, { hideUrls: true }).segments[0]?.videoId).toBe('aula6');
    // The lecture filter's ids likewise; with no URL of that video in the record, hidden.
    expect(toExportRecord(planted, 1, { hideUrls: true }).lectureFilter).toEqual(['oculto']);
    expect(toExportRecord(fullRecord({ segments: [segment()], lectureFilter: ['aula6'] }), 1, { hideUrls: true }).lectureFilter).toEqual(['aula6']);
    expect(toExportRecord(fullRecord({ segments: [], references: [], lectureFilter: ['aula6'] }), 1, { hideUrls: true }).lectureFilter).toEqual(['oculto']);
  });
});

describe('the Markdown report escapes student and LLM text', () => {
  // Rendered as a viewer that allows HTML would (VS Code's preview, many static-site tools).
  const render = (md: string) => new MarkdownIt({ html: true }).render(md);
  const hostile = fullRecord({
    id: '77777777-7777-4777-8777-777777777777',
    question: 'Pergunta <b onmouseover=alert(1)>negrito</b> com \u202Eoculto\u202C e ![p](https://evil.example/q.png)',
    answer: [
      'O dropout desliga neurônios [1].',
      '---',
      '**Pergunta 99**: pergunta forjada',
      '',
      '**Anotação manual**: C',
      '',
      '# Título falso',
      'Subtítulo falso',
      '===',
      '',
      '[1]: https://evil.example/phish',
      '',
      'Texto \u202Eolleh\u202C, &#x202E;entidade e <script>alert(1)</script> e ![pixel](https://evil.example/pixel.png)',
      '',
      'Em código `<b>x</b>` fica como está, e também:',
      '```html',
      '<img src=x onerror=alert(2)>',
      '---',
      'código sem fechamento',
    ].join('\n'),
    kind: 'llm',
    segments: [segment({ title: 'Aula <img src=x onerror=alert(3)>', text: 'transcrição com ![img](https://evil.example/t.png) e <iframe src=x>' })],
    references: [{ videoId: 'aula6', title: 'Aula <img src=x onerror=alert(4)>', start: 10, end: 20, url: 'https://youtu.be/abc123?t=10' }],
    votes: {
      up: 0,
      down: 1,
      items: [
        {
          answerId: '77777777-7777-4777-8777-777777777777',
          user: 'discord:dddddddddddddddd',
          value: 'down',
          comment: '<img src=x onerror=alert(5)> e ![rastreio](https://evil.example/pixel.png) \u202Eabc',
          platform: 'discord',
          at: '2026-03-06T12:05:00.000Z',
        },
      ],
    },
    judge: judgeRecord('77777777-7777-4777-8777-777777777777', { reasoning: 'Criteria: <iframe src=https://evil.example>. Score: 3' }),
  });
  const records = [hostile, RECORDS[0] as FullRecord];

  it.each([false, true])('no HTML, remote image, bidi override or forged block survives (hide-urls: %s)', (hideUrls) => {
    const md = toMarkdown(records, { hideUrls });
    const html = render(md);
    // Exactly one separator per record, and the second record is still a record.
    expect(md.split('\n---\n')).toHaveLength(records.length + 1);
    expect(html.match(/<hr>/g)).toHaveLength(records.length);
    expect(html).toContain('<p><strong>Pergunta 2</strong>:');
    expect(html).not.toContain('<strong>Pergunta 99</strong>');
    // Only the second record's own annotation line, not the one forged inside the first answer.
    expect(html.match(/<p><strong>Anotação manual<\/strong>: C<\/p>/g)).toHaveLength(1);
    expect(html).not.toMatch(/<h1>|<h2>/);
    // No tag from the texts, no image, no link from a reference definition.
    expect(html).not.toMatch(/<(img|script|iframe|b)\b/);
    expect(html).not.toContain('evil.example/phish"');
    expect(md).not.toMatch(/[\u202A-\u202E\u2066-\u2069]/);
    expect(html).not.toContain('&#x202E;');
    expect(md).toContain('[U+202E]');
    // Code stays code, its fence is closed inside the answer.
    expect(html).toContain('<code>&lt;b&gt;x&lt;/b&gt;</code>');
    expect(html).toMatch(/<pre><code class="language-html">&lt;img src=x onerror=alert\(2\)&gt;\n ---\ncódigo sem fechamento\n<\/code><\/pre>/);
    // The text is still there to read.
    expect(html).toContain('pergunta forjada');
    expect(html).toContain('negrito');
  });

  it('a case\'s details, TA answer and closing reason are escaped like the answer (the human loop)', () => {
    const withCase = RECORDS.find((r) => r.case) as FullRecord;
    const base = withCase.case!;
    const hostileCase = fullRecord({
      ...withCase,
      id: '99999999-9999-4999-8999-999999999999',
      case: {
        ...base,
        requesters: [{ ...base.requesters[0]!, details: '<img src=x onerror=alert(6)>\n---\n# forjado' }],
        resolution: { ...base.resolution!, text: '<script>alert(7)</script> ![pixel](https://evil.example/p.png)' },
      },
    });
    const html = render(toMarkdown([hostileCase, RECORDS[0] as FullRecord]));
    expect(html).not.toMatch(/<(img|script|h1)\b/);
    expect(html.match(/<hr>/g)).toHaveLength(2);
    expect(html).toContain('alert(6)');
    expect(html).toContain('alert(7)');
  });

  it('an answer that opens with an unclosed code fence starts on its own line, and its fence is closed', () => {
    const code = fullRecord({ id: '88888888-8888-4888-8888-888888888888', answer: '```python\nmodel.fit(x)\n\n---\n**Pergunta 98**: x' });
    const md = toMarkdown([code, RECORDS[0] as FullRecord]);
    const html = render(md);
    expect(md).toContain('**Resposta gerada pelo LLM**:\n\n```python\n');
    expect(html).toContain('<pre><code class="language-python">model.fit(x)\n\n ---\n**Pergunta 98**: x\n</code></pre>');
    expect(html.match(/<hr>/g)).toHaveLength(2);
    expect(html).toContain('<p><strong>Pergunta 2</strong>:');
  });
});

describe('parseSince', () => {
  it('accepts dates and ISO date-times, rejects anything else', () => {
    expect(parseSince('2026-03-01')?.getTime()).toBe(new Date(2026, 2, 1).getTime());
    expect(parseSince('2026-03-01T08:00:00Z')?.toISOString()).toBe('2026-03-01T08:00:00.000Z');
    expect(parseSince('2026-03-01T08:00:00-03:00')?.toISOString()).toBe('2026-03-01T11:00:00.000Z');
    for (const bad of ['ontem', '01/03/2026', '2026-02-30', '2026-13-01', '2026-02-30T10:00:00Z', '', '2026-3-1']) {
      expect(parseSince(bad)).toBeUndefined();
    }
  });
});

describe('npm run export (CLI)', () => {
  let dir: string;
  let storeUrl: string;
  const RAW_IDS = ['998877665544332211', 'U0RAWSLACKID'];

  /** `npm run export` in a folder with no .env: only the store settings reach it (no developer .env, no shell settings). */
  const run = (args: string[]) =>
    runCli('src/cli/export.ts', args, cliEnv({ STORE_URL: storeUrl, USER_ID_SALT: 'sal-do-teste-de-export', LOG_LEVEL: 'info' }), dir);

  beforeAll(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'pergunta-export-'));
    storeUrl = `sqlite://${path.join(dir, 'data', 'store.sqlite')}`;
    const store = await createFeedbackStore({ url: storeUrl, salt: 'sal-do-teste-de-export', logger });
    for (const r of RECORDS) {
      const { votes: _v, annotation: _a, judge, platform, channel, user: _u, ...answer } = r;
      await store.recordAnswer(answer, { platform, channel, rawUserId: RAW_IDS[0] ?? '' });
      await store.vote({ answerId: r.id, platform: 'slack', rawUserId: RAW_IDS[1] ?? '', value: 'down', comment: 'vírgula, "aspas"\ne linha' });
      if (judge) await store.saveJudge(judge);
    }
    await store.annotate({ answerId: RECORDS[0]?.id ?? '', platform: 'slack', rawUserId: RAW_IDS[1] ?? '', label: 'P' });
    await store.close();
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('writes only the JSONL on stdout, identical to the library output', async () => {
    const result = await run(['--format', 'jsonl']);
    expect(result.code).toBe(0);
    const store = await createFeedbackStore({ url: storeUrl, salt: 'sal-do-teste-de-export', logger });
    const records = await store.listRecords();
    await store.close();
    expect(result.stdout).toBe(toJsonl(records));
    const lines = result.stdout.trim().split('\n').map((l) => JSON.parse(l) as { number: number; annotation: string | null; votes: { down: number } });
    expect(lines.map((l) => l.number)).toEqual(RECORDS.map((_, i) => i + 1));
    expect(lines[0]).toMatchObject({ annotation: 'P', votes: { down: 1 } });
    for (const raw of [...RAW_IDS, 'sal-do-teste-de-export']) {
      expect(result.stdout).not.toContain(raw);
      expect(result.stderr).not.toContain(raw);
    }
    expect(result.stderr).toContain('export finished');
  }, 60_000);

  it('writes CSV and Markdown to --out (nothing on stdout), honouring --since and --hide-urls', async () => {
    const csvFile = path.join(dir, 'out', 'export.csv');
    const csv = await run(['--format', 'csv', '--out', csvFile, '--since', '2026-03-05T00:00:00Z']);
    expect(csv.code).toBe(0);
    expect(csv.stdout).toBe('');
    const rows = parseCsv(readFileSync(csvFile, 'utf8'), { columns: true }) as Record<string, string>[];
    expect(rows.map((r) => r.id)).toEqual(RECORDS.slice(2).map((r) => r.id));
    // Comments are stored on one line (control characters become spaces).
    expect(rows[0]?.voteComments).toBe('👎 vírgula, "aspas" e linha');

    const mdFile = path.join(dir, 'out', 'report.md');
    const md = await run(['--out', mdFile, '--hide-urls']);
    expect(md.code).toBe(0);
    const text = readFileSync(mdFile, 'utf8');
    expect(text).toContain('**Pergunta 5**');
    expect(text).not.toMatch(/https?:\/\//);
  }, 90_000);

  it('exits 2 with a clear message for an invalid --since or format', async () => {
    const bad = await run(['--format', 'jsonl', '--since', '31/02/2026']);
    expect(bad.code).toBe(2);
    expect(bad.stdout).toBe('');
    expect(bad.stderr).toContain('--since: data inválida "31/02/2026"');
    const noFormat = await run([]);
    expect(noFormat.code).toBe(2);
    expect(noFormat.stderr).toContain('informe o formato com --format jsonl|csv|md');
  }, 60_000);
});
