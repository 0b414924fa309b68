import { z } from 'zod';
import { usersExportPath } from '../users/csv-columns.js';

// Input schemas shared by the API and the console's forms: one definition of "valid".

/** Trimmed, lower-cased, validated email. */
export const emailSchema = z
  .string({ error: 'Enter an email address' })
  .trim()
  .toLowerCase()
  .min(1, 'Enter an email address')
  .max(254, 'An email address has at most 254 characters')
  .pipe(z.email({ error: 'Enter a valid email address, like name@example.com' }));

// Control characters (NUL above all, which PostgreSQL cannot store) have no place in a name.
// biome-ignore lint/suspicious/noControlCharactersInRegex: matching them is the point.
const controlCharacters = /[\u0000-\u001f\u007f-\u009f]/;
// biome-ignore lint/suspicious/noControlCharactersInRegex: matching them is the point.
const controlButWhitespace = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f]/;

const boundedName = (label: string) =>
  z
    .string({ error: `Enter a ${label}` })
    .trim()
    .min(1, `Enter a ${label}`)
    .max(100, `A ${label} has at most 100 characters`)
    .refine((value) => !controlCharacters.test(value), `A ${label} cannot contain control characters`);

export const firstNameSchema = boundedName('first name');
export const lastNameSchema = boundedName('last name');

/** Passwords are never trimmed or case-folded. */
export const passwordSchema = z
  .string({ error: 'Enter a password' })
  .min(8, 'A password has at least 8 characters')
  .max(256, 'A password has at most 256 characters');

/**
 * The roles (core/access.ts says what each may do): an organization administrator,
 * an account administrator, an auditor, a plain user.
 */
export const roles = ['admin', 'account_admin', 'auditor', 'user'] as const;
export const roleSchema = z.enum(roles, { error: "Role is 'admin', 'account_admin', 'auditor' or 'user'" });

export const idSchema = z.uuid({ error: 'Not a valid id' });

export const accountNameSchema = z
  .string({ error: 'Enter an account name' })
  .trim()
  .min(1, 'Enter an account name')
  .max(100, 'An account name has at most 100 characters')
  .refine((value) => !controlCharacters.test(value), 'An account name cannot contain control characters');

export const accountDescriptionSchema = z
  .string()
  .trim()
  .max(1000, 'A description has at most 1000 characters')
  .refine((value) => !controlButWhitespace.test(value), 'A description cannot contain control characters');

export const limitSchema = z
  .number({ error: 'Limit is a number' })
  .int('Limit is a whole number')
  .min(1, 'Limit is at least 1')
  .max(100, 'Limit is at most 100')
  .default(25);

/** A page's `nextCursor`; absent or null is the first page (a client may pass back the null it was given). */
export const cursorSchema = z
  .string()
  .max(1000, 'Not a valid cursor')
  .nullable()
  .transform((cursor) => cursor ?? undefined)
  .optional();

export const searchQuerySchema = z
  .string()
  .trim()
  .max(200, 'A search has at most 200 characters')
  .refine((value) => !controlCharacters.test(value), 'A search cannot contain control characters')
  .optional();

export {
  neutralizeFormulaCell,
  restoreFormulaCell,
  type UserCsvColumn,
  userCsvColumns,
  usersExportPath,
} from '../users/csv-columns.js';

/**
 * The address of a users export (see `usersExportPath`): the filters as query
 * parameters, booleans as `true` / `false`, absent ones left out (the dormant
 * filter as `neverSignedIn=true` or `lastSignInBefore=<ISO date>`); `bom` starts
 * the file with a UTF-8 byte order mark (for Excel).
 */
export function usersExportUrl(filter: UserFilterInput, options: { bom?: boolean } = {}): string {
  const params = new URLSearchParams();
  for (const key of ['query', 'accountId', 'active', 'role', 'locked'] as const) {
    const value = filter[key];
    if (value !== undefined && value !== '') params.set(key, String(value));
  }
  const lastSignIn = filter.lastSignIn;
  if (lastSignIn && 'never' in lastSignIn) params.set('neverSignedIn', 'true');
  if (lastSignIn && 'before' in lastSignIn) params.set('lastSignInBefore', lastSignIn.before.toISOString());
  if (options.bom) params.set('bom', 'true');
  const query = params.toString();
  return query ? `${usersExportPath}?${query}` : usersExportPath;
}

/** The orders the users tables sort in; `name` is last name, then first name (case and accents ignored). */
export const userSortFields = ['name', 'email', 'lastSignIn', 'created'] as const;
export type UserSortField = (typeof userSortFields)[number];
export const sortDirections = ['asc', 'desc'] as const;
export type SortDirection = (typeof sortDirections)[number];

/** users.search's order; absent, email ascending. Users who never signed in come last either way. */
export const userSortSchema = z.object({
  by: z.enum(userSortFields, { error: "Sort by 'name', 'email', 'lastSignIn' or 'created'" }),
  direction: z.enum(sortDirections, { error: "The direction is 'asc' or 'desc'" }).default('asc'),
});
export type UserSort = z.output<typeof userSortSchema>;

/** Dates PostgreSQL can store and compare: years 1 to 9999. */
const storableDate = z
  .date({ error: 'Give a date' })
  .refine(
    (date) => date.getUTCFullYear() >= 1 && date.getUTCFullYear() <= 9999,
    'Give a date between the years 1 and 9999',
  );

/**
 * The dormant filter: users who never signed in (`never: true`), or whose last
 * sign-in was before a date (`before`; users who never signed in are not among them).
 */
export const lastSignInFilterSchema = z.union(
  [z.object({ never: z.literal(true) }).strict(), z.object({ before: storableDate }).strict()],
  { error: 'Filter last sign-in by { never: true } or { before: <date> }' },
);
export type LastSignInFilter = z.output<typeof lastSignInFilterSchema>;

/**
 * What a users search filters on (`users.search` without its paging), and so
 * what a users export takes: the CSV of a search has exactly the users its pages show.
 */
export const userFilterSchema = z.object({
  query: searchQuerySchema,
  accountId: idSchema.optional(),
  active: z.boolean({ error: 'Active is true or false' }).optional(),
  role: roleSchema.optional(),
  locked: z.boolean({ error: 'Locked is true or false' }).optional(),
  lastSignIn: lastSignInFilterSchema.optional(),
});
export type UserFilterInput = z.input<typeof userFilterSchema>;

export const newUserSchema = z.object({
  email: emailSchema,
  firstName: firstNameSchema,
  lastName: lastNameSchema,
  password: passwordSchema.optional(),
});

export const createAccountSchema = z.object({
  name: accountNameSchema,
  description: accountDescriptionSchema.optional(),
  users: z
    .array(newUserSchema)
    .max(100, 'Add at most 100 users at once')
    .default([])
    .superRefine((users, ctx) => {
      const seen = new Set<string>();
      users.forEach((user, index) => {
        if (seen.has(user.email)) {
          ctx.addIssue({
            code: 'custom',
            path: [index, 'email'],
            message: 'This email appears more than once in the form',
          });
        }
        seen.add(user.email);
      });
    }),
});

export const createUserSchema = z.object({
  accountId: idSchema,
  email: emailSchema,
  firstName: firstNameSchema,
  lastName: lastNameSchema,
  password: passwordSchema.optional(),
  role: roleSchema.optional(),
  /**
   * Without a password the user is invited by email (default); false creates them without an
   * invitation (an administrator sets the password, or sends one later with users.resendInvitation).
   */
  sendInvitation: z.boolean({ error: 'sendInvitation is true or false' }).optional(),
});

export const updateUserSchema = z.object({
  id: idSchema,
  firstName: firstNameSchema.optional(),
  lastName: lastNameSchema.optional(),
  email: emailSchema.optional(),
  version: z.number().int().min(1).optional(),
});

export const changePasswordSchema = z.object({
  currentPassword: z
    .string({ error: 'Enter your current password' })
    .min(1, 'Enter your current password')
    .max(256, 'A password has at most 256 characters'),
  newPassword: passwordSchema,
});

/** The token of a mailed link (an invitation, a password reset), as the console reads it from the link. */
export const linkTokenSchema = z
  .string({ error: 'The link is incomplete: open it again from the mail' })
  .trim()
  .min(20, 'The link is incomplete: open it again from the mail')
  .max(200, 'The link is not valid');

export const invitationLookupSchema = z.object({ token: linkTokenSchema });

export const acceptInvitationSchema = z.object({ token: linkTokenSchema, password: passwordSchema });

export const requestPasswordResetSchema = z.object({ email: emailSchema });

export const resetPasswordSchema = z.object({ token: linkTokenSchema, password: passwordSchema });

export const loginSchema = z.object({
  email: emailSchema,
  // Any length is accepted here: a wrong password is a failed sign-in, not a form error.
  password: z.string({ error: 'Enter your password' }).min(1, 'Enter your password').max(1024),
});

export const apiKeyNameSchema = z
  .string({ error: 'Enter a name for the key' })
  .trim()
  .min(1, 'Enter a name for the key')
  .max(100, 'A key name has at most 100 characters')
  .refine((value) => !controlCharacters.test(value), 'A key name cannot contain control characters');

export const createApiKeySchema = z.object({
  name: apiKeyNameSchema,
  /** When the key stops working; without it, the longest allowed (`API_KEY_MAX_DAYS`, default 365 days). */
  expiresAt: z
    .date({ error: 'The expiry is a date and time' })
    .refine((date) => date.getTime() > Date.now(), 'The expiry must be in the future')
    .optional(),
});

/**
 * Every action the audit log records, for filters and the console's labels:
 * a row's action is always one of these (recordAudit takes only these).
 */
export const auditActions = [
  'organization.created',
  'account.created',
  'account.updated',
  'account.deleted',
  'user.created',
  'user.updated',
  'user.deleted',
  'user.deactivated',
  'user.reactivated',
  'user.role_changed',
  'user.password_set',
  'user.password_changed',
  'user.locked',
  'user.unlocked',
  'user.sessions_ended',
  'user.moved',
  'users.bulk_action',
  'api_key.created',
  'api_key.revoked',
  'api_key.refused',
  'auth.signed_in',
  'auth.sign_in_failed',
  'auth.signed_out',
  'scim_connection.created',
  'scim_connection.revoked',
  'users.exported',
  'account.users_imported',
  'user.invited',
  'user.invitation_resent',
  'user.invitation_cancelled',
  'user.invitation_accepted',
  'user.password_reset_requested',
  'user.password_reset',
  'user.email_change_notified',
  'auth.link_refused',
  'mail.sent',
  'mail.failed',
  'mail.logged',
] as const;
export type AuditAction = (typeof auditActions)[number];

export const auditActionSchema = z.enum(auditActions, { error: 'Not an action the audit log records' });

/** The verdicts of an import's preview, errors first. */
export const importVerdicts = ['error', 'create', 'update', 'unchanged'] as const;
export type ImportVerdictName = (typeof importVerdicts)[number];
/** The filters of users.search, without paging: what a bulk action selects by search (the same as an export's). */
export const userSearchFilterSchema = userFilterSchema.strict();
export type UserSearchFilter = z.infer<typeof userSearchFilterSchema>;

export const bulkActions = ['deactivate', 'reactivate', 'delete', 'move', 'end_sessions', 'unlock'] as const;
export type BulkActionName = (typeof bulkActions)[number];
export const bulkActionSchema = z.enum(bulkActions, {
  error: `The action is one of ${bulkActions.join(', ')}`,
});

/** At most this many ids in one selection; more users are selected by search. */
export const bulkMaxIds = 10_000;

/** The users a bulk action works on: ids (a page's rows, a script's list) or everyone a search matches. */
export const bulkSelectionSchema = z.union(
  [
    z
      .object({
        ids: z
          .array(idSchema)
          .min(1, 'Select at least one user')
          .max(bulkMaxIds, `Select at most ${bulkMaxIds.toLocaleString('en')} users by id; select more by search`),
      })
      .strict(),
    z.object({ search: userSearchFilterSchema }).strict(),
  ],
  { error: 'Select users either by ids ({ ids }) or by search ({ search })' },
);
export type BulkSelection = z.infer<typeof bulkSelectionSchema>;

export const bulkInputSchema = z
  .object({
    selection: bulkSelectionSchema,
    action: bulkActionSchema,
    /** The account to move users to (move only). */
    toAccountId: idSchema.optional(),
    /** true: only preview (nothing changes); false: apply, with the preview's token. */
    dryRun: z.boolean({ error: 'dryRun is true (preview) or false (apply)' }),
    previewToken: z.string().min(1).max(200).optional(),
  })
  .superRefine((input, ctx) => {
    if (input.action === 'move' && !input.toAccountId) {
      ctx.addIssue({ code: 'custom', path: ['toAccountId'], message: 'Choose the account to move the users to' });
    }
    if (input.action !== 'move' && input.toAccountId) {
      ctx.addIssue({ code: 'custom', path: ['toAccountId'], message: 'Only a move takes an account' });
    }
    if (!input.dryRun && !input.previewToken) {
      ctx.addIssue({
        code: 'custom',
        path: ['previewToken'],
        message: 'Preview first (dryRun: true) and pass its previewToken to apply',
      });
    }
  });
export type BulkInput = z.infer<typeof bulkInputSchema>;

/** Why a bulk action left a user as they were. */
export const bulkSkipReasons = [
  'self',
  'last_admin',
  'admin_default_account',
  'outside_delegation',
  'already',
  'not_found',
] as const;
export type BulkSkipReason = (typeof bulkSkipReasons)[number];

/** Why a user was skipped, in words (the console and the CLI show it). */
export function bulkSkipMessage(reason: BulkSkipReason | string | null, action: BulkActionName): string {
  switch (reason) {
    case 'self':
      return 'You cannot do this to yourself';
    case 'last_admin':
      return 'The last active administrator';
    case 'admin_default_account':
      return 'Administrators cannot leave the default account';
    case 'outside_delegation':
      return 'Not a plain user of your account: ask an organization administrator';
    case 'not_found':
      return 'Not found';
    case 'already':
      return {
        deactivate: 'Already deactivated',
        reactivate: 'Already active',
        delete: 'Already deleted',
        move: 'Already in that account',
        end_sessions: 'Has no live sessions',
        unlock: 'Not locked',
      }[action];
    default:
      return reason ?? '';
  }
}

/** The action in words, for confirmations and lists ("Deactivate 1,234 users"). */
export const bulkActionLabels: Record<BulkActionName, string> = {
  deactivate: 'Deactivate',
  reactivate: 'Reactivate',
  delete: 'Delete',
  move: 'Move',
  end_sessions: 'End sessions of',
  unlock: 'Unlock',
};
