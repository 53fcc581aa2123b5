/**
 * The LangChain part of the RSS probe (`bench/lib/rssProbe.ts`, kind `langchain-hnswlib`): loads
 * a store saved by `HNSWLib.save()` the way its documentation shows.
 */
import { HNSWLib } from '@langchain/community/vectorstores/hnswlib';
import { Embeddings } from '@langchain/core/embeddings';

class NoEmbeddings extends Embeddings {
  async embedDocuments(): Promise<number[][]> {
    throw new Error('not used');
  }
  async embedQuery(): Promise<number[]> {
    throw new Error('not used');
  }
}

/** The loaded store (kept alive by the caller while RSS is read) and its element count. */
export async function loadLangchainHnswlib(dir: string): Promise<{ store: unknown; elements: number }> {
  const store = await HNSWLib.load(dir, new NoEmbeddings({}));
  return { store, elements: store.index.getCurrentCount() };
}
