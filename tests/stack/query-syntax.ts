import type { SyntaxNode, Tree } from "@lezer/common";
import { parser as logqlParser } from "@grafana/lezer-logql";
import { parser as promqlParser } from "@prometheus-io/lezer-promql";

/**
 * PromQL and LogQL read with the grammars Prometheus's and Grafana's own editors use
 * (@prometheus-io/lezer-promql, @grafana/lezer-logql). Lezer recovers from syntax errors by
 * inserting error nodes, so every caller checks {@link syntaxErrors} before trusting a tree.
 */

export function parsePromql(expr: string): Tree {
  return promqlParser.parse(expr);
}

export function parseLogql(expr: string): Tree {
  return logqlParser.parse(expr);
}

/** Positions and text of the syntax errors lezer recovered from; empty when the text parses. */
export function syntaxErrors(tree: Tree, text: string): string[] {
  const errors: string[] = [];
  tree.iterate({
    enter(node) {
      if (node.type.isError)
        errors.push(`at ${node.from}: "${text.slice(Math.max(0, node.from - 10), node.to + 10)}"`);
    },
  });
  return errors;
}

function* descendants(node: SyntaxNode): Generator<SyntaxNode> {
  for (let child = node.firstChild; child; child = child.nextSibling) {
    yield child;
    yield* descendants(child);
  }
}

/** One label matcher of a selector, its value unquoted. */
export interface LabelMatcher {
  label: string;
  op: "=" | "!=" | "=~" | "!~";
  value: string;
}

/** A vector selector: `metric{label="value", …}`; `metric` is undefined for `{__name__=…}`. */
export interface Selector {
  metric: string | undefined;
  matchers: LabelMatcher[];
}

/** Every vector selector of a PromQL expression. */
export function promqlSelectors(expr: string): Selector[] {
  const text = (node: SyntaxNode): string => expr.slice(node.from, node.to);
  const selectors: Selector[] = [];
  // In lezer-promql a selector is `VectorSelector { Identifier? LabelMatchers? }`, and a matcher
  // `UnquotedLabelMatcher { LabelName MatchOp StringLiteral }`.
  for (const node of descendants(parsePromql(expr).topNode)) {
    if (node.name !== "VectorSelector") continue;
    const identifier = node.getChild("Identifier");
    const matchers: LabelMatcher[] = [];
    for (const matcher of node.getChild("LabelMatchers")?.getChildren("UnquotedLabelMatcher") ?? []) {
      const label = matcher.getChild("LabelName");
      const op = matcher.getChild("MatchOp");
      const value = matcher.getChild("StringLiteral");
      if (label && op && value)
        matchers.push({
          label: text(label),
          op: text(op) as LabelMatcher["op"],
          value: unquote(text(value)),
        });
    }
    selectors.push({ metric: identifier ? text(identifier) : undefined, matchers });
  }
  return selectors;
}

/** The value of a PromQL string literal: "double-quoted" (with escapes), 'single' or `raw`. */
function unquote(literal: string): string {
  return literal.startsWith('"') ? (JSON.parse(literal) as string) : literal.slice(1, -1);
}

/** A range-vector function call and the range it was given. */
export interface RangeCall {
  fn: string;
  range: string;
}

/** Every function call on a `[range]` in PromQL (`rate(x[5m])`, `max_over_time(y[1h])`, …). */
export function promqlRangeCalls(expr: string): RangeCall[] {
  const text = (node: SyntaxNode): string => expr.slice(node.from, node.to);
  const calls: RangeCall[] = [];
  for (const node of descendants(parsePromql(expr).topNode)) {
    if (node.name !== "FunctionCall") continue;
    const identifier = node.getChild("FunctionIdentifier");
    const duration = node.getChild("FunctionCallBody")?.getChild("MatrixSelector")?.getChild("DurationExpr");
    if (identifier && duration) calls.push({ fn: text(identifier), range: text(duration) });
  }
  return calls;
}

/** Every `[range]` of a LogQL range aggregation (count_over_time, rate, …). */
export function logqlRanges(expr: string): string[] {
  const ranges: string[] = [];
  for (const node of descendants(parseLogql(expr).topNode)) {
    if (node.name === "Range")
      ranges.push(
        expr
          .slice(node.from, node.to)
          .replace(/^\[|\]$/g, "")
          .trim(),
      );
  }
  return ranges;
}

/** Whether a LogQL expression is a metric query (what an alerting rule needs), not a log query. */
export function isLogqlMetricQuery(expr: string): boolean {
  const top = parseLogql(expr).topNode.firstChild;
  return top?.firstChild?.type.name === "MetricExpr";
}
