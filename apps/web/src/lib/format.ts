const dateTime = new Intl.DateTimeFormat('en', { dateStyle: 'medium', timeStyle: 'short' });
const timeOnly = new Intl.DateTimeFormat('en', { timeStyle: 'short', hourCycle: 'h23' });
const dateOnly = new Intl.DateTimeFormat('en', { dateStyle: 'medium' });

export const formatDateTime = (date: Date) => dateTime.format(date);
/** "14:05", or with the date too when it is not today. */
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

export const roleLabel = (role: 'admin' | 'user') => (role === 'admin' ? 'Administrator' : 'User');
