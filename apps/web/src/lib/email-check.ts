/**
 * What is plainly wrong with an email typed to sign in or to ask for a reset
 * link, said before asking the server (which checks again). By hand, not with
 * the API's zod schema: the sign-in page is the first page anyone opens and
 * needs no validation library.
 */
export function emailProblem(email: string): string | undefined {
  const trimmed = email.trim();
  if (trimmed === '') return 'Enter an email address.';
  if (trimmed.length > 254) return 'An email address has at most 254 characters.';
  if (!/^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(trimmed)) return 'Enter a valid email address, like name@example.com.';
  return undefined;
}
