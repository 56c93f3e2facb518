/** Short, single-line renderings of untrusted text and values for error messages. */

const EXCERPT_CHARS = 200;

export function excerptOf(text: string, maxChars = EXCERPT_CHARS): string {
  const flat = JSON.stringify(text);
  return flat.length <= maxChars ? flat : `${flat.slice(0, maxChars)}... (${text.length} characters)`;
}

/** The value at a zod issue path inside parsed JSON, rendered short; 'nothing' when the path is absent. */
export function valueAt(root: unknown, path: readonly PropertyKey[]): string {
  let node: unknown = root;
  for (const key of path) {
    if (node === null || typeof node !== 'object' || !(key in node)) return 'nothing';
    node = (node as Record<PropertyKey, unknown>)[key];
  }
  const text = JSON.stringify(node);
  if (text === undefined) return String(node);
  return text.length <= 60 ? text : `${text.slice(0, 60)}...`;
}

export function formatPath(path: readonly PropertyKey[]): string {
  return path.reduce<string>(
    (acc, key) => (typeof key === 'number' ? `${acc}[${key}]` : acc ? `${acc}.${String(key)}` : String(key)),
    '',
  );
}
