import { readFileSync } from "node:fs";
import ts from "typescript";

/** What the JSDoc comment above one key of a zod schema says. */
export interface KeyComment {
  /** The comment's text, without its tags, on one line. */
  description: string;
  /** The text of its `@default` tag, when it has one. */
  defaultTag: string | undefined;
}

/** The path segment that stands for a user-chosen key of a `z.record` (`instruments.<name>.…`). */
export const RECORD_KEY = "<name>";

/** zod methods that build an object schema from an object literal of keys. */
const OBJECT_BUILDERS = new Set(["object", "strictObject", "looseObject"]);

/**
 * Reads the JSDoc comment of every key of the zod object schema `root` declared in `file`,
 * keyed by its dotted path (`risk.maxExposure.total`; `instruments.<name>.pricePrecision` inside
 * a record). It follows what a reader follows: method chains (`.default()`, `.prefault()`,
 * `.optional()`, `.superRefine()`…) down to the `z.object({…})` they start from, constants
 * declared in the same file (`logging: LoggingConfig.prefault({})`), and the value schema of a
 * `z.record`. Only the syntax is read, so a schema that is being edited still yields its comments.
 */
export function readSchemaComments(file: string, root: string): Map<string, KeyComment> {
  const source = ts.createSourceFile(file, readFileSync(file, "utf8"), ts.ScriptTarget.Latest, true);
  const constants = new Map<string, ts.Expression>();
  for (const statement of source.statements) {
    if (!ts.isVariableStatement(statement)) continue;
    for (const declaration of statement.declarationList.declarations) {
      if (ts.isIdentifier(declaration.name) && declaration.initializer) {
        constants.set(declaration.name.text, declaration.initializer);
      }
    }
  }
  const start = constants.get(root);
  if (!start) throw new Error(`${file}: no constant named ${root}`);

  const comments = new Map<string, KeyComment>();
  const visiting = new Set<string>();

  const walkSchema = (node: ts.Expression, path: string[]): void => {
    const expression = skipOuterExpressions(node);
    if (ts.isIdentifier(expression)) {
      const initializer = constants.get(expression.text);
      // A constant used inside itself would loop; zod schemas do not do that, but a typo might.
      if (!initializer || visiting.has(expression.text)) return;
      visiting.add(expression.text);
      walkSchema(initializer, path);
      visiting.delete(expression.text);
      return;
    }
    if (!ts.isCallExpression(expression) || !ts.isPropertyAccessExpression(expression.expression)) return;
    const method = expression.expression.name.text;
    const receiver = expression.expression.expression;
    const [first, second] = expression.arguments;
    if (ts.isIdentifier(receiver) && receiver.text === "z") {
      if (OBJECT_BUILDERS.has(method) && first && ts.isObjectLiteralExpression(first)) walkShape(first, path);
      if (method === "record" && second) walkSchema(second, [...path, RECORD_KEY]);
      return;
    }
    if (method === "extend" && first && ts.isObjectLiteralExpression(first)) walkShape(first, path);
    walkSchema(receiver, path);
  };

  const walkShape = (shape: ts.ObjectLiteralExpression, path: string[]): void => {
    for (const property of shape.properties) {
      // Spread keys are not followed: the generator then reports them as undocumented.
      if (!ts.isPropertyAssignment(property)) continue;
      const name = propertyName(property.name);
      if (name === undefined) continue;
      const key = [...path, name];
      const comment = readComment(property);
      if (comment) comments.set(key.join("."), comment);
      walkSchema(property.initializer, key);
    }
  };

  walkSchema(start, []);
  return comments;
}

function skipOuterExpressions(node: ts.Expression): ts.Expression {
  let current = node;
  while (
    ts.isParenthesizedExpression(current) ||
    ts.isAsExpression(current) ||
    ts.isSatisfiesExpression(current) ||
    ts.isNonNullExpression(current)
  ) {
    current = current.expression;
  }
  return current;
}

function propertyName(name: ts.PropertyName): string | undefined {
  if (ts.isIdentifier(name) || ts.isStringLiteral(name) || ts.isNumericLiteral(name)) return name.text;
  return undefined;
}

/** The JSDoc block closest to `node`, if there is one. */
function readComment(node: ts.Node): KeyComment | undefined {
  const doc = ts.getJSDocCommentsAndTags(node).filter(ts.isJSDoc).at(-1);
  if (!doc) return undefined;
  const description = oneLine(ts.getTextOfJSDocComment(doc.comment) ?? "");
  const tag = doc.tags?.find((t) => t.tagName.text === "default");
  const defaultTag = tag ? oneLine(ts.getTextOfJSDocComment(tag.comment) ?? "") : undefined;
  if (!description && defaultTag === undefined) return undefined;
  return { description, defaultTag };
}

function oneLine(text: string): string {
  return text.replace(/\s+/g, " ").trim();
}
