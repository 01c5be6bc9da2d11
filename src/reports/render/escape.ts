const HTML_ESCAPES: Readonly<Record<string, string>> = {
  "&": "&amp;",
  "<": "&lt;",
  ">": "&gt;",
  '"': "&quot;",
  "'": "&#39;",
};

/**
 * Escapes text for HTML (and SVG) element content and for quoted attribute values. Both quote
 * kinds are escaped so one function is safe in `"..."` and `'...'` attributes alike; it is not for
 * unquoted attributes, URLs, CSS or script, none of which the reports write from data.
 */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (char) => HTML_ESCAPES[char]!);
}
