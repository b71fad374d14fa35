import { distance } from "fastest-levenshtein";

/**
 * The candidate nearest to a mistyped word, if it is near enough to be what
 * was meant (at most a third of its letters off, as git's "did you mean").
 * A candidate the word is a prefix of counts as near too (`--exc` → `--exclude`).
 */
export function nearest(word: string, candidates: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const c of candidates) {
    const d = c.startsWith(word) && word.length >= 2 ? 0.5 : distance(word, c);
    if (d < bestDistance) [best, bestDistance] = [c, d];
  }
  return bestDistance <= Math.max(1, Math.floor(word.length / 3)) ? best : undefined;
}
