/** "Did you mean ...?" for misspelt enum values and field names (pure). */

/** Levenshtein distance (insert, delete, substitute), case-insensitive. */
export function editDistance(a: string, b: string): number {
  const left = a.toLowerCase();
  const right = b.toLowerCase();
  let previous = Array.from({ length: right.length + 1 }, (_, j) => j);
  for (let i = 1; i <= left.length; i++) {
    const current = [i];
    for (let j = 1; j <= right.length; j++) {
      const cost = left[i - 1] === right[j - 1] ? 0 : 1;
      current.push(
        Math.min((previous[j] ?? 0) + 1, (current[j - 1] ?? 0) + 1, (previous[j - 1] ?? 0) + cost),
      );
    }
    previous = current;
  }
  return previous[right.length] ?? 0;
}

/**
 * The closest choice, if it is close enough to be a typo: at most a third of the word's length in edits,
 * rounded up (at least 1, at most 3), or the word is a prefix of the choice (`resnet18` -> `resnet18-cifar10`).
 */
export function closestChoice(word: string, choices: readonly string[]): string | undefined {
  const prefixed = choices.filter((choice) => choice.toLowerCase().startsWith(word.toLowerCase()));
  if (word.length >= 3 && prefixed.length === 1) return prefixed[0];
  const limit = Math.min(3, Math.max(1, Math.ceil(word.length / 3)));
  let best: string | undefined;
  let bestDistance = Number.POSITIVE_INFINITY;
  for (const choice of choices) {
    const distance = editDistance(word, choice);
    if (distance < bestDistance) {
      best = choice;
      bestDistance = distance;
    }
  }
  return bestDistance <= limit ? best : undefined;
}
