import type { ColumnType, Generated, Insertable, Kysely, Selectable, Updateable } from 'kysely';

/** A timestamp column: the database fills it on insert, we may set it on update. */
type Timestamp = ColumnType<Date, Date | string | undefined, Date | string>;

/**
 * admin: an organization administrator (default account only). account_admin: manages the plain
 * users of their own account. auditor: reads what an administrator reads, changes nothing.
 */
export type Role = 'admin' | 'account_admin' | 'auditor' | 'user';

export type OrganizationsTable = {
  id: Generated<string>;
  name: string;
  createdAt: Timestamp;
  updatedAt: Timestamp;
};

export type AccountsTable = {
  id: Generated<string>;
  organizationId: string;
  name: string;
  description: ColumnType<string, string | undefined, string>;
  isDefault: ColumnType<boolean, boolean | undefined, never>;
  /** Maintained by a trigger on users; never written by the application. */
  userCount: ColumnType<number, never, never>;
  createdAt: Timestamp;
  updatedAt: Timestamp;
};

export type UsersTable = {
  id: Generated<string>;
  organizationId: string;
  accountId: string;
  email: string;
  firstName: string;
  lastName: string;
  role: ColumnType<Role, Role | undefined, Role>;
  active: ColumnType<boolean, boolean | undefined, boolean>;
  passwordHash: string | null;
  version: ColumnType<number, number | undefined, number>;
  lastLoginAt: Date | null;
  createdAt: Timestamp;
  updatedAt: Timestamp;
  /** Consecutive failed sign-ins since the last success or lockout. */
  failedSignIns: ColumnType<number, number | undefined, number>;
  /** Sign-in is refused until then; null or past means not locked. */
  lockedUntil: ColumnType<Date | null, Date | null | undefined, Date | null>;
  /** lower(first_name || ' ' || last_name || ' ' || email), kept by Postgres for the trigram index. */
  searchText: ColumnType<string, never, never>;
  /** The identity provider's id for the user (SCIM `externalId`), unique within the account. */
  externalId: ColumnType<string | null, string | null | undefined, string | null>;
  /** The SCIM connection that last created or changed the user. */
  scimConnectionId: ColumnType<string | null, string | null | undefined, string | null>;
};

export type ScimConnectionsTable = {
  id: Generated<string>;
  organizationId: string;
  accountId: string;
  name: string;
  /** `rsc_` and 8 characters, shown to tell tokens apart; not part of the secret. */
  prefix: string;
  /** sha256 of the whole token (base64url); the token itself is never stored. */
  tokenHash: string;
  createdBy: string | null;
  createdAt: Timestamp;
  lastUsedAt: Date | null;
  revokedAt: Date | null;
};

export type SessionsTable = {
  id: Generated<string>;
  tokenHash: string;
  userId: string;
  createdAt: Timestamp;
  lastSeenAt: Timestamp;
  expiresAt: Date;
  clientAddress: string | null;
  userAgent: string | null;
  /** The primary's WAL position after this session's last change (0017; only with a read replica), as `X/Y`. */
  writeLsn: string | null;
};

export type ApiKeysTable = {
  id: Generated<string>;
  organizationId: string;
  /** Null once the user is deleted: the key stays, refused, so its use is still audited. */
  userId: string | null;
  name: string;
  /** `rk_` and 8 characters, shown to tell keys apart; not part of the secret. */
  prefix: string;
  /** sha256 of the whole key (base64url); the key itself is never stored. */
  secretHash: string;
  createdAt: Timestamp;
  lastUsedAt: Date | null;
  lastRefusedAt: Date | null;
  /** Every key expires (0007): at most API_KEY_MAX_DAYS after its creation. */
  expiresAt: Date;
  revokedAt: Date | null;
  /** The primary's WAL position after the last change made with this key (0017; only with a read replica). */
  writeLsn: string | null;
};

/** Failed (or in-flight) sign-ins per client address, for the per-address limit. */
export type SignInAttemptsTable = {
  id: Generated<string>;
  clientKey: string;
  attemptedAt: Timestamp;
  /**
   * Null: a settled failure. Otherwise a sign-in in flight, until then; once
   * past, a reservation its process abandoned, which counts as nothing.
   */
  pendingUntil: ColumnType<Date | null, Date | string | null | undefined, Date | null>;
};

/** Sign-ins per email address typed (known or not), in fixed windows, for the per-email limit. */
export type SignInEmailWindowsTable = {
  /** sha256 of the lower-case address (base64url): the address itself is not kept. */
  emailKey: string;
  windowStartedAt: Date;
  signIns: number;
};

export type AuditLogTable = {
  id: Generated<string>;
  organizationId: string;
  /** Kept when the actor is deleted (no reference), so their history can still be found. */
  actorId: string | null;
  /** The actor's email and name as they were when the row was written. */
  actorEmail: string | null;
  actorName: ColumnType<string | null, string | null | undefined, string | null>;
  action: string;
  targetType: string;
  targetId: string | null;
  targetLabel: string | null;
  /** A target user's email and name as they were when the row was written. */
  targetEmail: ColumnType<string | null, string | null | undefined, string | null>;
  targetName: ColumnType<string | null, string | null | undefined, string | null>;
  /** The account the row is about: the target account, or the target user's account then. */
  accountId: ColumnType<string | null, string | null | undefined, string | null>;
  changes: ColumnType<AuditChanges, string, string>;
  createdAt: Timestamp;
  /** lower(actor email, actor name, target email, target name, label), kept by Postgres for the trigram index. */
  searchText: ColumnType<string, never, never>;
};

export type ImportVerdict = 'create' | 'update' | 'unchanged' | 'error';

/** A previewed CSV import of users into one account (0011). */
export type UserImportsTable = {
  id: Generated<string>;
  organizationId: string;
  accountId: string;
  createdBy: string | null;
  fileName: string | null;
  status: ColumnType<'previewed' | 'applied', 'previewed' | 'applied' | undefined, 'previewed' | 'applied'>;
  summary: ColumnType<Record<string, unknown>, string, string>;
  createdAt: Timestamp;
  expiresAt: Date;
  appliedAt: Date | null;
  appliedBy: string | null;
  result: ColumnType<Record<string, unknown> | null, string | null | undefined, string | null>;
};

/** One row of a previewed import, with its verdict. */
export type UserImportRowsTable = {
  importId: string;
  line: number;
  verdict: ImportVerdict;
  email: string;
  userId: string | null;
  userVersion: number | null;
  firstName: string | null;
  lastName: string | null;
  role: Role | null;
  active: boolean | null;
  changes: ColumnType<AuditChanges | null, string | null, string | null>;
  error: string | null;
};

/** The before/after values of the fields a mutation changed. */
export type AuditChanges = {
  before?: Record<string, unknown> | null;
  after?: Record<string, unknown> | null;
};

export type BulkAction = 'deactivate' | 'reactivate' | 'delete' | 'move' | 'end_sessions' | 'unlock';
export type BulkStatus = 'queued' | 'running' | 'done' | 'failed';

/** A bulk action on users (0012): requested once, applied in batches in the background. */
export type BulkOperationsTable = {
  id: Generated<string>;
  organizationId: string;
  actorId: string | null;
  actorEmail: string | null;
  action: BulkAction;
  selection: ColumnType<unknown, string, string>;
  toAccountId: string | null;
  /** An account administrator's operation: the account it is limited to (null: the organization). */
  scopeAccountId: ColumnType<string | null, string | null | undefined, never>;
  status: ColumnType<BulkStatus, BulkStatus | undefined, BulkStatus>;
  total: number;
  done: ColumnType<number, number | undefined, number>;
  skipped: ColumnType<number, number | undefined, number>;
  previewToken: string;
  error: string | null;
  claimedUntil: Date | null;
  createdAt: Timestamp;
  startedAt: Date | null;
  finishedAt: Date | null;
};

/** What became of each user a bulk operation selected. */
export type BulkOperationResultsTable = {
  operationId: string;
  userId: string;
  version: number | null;
  outcome: ColumnType<'pending' | 'done' | 'skipped', 'pending' | 'done' | 'skipped' | undefined, 'done' | 'skipped'>;
  reason: string | null;
  label: string | null;
  processedAt: Date | null;
};

export type MailKind = 'invitation' | 'password_reset' | 'email_changed_old' | 'email_changed_new';
export type MailStatus = 'pending' | 'sent' | 'failed' | 'logged';

/** A mail queued in the transaction of what caused it (0014), sent in the background. */
export type MailOutboxTable = {
  id: Generated<string>;
  organizationId: string;
  kind: MailKind;
  userId: string | null;
  toAddress: string;
  subject: string;
  /** What the mail says (names, dates), rendered into its parts when it is sent. */
  params: ColumnType<Record<string, unknown>, string, string>;
  /** The link (with its token) while the mail is unsent; null once sent. */
  link: string | null;
  linkExpiresAt: Date | null;
  messageId: string;
  status: ColumnType<MailStatus, MailStatus | undefined, MailStatus>;
  attempts: ColumnType<number, number | undefined, number>;
  lastError: string | null;
  nextAttemptAt: Timestamp;
  claimedUntil: Date | null;
  claim: string | null;
  createdAt: Timestamp;
  sentAt: Date | null;
};

export type UserLinkPurpose = 'invitation' | 'password_reset';

/** An invitation or password reset link (0015): only its token's sha256 is stored. */
export type UserLinksTable = {
  id: Generated<string>;
  organizationId: string;
  userId: string;
  purpose: UserLinkPurpose;
  tokenHash: string;
  email: string;
  expiresAt: Date;
  usedAt: Date | null;
  revokedAt: Date | null;
  createdBy: string | null;
  createdAt: Timestamp;
};

/** One password reset request, counted per email and per client address (hashed keys). */
export type PasswordResetRequestsTable = {
  id: Generated<string>;
  emailKey: string;
  addressKey: string;
  createdAt: Timestamp;
};

export type Database = {
  organizations: OrganizationsTable;
  accounts: AccountsTable;
  users: UsersTable;
  sessions: SessionsTable;
  apiKeys: ApiKeysTable;
  auditLog: AuditLogTable;
  signInAttempts: SignInAttemptsTable;
  signInEmailWindows: SignInEmailWindowsTable;
  scimConnections: ScimConnectionsTable;
  userImports: UserImportsTable;
  userImportRows: UserImportRowsTable;
  bulkOperations: BulkOperationsTable;
  bulkOperationResults: BulkOperationResultsTable;
  mailOutbox: MailOutboxTable;
  userLinks: UserLinksTable;
  passwordResetRequests: PasswordResetRequestsTable;
};

/** The database, or a transaction of it (a Transaction is a Kysely): what queries run on. */
export type Db = Kysely<Database>;

export type Organization = Selectable<OrganizationsTable>;
export type Account = Selectable<AccountsTable>;
export type NewAccount = Insertable<AccountsTable>;
export type AccountUpdate = Updateable<AccountsTable>;
export type User = Selectable<UsersTable>;
export type NewUser = Insertable<UsersTable>;
export type UserUpdate = Updateable<UsersTable>;
export type Session = Selectable<SessionsTable>;
export type ApiKey = Selectable<ApiKeysTable>;
export type NewApiKey = Insertable<ApiKeysTable>;
export type AuditEntry = Selectable<AuditLogTable>;
export type NewAuditEntry = Insertable<AuditLogTable>;
export type ScimConnection = Selectable<ScimConnectionsTable>;
