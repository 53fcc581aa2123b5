/**
 * The dense index: hnswlib-node over L2-normalised vectors in inner-product space (for unit
 * vectors inner product is cosine similarity, without hnswlib renormalising every vector).
 * Labels are window corpus ids.
 *
 * hnswlib does not save `ef` with the index and resets it to 10 on load, which silently and
 * badly lowers recall on a large index: `ef` is set again on every load and every search.
 */
import hnswlib from 'hnswlib-node';

const { HierarchicalNSW } = hnswlib;
type Hnsw = InstanceType<typeof HierarchicalNSW>;

export interface HnswParams {
  m: number;
  efConstruction: number;
  ef: number;
}

export interface DenseHit {
  label: number;
  /** Cosine similarity (inner product of unit vectors). */
  score: number;
}

export class HnswIndex {
  private queryBuffer: number[];
  private live: number;

  private constructor(
    private readonly index: Hnsw,
    readonly dimensions: number,
    private readonly params: HnswParams,
    liveCount: number,
  ) {
    this.queryBuffer = new Array<number>(dimensions).fill(0);
    this.live = liveCount;
    index.setEf(params.ef);
  }

  static create(dimensions: number, capacity: number, params: HnswParams, seed = 100): HnswIndex {
    const index = new HierarchicalNSW('ip', dimensions);
    index.initIndex({ maxElements: Math.max(16, capacity), m: params.m, efConstruction: params.efConstruction, randomSeed: seed, allowReplaceDeleted: true });
    return new HnswIndex(index, dimensions, { ...params }, 0);
  }

  /**
   * Loads a saved index; the caller has already checked the file's size and checksum.
   * `liveCount` is the number of windows the manifest lists (deleted points stay in the file).
   */
  static async load(file: string, dimensions: number, params: HnswParams, liveCount: number): Promise<HnswIndex> {
    const index = new HierarchicalNSW('ip', dimensions);
    await index.readIndex(file, true);
    if (index.getNumDimensions() !== dimensions) {
      throw new Error(`${file} holds ${index.getNumDimensions()}-dimensional vectors, the manifest says ${dimensions}`);
    }
    return new HnswIndex(index, dimensions, { ...params }, liveCount);
  }

  get size(): number {
    return this.live;
  }

  setEf(ef: number): void {
    this.params.ef = ef;
    this.index.setEf(ef);
  }

  add(label: number, vector: ArrayLike<number>): void {
    if (vector.length !== this.dimensions) {
      throw new Error(`vector has ${vector.length} dimensions, the index has ${this.dimensions}`);
    }
    if (this.index.getCurrentCount() >= this.index.getMaxElements()) {
      this.index.resizeIndex(Math.ceil(this.index.getMaxElements() * 1.5) + 16);
    }
    this.index.addPoint(Array.from(vector), label, true);
    this.live++;
  }

  remove(label: number): void {
    this.index.markDelete(label);
    this.live--;
  }

  vector(label: number): number[] {
    return this.index.getPoint(label);
  }

  /** The k nearest windows; with `filter`, only labels it accepts (hnswlib filters while it searches). */
  search(query: ArrayLike<number>, k: number, filter?: (label: number) => boolean): DenseHit[] {
    const n = Math.min(k, this.live);
    if (n <= 0) return [];
    const buffer = this.queryBuffer;
    for (let i = 0; i < this.dimensions; i++) buffer[i] = query[i] ?? 0;
    if (this.params.ef < n) this.index.setEf(n);
    const { neighbors, distances } = filter ? this.index.searchKnn(buffer, n, filter) : this.index.searchKnn(buffer, n);
    if (this.params.ef < n) this.index.setEf(this.params.ef);
    return neighbors.map((label, i) => ({ label, score: 1 - distances[i]! }));
  }

  async save(file: string): Promise<void> {
    await this.index.writeIndex(file);
  }
}
