/**
 * A fake LLM behaviour for conversation tests (test/fakes/fakeOpenAI.ts): it answers the
 * condense prompt with a standalone question built from the conversation it was given (the
 * latest earlier question, then the follow-up), and any answer prompt with a sentence quoting its
 * first excerpt, cited as [1]. So what retrieval searched, and what the answer quotes, show
 * whether the conversation reached them.
 */
import { CONDENSE_SYSTEM_PROMPT } from '../../src/answer/prompt.js';
import { lastMessage, type FakeBehavior, type FakeRequest } from '../fakes/fakeOpenAI.js';

const unescape = (text: string) => text.replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&amp;/g, '&');

/** What the fake answers the condense prompt: `<previous question> (<follow-up>)`. */
export function condensedFrom(request: FakeRequest): string {
  const user = lastMessage(request);
  const conversation = /<conversa>([\s\S]*?)<\/conversa>/.exec(user)?.[1] ?? '';
  const previous = [...conversation.matchAll(/<pergunta>(.*?)<\/pergunta>/g)].at(-1)?.[1] ?? '';
  const followUp = /<pergunta>\n([\s\S]*?)\n<\/pergunta>\s*$/.exec(user)?.[1] ?? '';
  return unescape(previous ? `${previous} (${followUp})` : followUp);
}

export function isCondenseRequest(request: FakeRequest): boolean {
  return request.messages[0]?.content === CONDENSE_SYSTEM_PROMPT;
}

/** The behaviour: condense → standalone question; answer → a sentence quoting excerpt 1. */
export function conversationalLlm(request: FakeRequest): FakeBehavior {
  if (isCondenseRequest(request)) return { type: 'text', text: condensedFrom(request) };
  const excerpt = /<trecho n="1"[^>]*>\n([\s\S]*?)\n<\/trecho>/.exec(lastMessage(request))?.[1] ?? '';
  const words = unescape(excerpt).split(/\s+/).slice(0, 12).join(' ');
  return { type: 'text', text: words ? `Segundo a aula: “${words}…” [1].` : 'As aulas não abordam isso: não encontrei esse assunto nos trechos das aulas.' };
}
