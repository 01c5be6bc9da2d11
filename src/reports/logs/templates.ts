import { compareText, orderLevels } from "./log-line.js";
import type { TemplateInput } from "./template-input.js";
import { maskVariables } from "./mask.js";

/**
 * Message templates by the Drain algorithm (He et al., "Drain: An Online Log Parsing Approach with
 * Fixed Depth Tree", ICWS 2017), as Loki's pattern detection and Drain3 use it: lines are masked,
 * split into tokens, and walked down a tree by event, token count and first tokens to a leaf whose
 * clusters are compared token by token; a line joins the most similar one at or above a threshold
 * (differing tokens become `<_>`), or starts a new cluster.
 *
 * Hand-written because no maintained Drain is on npm: the two JavaScript ports found when this was
 * written (`logpare`, `@agentix-e/drain-ts`) are not published in the registry, and the kept
 * implementations are Loki's (Go) and Drain3 (Python).
 * Differences from Loki's: the tree's first layer is the line's `event` (and its codes, see
 * `TEMPLATE_FIELDS`), so a template never spans two events; variables are masked with named
 * placeholders first (Loki masks only while tokenizing); and once the cluster cap is reached, lines
 * that fit no cluster are counted rather than evicting the least recently used cluster, so a
 * report's counts never silently move.
 */

/** The placeholder of a token that differs between lines of one template. */
export const WILDCARD = "<_>";

/** Tunables of {@link TemplateMiner}. */
export interface TemplateMinerOptions {
  /**
   * Share of a template's fixed tokens a line must equal to join it. Above Drain3's 0.4 and Loki's
   * 0.3 because variables are masked first, so lines of one message match whole; at 0.4 two
   * executor errors behind the same `msg` merged into one template of wildcards. @default 0.6
   */
  similarityThreshold?: number;
  /** Tokens, after the token count, that choose the path down the tree. @default 2 */
  prefixTokens?: number;
  /** Children of one tree node; past this, new tokens share the wildcard child. @default 100 */
  maxChildren?: number;
  /** Clusters kept; lines that would start another are counted in `unclustered`. @default 1000 */
  maxClusters?: number;
  /** Tokens of a line; the rest are folded into the last one. @default 80 */
  maxTokens?: number;
  /** Characters of a line's text clustered (and kept as a sample). @default 1000 */
  maxTextLength?: number;
}

/** A template and what fell into it. */
export interface LogTemplate {
  /** Stable within one miner: clusters are numbered from 1 in order of creation. */
  id: number;
  event: string;
  /** Masked tokens joined by spaces; `<_>` where lines differ. */
  template: string;
  count: number;
  /** The text of the first line, unmasked. */
  sample: string;
  firstSeenMs: number;
  lastSeenMs: number;
  /** Lines by level. */
  levels: Record<string, number>;
}

interface Cluster {
  id: number;
  event: string;
  tokens: string[];
  count: number;
  sample: string;
  firstSeenMs: number;
  lastSeenMs: number;
  levels: Map<string, number>;
}

interface TreeNode {
  children: Map<string, TreeNode>;
  clusters: Cluster[];
}

/** Splits masked text into at most `maxTokens` whitespace-separated tokens. */
export function tokenize(masked: string, maxTokens: number): string[] {
  const tokens = masked.split(/\s+/).filter((token) => token !== "");
  if (tokens.length <= maxTokens) return tokens;
  return [...tokens.slice(0, maxTokens - 1), tokens.slice(maxTokens - 1).join(" ")];
}

/**
 * An online Drain clusterer with a bounded number of clusters. The same lines in the same order
 * always give the same templates, ids and counts.
 */
export class TemplateMiner {
  private readonly similarityThreshold: number;
  private readonly prefixTokens: number;
  private readonly maxChildren: number;
  private readonly maxClusters: number;
  private readonly maxTokens: number;
  private readonly maxTextLength: number;
  /** First layer: event and token count together. */
  private readonly roots = new Map<string, TreeNode>();
  private readonly clusters: Cluster[] = [];
  private unclusteredLines = 0;

  constructor(options: TemplateMinerOptions = {}) {
    this.similarityThreshold = options.similarityThreshold ?? 0.6;
    this.prefixTokens = options.prefixTokens ?? 2;
    this.maxChildren = Math.max(2, options.maxChildren ?? 100);
    this.maxClusters = options.maxClusters ?? 1000;
    this.maxTokens = Math.max(1, options.maxTokens ?? 80);
    this.maxTextLength = options.maxTextLength ?? 1000;
  }

  /** Lines that fitted no cluster once `maxClusters` were made. */
  get unclustered(): number {
    return this.unclusteredLines;
  }

  /** Clusters made so far. */
  get size(): number {
    return this.clusters.length;
  }

  /** Clusters one line; returns its cluster's id, or `undefined` when it fitted none and the cap is reached. */
  add(input: TemplateInput): number | undefined {
    const text = input.text.slice(0, this.maxTextLength);
    const tokens = tokenize(maskVariables(text), this.maxTokens);
    const rootKey = `${input.event}\u0000${input.partition ?? ""}\u0000${tokens.length}`;
    let cluster = this.search(this.roots.get(rootKey), tokens);
    if (cluster) {
      for (let i = 0; i < tokens.length; i++)
        if (cluster.tokens[i] !== tokens[i]) cluster.tokens[i] = WILDCARD;
    } else {
      if (this.clusters.length >= this.maxClusters) {
        this.unclusteredLines++;
        return undefined;
      }
      cluster = {
        id: this.clusters.length + 1,
        event: input.event,
        tokens,
        count: 0,
        sample: text,
        firstSeenMs: input.timeMs,
        lastSeenMs: input.timeMs,
        levels: new Map(),
      };
      this.clusters.push(cluster);
      this.insert(rootKey, cluster);
    }
    cluster.count++;
    cluster.firstSeenMs = Math.min(cluster.firstSeenMs, input.timeMs);
    cluster.lastSeenMs = Math.max(cluster.lastSeenMs, input.timeMs);
    cluster.levels.set(input.level, (cluster.levels.get(input.level) ?? 0) + 1);
    return cluster.id;
  }

  /** The current template text of cluster `id` (it may still widen as lines are added). */
  template(id: number): string {
    return this.clusters[id - 1]?.tokens.join(" ") ?? "";
  }

  /** The event of cluster `id`. */
  event(id: number): string {
    return this.clusters[id - 1]?.event ?? "";
  }

  /** Every template, most lines first, then by event, template and id. */
  templates(): LogTemplate[] {
    return this.clusters
      .map((cluster) => ({
        id: cluster.id,
        event: cluster.event,
        template: cluster.tokens.join(" "),
        count: cluster.count,
        sample: cluster.sample,
        firstSeenMs: cluster.firstSeenMs,
        lastSeenMs: cluster.lastSeenMs,
        levels: orderLevels(cluster.levels),
      }))
      .sort(
        (a, b) =>
          b.count - a.count ||
          compareText(a.event, b.event) ||
          compareText(a.template, b.template) ||
          a.id - b.id,
      );
  }

  /** Walks down by the first tokens (exact child, else the wildcard child) and picks the closest cluster. */
  private search(root: TreeNode | undefined, tokens: string[]): Cluster | undefined {
    let node = root;
    for (let depth = 0; node && depth < this.descent(tokens); depth++) {
      const token = tokens[depth] as string;
      node = node.children.get(token) ?? node.children.get(WILDCARD);
    }
    if (!node) return undefined;
    let best: Cluster | undefined;
    let bestSimilarity = -1;
    let bestParams = -1;
    for (const cluster of node.clusters) {
      const [similarity, params] = this.similarity(cluster.tokens, tokens);
      // Ties go to the more general template, then to the older one: deterministic.
      if (similarity > bestSimilarity || (similarity === bestSimilarity && params > bestParams)) {
        best = cluster;
        bestSimilarity = similarity;
        bestParams = params;
      }
    }
    return bestSimilarity >= this.similarityThreshold ? best : undefined;
  }

  /** Share of the template's tokens equal to the line's, wildcards counting as unequal (as Drain3 trains). */
  private similarity(template: string[], tokens: string[]): [number, number] {
    if (template.length === 0) return [1, 0];
    let equal = 0;
    let params = 0;
    for (let i = 0; i < template.length; i++) {
      if (template[i] === WILDCARD) params++;
      else if (template[i] === tokens[i]) equal++;
    }
    return [equal / template.length, params];
  }

  private insert(rootKey: string, cluster: Cluster): void {
    let node = this.roots.get(rootKey);
    if (!node) {
      node = { children: new Map(), clusters: [] };
      this.roots.set(rootKey, node);
    }
    for (let depth = 0; depth < this.descent(cluster.tokens); depth++) {
      node = this.child(node, cluster.tokens[depth] as string);
    }
    node.clusters.push(cluster);
  }

  /** The child a new template's token goes to; a token with digits, or a full node, goes to the wildcard. */
  private child(node: TreeNode, token: string): TreeNode {
    const existing = node.children.get(token);
    if (existing) return existing;
    // One slot is kept for the wildcard, so a full node still has somewhere to put new tokens.
    const key = /\d/.test(token) || node.children.size >= this.maxChildren - 1 ? WILDCARD : token;
    let child = node.children.get(key);
    if (!child) {
      child = { children: new Map(), clusters: [] };
      node.children.set(key, child);
    }
    return child;
  }

  /** Tokens used to descend: never the last one, which stays for the similarity test. */
  private descent(tokens: string[]): number {
    return Math.min(this.prefixTokens, tokens.length - 1);
  }
}
