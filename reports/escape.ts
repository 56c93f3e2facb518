/**
 * Escaping for the two places device- and config-supplied text lands in a report: HTML text and
 * attributes, and the inline JSON data block. Model names, serials and layer names come from phones and
 * YAML files we do not control, so nothing from them is ever written raw.
 */

const HTML_ESCAPES: Readonly<Record<string, string>> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&#39;',
};

/** Text safe inside an element or a quoted attribute value. */
export function escapeHtml(value: unknown): string {
  return String(value).replace(/[&<>"']/g, (char) => HTML_ESCAPES[char] ?? char);
}

/**
 * JSON safe inside `<script type="application/json">`: `<`, `>` and `&` become \u escapes so no
 * `</script>` or `<!--` can end or bend the element (https://html.spec.whatwg.org/#restrictions-for-contents-of-script-elements),
 * and U+2028/U+2029 are escaped too, for any consumer that evaluates the text as JavaScript. These
 * characters can only occur inside JSON strings, where the \u form means the same thing.
 */
export function jsonForScript(value: unknown): string {
  return JSON.stringify(value).replace(/[<>&\u2028\u2029]/g, (char) => {
    return `\\u${char.charCodeAt(0).toString(16).padStart(4, '0')}`;
  });
}

/**
 * A JavaScript library's source inlined in a `<script>` element: a literal `</script` inside a string
 * of the bundle would close the element early. `<\/script` means the same in any JS string or regex.
 */
export function scriptForInline(source: string): string {
  return source.replace(/<\/(script)/gi, '<\\/$1');
}
