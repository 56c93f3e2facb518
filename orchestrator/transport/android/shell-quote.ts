/** Quoting for the phone's /bin/sh (pure): mksh on Android, dash or bash on the virtual phone. */

/** Single-quotes a word unless it is made only of characters no shell treats specially. */
export function shellQuote(word: string): string {
  return /^[A-Za-z0-9_./:=@%+,-]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`;
}
