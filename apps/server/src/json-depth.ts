const quote = 0x22;
const backslash = 0x5c;
const openBracket = 0x5b;
const openBrace = 0x7b;
const closeBracket = 0x5d;
const closeBrace = 0x7d;

/**
 * Counts how deep a JSON text nests arrays and objects, fed in pieces as they
 * arrive: one pass over the bytes that counts brackets outside strings, linear,
 * without allocating, and it says "too deep" at the first level past the limit,
 * so a body can be refused before the rest of it is even read. JSON.parse (and
 * superjson after it) spend far more on deep nesting than on the same bytes
 * flat, so this runs before them. Invalid JSON is not its business: it only
 * must never under-count text that JSON.parse accepts. Works on UTF-8 bytes:
 * every byte of a multi-byte character is >= 0x80, never a bracket or quote.
 */
export class JsonDepthScanner {
  private depth = 0;
  private inString = false;
  private escaped = false;

  constructor(private readonly maxDepth: number) {}

  /** Feeds the next bytes; true once the text has gone deeper than the limit. */
  push(bytes: Uint8Array): boolean {
    let { depth, inString, escaped } = this;
    const max = this.maxDepth;
    for (let i = 0; i < bytes.length; i++) {
      const c = bytes[i];
      if (inString) {
        if (escaped) escaped = false;
        else if (c === backslash) escaped = true;
        else if (c === quote) inString = false;
      } else if (c === quote) {
        inString = true;
      } else if (c === openBracket || c === openBrace) {
        if (++depth > max) {
          this.depth = depth;
          return true;
        }
      } else if (c === closeBracket || c === closeBrace) {
        depth--;
      }
    }
    this.depth = depth;
    this.inString = inString;
    this.escaped = escaped;
    return false;
  }
}

/** Whether a whole JSON text nests arrays and objects deeper than `maxDepth`. */
export function nestsDeeperThan(text: string, maxDepth: number): boolean {
  return new JsonDepthScanner(maxDepth).push(Buffer.from(text, 'utf8'));
}
