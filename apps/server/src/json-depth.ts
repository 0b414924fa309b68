const quote = 0x22;
const backslash = 0x5c;
const openBracket = 0x5b;
const openBrace = 0x7b;
const closeBracket = 0x5d;
const closeBrace = 0x7d;

/**
 * Whether a JSON text nests arrays and objects deeper than `maxDepth`, found by
 * one pass over its characters that counts brackets outside strings: linear,
 * without allocating, and it stops at the first level too deep. JSON.parse (and
 * superjson after it) spend far more on deep nesting than on the same bytes
 * flat, so this runs before them. Invalid JSON is not this function's business:
 * it only needs to never under-count for text that JSON.parse would accept.
 */
export function nestsDeeperThan(text: string, maxDepth: number): boolean {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === backslash) i++;
      else if (c === quote) inString = false;
    } else if (c === quote) {
      inString = true;
    } else if (c === openBracket || c === openBrace) {
      if (++depth > maxDepth) return true;
    } else if (c === closeBracket || c === closeBrace) {
      depth--;
    }
  }
  return false;
}
