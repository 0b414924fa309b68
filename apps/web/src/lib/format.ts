// Dates and times in the browser's own locale, one format for each: a time reads
// the same in a lock badge, a table and the audit log.
const dateTime = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'short' });
const timeOnly = new Intl.DateTimeFormat(undefined, { timeStyle: 'short' });
const dateOnly = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium' });

export const formatDateTime = (date: Date) => dateTime.format(date);
/** The time alone ("14:05" or "2:05 PM", as the browser's locale writes it), with the date too when not today. */
export function formatLockTime(date: Date, now = new Date()): string {
  return date.toDateString() === now.toDateString() ? timeOnly.format(date) : dateTime.format(date);
}
export const formatDate = (date: Date) => dateOnly.format(date);

export function fullName(user: { firstName: string; lastName: string }): string {
  return `${user.firstName} ${user.lastName}`.trim();
}

export function plural(count: number, one: string, many = `${one}s`): string {
  return `${count} ${count === 1 ? one : many}`;
}

export const roleLabel = (role: 'admin' | 'account_admin' | 'auditor' | 'user') =>
  ({ admin: 'Administrator', account_admin: 'Account administrator', auditor: 'Auditor', user: 'User' })[role];
