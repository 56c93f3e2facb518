/** Android's `getprop` listing (pure): one `[key]: [value]` per line, as adbkit's getProperties reads it. */
export function parseGetprop(text: string): Record<string, string> {
  const properties: Record<string, string> = {};
  for (const match of text.matchAll(/^\[([^\]]+)\]: \[([^\]]*)\]\s*$/gm)) {
    const [, key, value] = match;
    if (key !== undefined) properties[key] = value ?? '';
  }
  return properties;
}
